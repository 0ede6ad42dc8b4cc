import { Subjects } from '../src/events/contracts';
import { OrderModel } from '../src/data-access/order-model';
import { eventually, sleep } from '../test/support/eventually';
import { NatsTarget } from '../test/support/harness';
import { ServiceProcess } from '../test/support/service-process';
import { malformedEvent, PublishedEvent, readChannels, validEvent } from './support/hostile/events';
import { Random, SEED } from './support/hostile/random';
import { HostileStage } from './support/hostile/stage';
import { countBy, metricValue, table } from './support/hostile/summary';

/**
 * Hostile order events against the compiled service running as its own process,
 * as in production: over 1,000 malformed order:created and order:cancelled
 * (support/hostile/events.ts) among valid ones, through the broker. Generated
 * from one seeded PRNG, so a failure reproduces with the seed printed in the
 * summary: HOSTILE_SEED=<seed>. The other hostile suites: hostile-http.test.ts,
 * hostile-card-retry.test.ts.
 *
 * `npm run build` first (the test:resilience script does).
 */

const MALFORMED_EVENTS = 1_050;
const VALID_EVENTS = 100;
const ACK_WAIT_MS = 2_000; // what ServiceProcess gives the service

describe('hostile input against the service process', () => {
  const stage = new HostileStage();
  let nats: NatsTarget;
  let proc: ServiceProcess;
  let orders: OrderModel;
  let pid: number;
  const rng = new Random(SEED);
  const { publish, published } = stage;

  beforeAll(async () => {
    ({ nats, proc, orders, pid } = await stage.start());
  }, 120_000);

  afterAll(() => stage.stop(), 60_000);

  describe(`b) ${MALFORMED_EVENTS} malformed events among ${VALID_EVENTS} valid ones`, () => {
    const events: PublishedEvent[] = [];
    const malformedLog = () => {
      const counts = new Map<string, Array<Record<string, unknown>>>();
      for (const entry of proc.entries()) {
        if (entry.msg !== 'malformed event acked and dropped') continue;
        const key = `${String(entry.subject)}#${String(entry.sequence)}`;
        counts.set(key, [...(counts.get(key) ?? []), entry]);
      }
      return counts;
    };
    const malformed = () => events.filter((e) => !e.valid);
    const valid = () => events.filter((e) => e.valid);
    let logged: Map<string, Array<Record<string, unknown>>>;
    let metricsBefore: string;

    beforeAll(async () => {
      // Generated before connecting: a client that is busy too long misses the server's heartbeats and is dropped.
      const plan: Array<Omit<PublishedEvent, 'sequence'>> = rng.shuffle([
        ...Array.from({ length: MALFORMED_EVENTS }, () => malformedEvent(rng)),
        ...Array.from({ length: VALID_EVENTS }, () => ({ subject: Subjects.OrderCreated, ...validEvent(rng) })),
      ]);
      await stage.openPublisher();
      metricsBefore = await (await fetch(`${proc.url}/metrics`)).text();
      const started = Date.now();
      for (const event of plan) {
        const sequence = await publish(event.subject, event.data);
        events.push({ ...event, sequence });
      }

      // Tie each publish to the server's sequence: the channel must hold exactly what we sent, in order.
      const channels = await readChannels(nats, [Subjects.OrderCreated, Subjects.OrderCancelled], published);
      for (const event of events) {
        if (channels[event.subject].get(event.sequence) !== event.data) {
          throw new Error(`${event.subject} #${event.sequence} on the server is not what this test published (a shared NATS_URL?)`);
        }
      }

      const malformedKeys = malformed().map((e) => `${e.subject}#${e.sequence}`);
      await eventually(async () => {
        const seen = malformedLog();
        expect(malformedKeys.filter((key) => !seen.has(key))).toEqual([]);
        expect(await orders.countDocuments({ _id: { $in: valid().map((e) => e.valid!.id) } })).toBe(VALID_EVENTS);
      }, 90_000, 250);
      const handledIn = (Date.now() - started) / 1000;
      // Past the ack wait, twice: anything left unacked would have come back by now.
      await sleep(ACK_WAIT_MS * 2 + 1500);
      logged = malformedLog();

      const rows: Array<[string, string | number]> = [
        ['published', events.length],
        ['  valid order:created', valid().length],
        ['  malformed order:created', malformed().filter((e) => e.subject === Subjects.OrderCreated).length],
        ['  malformed order:cancelled', malformed().filter((e) => e.subject === Subjects.OrderCancelled).length],
        ['  over 400 kB', events.filter((e) => e.data.length > 400_000).length],
        ['malformed logged exactly once', malformedKeys.filter((k) => logged.get(k)?.length === 1).length],
        ['malformed logged more than once', malformedKeys.filter((k) => (logged.get(k)?.length ?? 0) > 1).length],
        ['malformed never logged', malformedKeys.filter((k) => !logged.has(k)).length],
        ['valid logged as malformed', valid().filter((e) => logged.has(`${e.subject}#${e.sequence}`)).length],
        ['valid replicated', await orders.countDocuments({ _id: { $in: valid().map((e) => e.valid!.id) } })],
        ['crashes (process exited)', proc.exit ? 1 : 0],
        ['seconds to handle all', handledIn.toFixed(1)],
      ];
      console.log(table(`malformed-event campaign (seed ${SEED})`, rows));
      const byCategory = [...countBy(events, (e) => `${e.subject} ${e.category}`)].sort().map(([category, count]): [string, string] => {
        const once = events.filter((e) => `${e.subject} ${e.category}` === category && (e.valid ? !logged.has(`${e.subject}#${e.sequence}`) : logged.get(`${e.subject}#${e.sequence}`)?.length === 1)).length;
        return [category, `${once}/${count} ok`];
      });
      console.log(table('by category (ok = malformed logged once / valid not logged)', byCategory));
    }, 200_000);

    test('when they have been handled, then every valid order is replicated with its user, price, version and status', async () => {
      const stored = await orders.find({ _id: { $in: valid().map((e) => e.valid!.id) } }).lean();
      const byId = new Map(stored.map((o) => [o._id, o]));
      for (const event of valid()) {
        const order = byId.get(event.valid!.id);
        expect({ id: event.valid!.id, category: event.category, order: order && { userId: order.userId, price: order.price, version: order.version, status: order.status } }).toEqual({
          id: event.valid!.id,
          category: event.category,
          order: { userId: event.valid!.userId, price: event.valid!.price, version: event.valid!.version, status: event.valid!.status },
        });
      }
    });

    test('when they have been handled, then each malformed one was logged as dropped exactly once, first time, past the ack wait', () => {
      const wrong = malformed()
        .map((e) => ({ key: `${e.subject}#${e.sequence}`, category: e.category, entries: logged.get(`${e.subject}#${e.sequence}`) ?? [] }))
        .filter(({ entries }) => entries.length !== 1 || entries[0].redelivered !== false)
        .map(({ key, category, entries }) => `${key} (${category}): logged ${entries.length} times`);
      expect(wrong).toEqual([]);
      expect(malformed().length).toBeGreaterThanOrEqual(1_000);
      expect(valid().filter((e) => logged.has(`${e.subject}#${e.sequence}`)).map((e) => e.category)).toEqual([]);
    });

    test('when they have been handled, then none was left for redelivery or failed, and the event metrics count each exactly once', async () => {
      const sequences = new Set(events.map((e) => `${e.subject}#${e.sequence}`));
      const retried = proc.entries().filter(
        (entry) => (entry.msg === 'event left for redelivery' || entry.msg === 'event handler failed; left for redelivery') && sequences.has(`${String(entry.subject)}#${String(entry.sequence)}`),
      );
      expect(retried).toEqual([]);
      const after = await (await fetch(`${proc.url}/metrics`)).text();
      const delta = (subject: string, outcome: string) =>
        metricValue(after, 'payments_events_handled_total', `subject="${subject}",outcome="${outcome}"`) -
        metricValue(metricsBefore, 'payments_events_handled_total', `subject="${subject}",outcome="${outcome}"`);
      expect({
        createdMalformed: delta(Subjects.OrderCreated, 'malformed'),
        cancelledMalformed: delta(Subjects.OrderCancelled, 'malformed'),
        createdAcked: delta(Subjects.OrderCreated, 'acked'),
      }).toEqual({
        createdMalformed: malformed().filter((e) => e.subject === Subjects.OrderCreated).length,
        cancelledMalformed: malformed().filter((e) => e.subject === Subjects.OrderCancelled).length,
        createdAcked: VALID_EVENTS,
      });
    });
  });

  describe('c) afterwards', () => {
  test('when the campaign is over, then it is still the process that was started, and it answers /healthz and /readyz', async () => {
    expect(proc.exit).toBeUndefined();
    expect(proc.pid).toBe(pid);
    expect((await fetch(`${proc.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${proc.url}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { status: 'ready', checks: { mongo: true, nats: true }, down: [] } });
    const crashes = proc.entries().filter((entry) => /uncaught|unhandled rejection|fatal/i.test(String(entry.msg)));
    expect(crashes).toEqual([]);
  });
  });
});
