import { Subjects } from '../../../src/events/contracts';
import { connectBroker } from '../../../test/support/broker-client';
import { eventually } from '../../../test/support/eventually';
import { unique } from '../../../test/support/harness';
import { FULLWIDTH } from './cases';
import { Random } from './random';

/** Order events, malformed in every way and valid ones among them, and what the broker holds. */

export interface PublishedEvent {
  subject: string;
  sequence: number;
  data: string;
  category: string;
  valid?: { id: string; userId: string; price: number; version: number; status: string };
}

export function malformedEvent(rng: Random): { subject: string; category: string; data: string } {
  const base = () => ({
    id: rng.id(),
    version: rng.int(0, 5),
    status: 'created',
    userId: `user-${rng.string(8)}`,
    expiresAt: new Date().toISOString(),
    ticket: { id: rng.id(), price: rng.int(1, 500) },
  });
  const without = (key: string) => {
    const event: Record<string, unknown> = base();
    delete event[key];
    return JSON.stringify(event);
  };
  const withField = (key: string, value: unknown) => JSON.stringify({ ...base(), [key]: value });
  const withRaw = (key: string, rawValue: string) => {
    const event = base();
    return JSON.stringify({ ...event, [key]: '__RAW__' }).replace('"__RAW__"', rawValue);
  };
  const withPrice = (rawValue: string) => {
    const event = base();
    return JSON.stringify({ ...event, ticket: { id: event.ticket.id, price: '__RAW__' } }).replace('"__RAW__"', rawValue);
  };
  const inner = (event: object) => JSON.stringify(event).slice(1, -1);
  const big = 500_000;
  const created: ReadonlyArray<readonly [number, () => [string, string]]> = [
    [8, () => ['not JSON', rng.pick(['{', '{"id":', 'undefined', 'NaN', '', ' ', "{'id':1}", '{"id":1,}', '<order/>', '\u0000', rng.bytes(40).toString('latin1')])]],
    [6, () => ['JSON but not an object', rng.pick(['null', '42', '"order"', '[]', 'true', JSON.stringify([base()])])]],
    [10, () => ['a field missing', rng.pick([without('id'), without('version'), without('status'), without('userId'), without('ticket'), JSON.stringify({ ...base(), ticket: { id: rng.id() } })])]],
    [12, () => ['a field of the wrong type', rng.pick([
      withField('id', rng.int(0, 1e9)), withField('id', null), withField('id', { $oid: rng.id() }),
      withField('version', String(rng.int(0, 9))), withField('version', null), withField('version', true), withField('version', []),
      withField('status', 42), withField('status', null), withField('status', ''), withField('userId', { id: 'x' }), withField('userId', ''),
      withField('ticket', 'ticket'), withField('ticket', []), withField('ticket', null),
      withPrice('"19.99"'), withPrice('null'), withPrice('true'), withPrice('[]'), withPrice('-1'), withPrice('1e309'), withPrice('-1e309'),
    ])]],
    [10, () => ['an id of the wrong length or alphabet', withField('id', rng.pick([
      rng.hex(23), rng.hex(25), rng.hex(12), '', rng.hex(48), rng.string(24, 'ghijkxyz'), `0x${rng.hex(22)}`, `${rng.hex(23)} `, `${rng.hex(23)}\u0000`,
      [...rng.hex(24)].map((c) => FULLWIDTH['0123456789abcdef'.indexOf(c)]).join(''),
    ]))]],
    [12, () => ['a bad version', rng.pick([
      withField('version', -1), withField('version', -rng.int(2, 1e9)), withField('version', 1.5), withField('version', Number.MAX_SAFE_INTEGER + 1),
      withField('version', 1e20), withField('version', 'NaN'), withField('version', 'Infinity'), withRaw('version', '1e309'), withRaw('version', '-1e309'),
      withRaw('version', '-0.5'), withRaw('version', '18446744073709551616'),
    ])]],
    [6, () => ['prototype keys', rng.pick([
      `{"__proto__":${JSON.stringify(base())}}`,
      `{"constructor":{"prototype":${JSON.stringify(base())}}}`,
      `{"prototype":${JSON.stringify(base())}}`,
      (() => { const e = base(); return `{${inner({ ...e, ticket: undefined })},"ticket":{"__proto__":{"price":${e.ticket.price}},"id":"${e.ticket.id}"}}`; })(),
      (() => { const e = base(); const { id, ...rest } = e; return `{${inner(rest)},"__proto__":{"id":"${id}"}}`; })(),
      (() => { const e = base(); const { version, ...rest } = e; return `{${inner(rest)},"constructor":{"prototype":{"version":${version}}}}`; })(),
    ])]],
    [3, () => ['huge payload (~500 kB)', rng.pick([
      withField('status', 's'.repeat(big)),
      withField('userId', 'u'.repeat(big)),
      rng.string(1000).repeat(big / 1000),
      JSON.stringify(Array.from({ length: big / 10 }, () => 12345678)),
      withField('id', 'f'.repeat(big)),
    ])]],
    [3, () => ['strings too long', rng.pick([withField('status', 's'.repeat(201)), withField('userId', 'u'.repeat(201))])]],
  ];
  const cancelled: ReadonlyArray<readonly [number, () => [string, string]]> = [
    [5, () => ['not JSON', rng.pick(['{', '', 'undefined', '{"id":"x",', rng.bytes(30).toString('latin1')])]],
    [4, () => ['JSON but not an object', rng.pick(['null', '0', '"cancel"', '[]', 'false'])]],
    [6, () => ['a field missing', rng.pick([JSON.stringify({ version: 1 }), JSON.stringify({ id: rng.id() }), '{}'])]],
    [6, () => ['a field of the wrong type', rng.pick([
      JSON.stringify({ id: 123, version: 1 }), JSON.stringify({ id: rng.id(), version: '1' }), JSON.stringify({ id: [rng.id()], version: 1 }),
      JSON.stringify({ id: rng.id(), version: null }), JSON.stringify({ id: { $ne: null }, version: 1 }),
    ])]],
    [6, () => ['an id of the wrong length or alphabet', JSON.stringify({ id: rng.pick([rng.hex(23), rng.hex(25), '', rng.string(24, 'xyz')]), version: 1 })]],
    [8, () => ['a bad version', rng.pick([
      JSON.stringify({ id: rng.id(), version: -1 }), JSON.stringify({ id: rng.id(), version: 2.5 }),
      JSON.stringify({ id: rng.id(), version: 2 ** 60 }), `{"id":"${rng.id()}","version":1e309}`, JSON.stringify({ id: rng.id(), version: 'NaN' }),
    ])]],
    [3, () => ['prototype keys', rng.pick([
      `{"__proto__":{"id":"${rng.id()}","version":1}}`,
      `{"constructor":{"prototype":{"id":"${rng.id()}","version":1}}}`,
      `{"id":"${rng.id()}","__proto__":{"version":1}}`,
    ])]],
    [1, () => ['huge payload (~500 kB)', rng.pick([JSON.stringify({ id: 'a'.repeat(big), version: 1 }), JSON.stringify({ id: rng.id(), version: -1, pad: 'p'.repeat(big) })])]],
  ];
  const subject = rng.bool(0.7) ? Subjects.OrderCreated : Subjects.OrderCancelled;
  const [category, data] = rng.weighted(subject === Subjects.OrderCreated ? created : cancelled)();
  return { subject, category, data };
}

export function validEvent(rng: Random): { data: string; category: string; valid: NonNullable<PublishedEvent['valid']> } {
  const valid = {
    id: rng.bool(0.2) ? rng.id().toUpperCase() : rng.id(),
    userId: `user-${rng.string(10)}`,
    price: rng.pick([19.99, 0.5, 100, 1234.56, rng.int(1, 900)]),
    version: rng.int(0, 3),
    status: rng.pick(['created', 'awaiting:payment']),
  };
  const event = { id: valid.id, version: valid.version, status: valid.status, userId: valid.userId, expiresAt: new Date().toISOString(), ticket: { id: rng.id(), price: valid.price } };
  const [category, data] = rng.weighted<[string, string]>([
    [85, ['valid', JSON.stringify(event)]],
    [5, ['valid, with ~500 kB of extra fields', JSON.stringify({ ...event, notes: 'n'.repeat(500_000) })]],
    [5, ['valid, with an extra __proto__ key', `{${JSON.stringify(event).slice(1, -1)},"__proto__":{"status":"complete","userId":"attacker","price":0}}`]],
    [5, ['valid, with an extra constructor key', `{${JSON.stringify(event).slice(1, -1)},"constructor":{"prototype":{"status":"complete"}}}`]],
  ]);
  return { data, category, valid: { ...valid, id: valid.id.toLowerCase() } };
}

/** Every message the server holds on the subjects, by sequence: to tie our publishes to sequences. */
export async function readChannels(nats: { url: string; clusterId: string }, subjects: string[], counts: Record<string, number>) {
  const broker = await connectBroker(nats, unique('hostile-spy'));
  const seen: Record<string, Map<number, string>> = Object.fromEntries(subjects.map((s) => [s, new Map()]));
  for (const subject of subjects) await broker.listen(subject, (data, sequence) => seen[subject].set(sequence, data));
  await eventually(() => {
    for (const subject of subjects) expect(seen[subject].size).toBeGreaterThanOrEqual(counts[subject]);
  }, 60_000, 200);
  await broker.close();
  return seen;
}
