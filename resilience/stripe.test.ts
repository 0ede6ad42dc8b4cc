import { DECLINED_PM, FakeEvent, THREE_D_SECURE_PM, VISA_PM } from '../test/support/fake-stripe';
import { eventually, sleep } from '../test/support/eventually';
import { ServiceProcess } from '../test/support/service-process';
import { Cluster, ClusterOrder, printTable } from './support/cluster';

/**
 * Stripe failing the way it does, with the service as a separate process on the
 * real servers and the fake Stripe sending its events as signed webhooks (as
 * Stripe does to an endpoint): a 500 Stripe keeps under the key, an answer lost
 * after the charge, Stripe down while a customer completes 3-D Secure, and
 * webhooks delivered twice and out of order. Every row: no order charged twice,
 * and every PaymentIntent that succeeded at Stripe has exactly one payment
 * recorded and one payment:created published.
 */
const SECRET = 'whsec_resilience_stripe_rows';
const cluster = new Cluster();
let proc: ServiceProcess;
const rows: Array<Record<string, string | number>> = [];

beforeAll(async () => {
  await cluster.start();
  proc = await cluster.instance({ STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_TIMEOUT_MS: '1000' });
  cluster.stripe.webhooks = { url: webhookUrl(), secret: SECRET };
  cluster.stripe.webhookRetryMs = 1000;
});
afterAll(async () => {
  printTable('Stripe failing, and its webhooks (one process, fake Stripe sending signed webhooks)', rows);
  await cluster.stop();
});
afterEach(() => {
  cluster.stripe.mode = 'normal';
  cluster.stripe.webhookMode = 'normal';
  cluster.stripe.searchLagMs = 0;
});

function webhookUrl() {
  return `${proc.url}/api/payments/webhooks/stripe`;
}

type Card = { token: string } | { paymentMethodId: string };

async function pay(order: ClusterOrder, card: Card): Promise<{ status: number; body: Record<string, unknown> | null }> {
  try {
    const res = await fetch(`${proc.url}/api/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: order.cookie },
      body: JSON.stringify({ ...card, orderId: order.id }),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
  } catch {
    return { status: 0, body: null };
  }
}

/** Each customer sends their card every 500 ms until paid (at most 60 s from `since`): when each was paid (s), and every answer seen. */
async function keepPaying(orders: ClusterOrder[], cardOf: (i: number) => Card, since: number) {
  const seen = new Set<number>();
  const paidAfter = await Promise.all(
    orders.map(async (order, i) => {
      for (;;) {
        const res = await pay(order, cardOf(i));
        seen.add(res.status);
        if (res.status === 201) return (Date.now() - since) / 1000;
        if (Date.now() - since > 60_000) return Infinity;
        await sleep(500);
      }
    }),
  );
  return { seen, paidAfter };
}

async function read(order: ClusterOrder, paymentId: string): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const res = await fetch(`${proc.url}/api/payments/${paymentId}`, { headers: { Cookie: order.cookie } });
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
}

/** The customer's answer on Stripe's 3-D Secure page, sent to the fake as the local stack's developer does. */
async function authenticate(intentId: string, outcome: 'succeeded' | 'fail') {
  const res = await fetch(`${cluster.stripe.url}/_test/payment_intents/${intentId}/authenticate${outcome === 'fail' ? '?outcome=fail' : ''}`, { method: 'POST' });
  expect(res.status).toBe(200);
}

/**
 * What Stripe did and what the orders service heard, per order and per
 * PaymentIntent: every succeeded PaymentIntent must have exactly one payment
 * recorded (its id as `paymentIntentId`) and one payment:created.
 */
async function intentTally(orders: ClusterOrder[]) {
  const ids = new Set(orders.map((order) => order.id));
  const intents = cluster.stripe.intents.filter((intent) => ids.has(intent.metadata.orderId));
  const succeeded = intents.filter((intent) => intent.status === 'succeeded');
  const charges = cluster.stripe.charges.filter((charge) => ids.has(charge.metadata.orderId));
  const payments = (await cluster.payments()).filter((payment) => ids.has(payment.orderId));
  const events = cluster.spy.events.filter((event) => ids.has(event.orderId));
  const recordedPer = (intentId: string) => payments.filter((payment) => payment.state === 'succeeded' && payment.paymentIntentId === intentId).length;
  const eventsPer = (intentId: string) => events.filter((event) => event.paymentIntentId === intentId).length;
  const chargesPerOrder = orders.map((order) => charges.filter((charge) => charge.metadata.orderId === order.id).length);
  return {
    orders: orders.length,
    'PaymentIntents succeeded': succeeded.length,
    charges: charges.length,
    'charged twice': chargesPerOrder.filter((n) => n > 1).length,
    'payments recorded': payments.filter((payment) => payment.state === 'succeeded').length,
    'payment:created': events.length,
    'recorded twice': succeeded.filter((intent) => recordedPer(intent.id) > 1).length,
    'events duplicated': succeeded.filter((intent) => eventsPer(intent.id) > 1).length,
    lost: succeeded.filter((intent) => recordedPer(intent.id) === 0 || eventsPer(intent.id) === 0).length,
    'recorded without a succeeded PaymentIntent': payments.filter((payment) => payment.state === 'succeeded' && !succeeded.some((intent) => intent.id === payment.paymentIntentId)).length,
    'still charging': payments.filter((payment) => payment.state === 'charging').length,
  };
}

/** Attempts to deliver the webhooks about the orders' PaymentIntents that the fake sent by itself. */
function webhookAttempts(orders: ClusterOrder[]): number {
  const intents = new Set(cluster.stripe.intents.filter((intent) => orders.some((order) => order.id === intent.metadata.orderId)).map((intent) => intent.id));
  return cluster.stripe.deliveries.filter((d) => intents.has(d.event.data.object.id)).reduce((n, d) => n + d.attempts, 0);
}

/** Waits until every succeeded PaymentIntent of the orders is recorded and announced once, and nothing is left charging. */
async function settled(orders: ClusterOrder[], timeoutMs: number) {
  await eventually(async () => {
    const tally = await intentTally(orders);
    expect(tally.lost).toBe(0);
    expect(tally['still charging']).toBe(0);
    expect(tally['payment:created']).toBe(tally['PaymentIntents succeeded']);
  }, timeoutMs, 250);
  await sleep(1000); // a late duplicate would show now
  return intentTally(orders);
}

function expectClean(tally: Awaited<ReturnType<typeof intentTally>>, succeeded: number) {
  expect(tally['PaymentIntents succeeded']).toBe(succeeded);
  expect(tally.charges).toBe(succeeded);
  expect(tally['charged twice']).toBe(0);
  expect(tally['payments recorded']).toBe(succeeded);
  expect(tally['payment:created']).toBe(succeeded);
  expect(tally['recorded twice']).toBe(0);
  expect(tally['events duplicated']).toBe(0);
  expect(tally.lost).toBe(0);
  expect(tally['recorded without a succeeded PaymentIntent']).toBe(0);
  expect(tally['still charging']).toBe(0);
  expect(proc.exit).toBeUndefined();
}

test('when Stripe keeps a 500 under the key of each first try, then once it is healthy every order is paid within a minute (by another card or the same one resent), never twice', async () => {
  const orders = await cluster.replicatedOrders(3);
  cluster.stripe.mode = 'storedError500';
  const first = await Promise.all(orders.map((order) => pay(order, { token: 'tok_visa' })));
  cluster.stripe.mode = 'normal';
  const healthy = Date.now();
  // The customer keeps trying: two with another card, one resending the same card; answers meanwhile are 409 or 502.
  const cards: Card[] = [{ token: 'tok_mastercard' }, { paymentMethodId: VISA_PM }, { token: 'tok_visa' }];
  const { seen, paidAfter } = await keepPaying(orders, (i) => cards[i], healthy);
  const tally = await settled(orders, 30_000);
  rows.push({ failure: 'Stripe keeping a 500 under the key (storedError500), then healthy', 'first answers': first.map((r) => r.status).join(','), 'answers while retrying': [...seen].sort().join(','), 'paid after (s, slowest)': Math.max(...paidAfter).toFixed(1), 'webhook attempts': webhookAttempts(orders), ...tally, 'process exited': proc.exit ? 'yes' : 'no' });
  expect(first.map((r) => r.status)).toEqual([502, 502, 502]);
  expect(Math.max(...paidAfter)).toBeLessThan(60);
  // Each order charged by the card that paid it, under a key other than the one holding the 500.
  for (const [i, order] of orders.entries()) {
    const [charge] = cluster.stripe.chargesFor(order.id);
    expect(charge.source).toBe('token' in cards[i] ? (cards[i] as { token: string }).token : VISA_PM);
  }
  expectClean(tally, orders.length);
});

test('when the first tries get a 500 and 3,000 other PaymentIntents follow on the account, then the same card resent pays each order once within a minute', async () => {
  const orders = await cluster.replicatedOrders(3);
  cluster.stripe.mode = 'error500';
  cluster.stripe.searchLagMs = 60_000; // Stripe's Search guide: searchable within about a minute
  const first = await Promise.all(orders.map((order) => pay(order, { paymentMethodId: VISA_PM })));
  cluster.stripe.mode = 'normal';
  cluster.stripe.createOtherIntents(3000); // an on-sale elsewhere on the platform's one Stripe account
  const healthy = Date.now();
  const { seen, paidAfter } = await keepPaying(orders, () => ({ paymentMethodId: VISA_PM }), healthy);
  const tally = await settled(orders, 30_000);
  rows.push({ failure: 'Stripe answering 500 (nothing kept), then 3,000 other PaymentIntents on the account', 'first answers': first.map((r) => r.status).join(','), 'answers while retrying': [...seen].sort().join(','), 'paid after (s, slowest)': Math.max(...paidAfter).toFixed(1), 'webhook attempts': webhookAttempts(orders), ...tally, 'process exited': proc.exit ? 'yes' : 'no' });
  expect(first.map((r) => r.status)).toEqual([502, 502, 502]);
  expect(Math.max(...paidAfter)).toBeLessThan(60);
  for (const order of orders) expect(cluster.stripe.intentsFor(order.id)).toHaveLength(1);
  expectClean(tally, orders.length);
});

test('when Stripe charges but every answer is lost for 10 s, then each charge is found by asking Stripe and recorded once; other cards get 409, then 400', async () => {
  const orders = await cluster.replicatedOrders(3);
  cluster.stripe.mode = 'chargeThenDrop';
  const first = await Promise.all(orders.map((order) => pay(order, { token: 'tok_visa' })));
  const during = await Promise.all(orders.map((order) => pay(order, { token: 'tok_mastercard' })));
  await sleep(10_000);
  cluster.stripe.mode = 'normal';
  const healthy = Date.now();
  const tally = await settled(orders, 90_000);
  const recordedAfter = (Date.now() - healthy) / 1000;
  const after = await Promise.all(orders.map((order) => pay(order, { token: 'tok_mastercard' })));
  const resent = await Promise.all(orders.map((order) => pay(order, { token: 'tok_visa' })));
  rows.push({ failure: 'Stripe charging, every answer lost for 10 s (chargeThenDrop)', 'first answers': first.map((r) => r.status).join(','), 'answers while retrying': `${during.map((r) => r.status).join(',')}; after: ${after.map((r) => r.status).join(',')}`, 'paid after (s, slowest)': recordedAfter.toFixed(1), 'webhook attempts': webhookAttempts(orders), ...tally, 'process exited': proc.exit ? 'yes' : 'no' });
  expect(first.map((r) => r.status)).toEqual([502, 502, 502]);
  expect(during.map((r) => r.status)).toEqual([409, 409, 409]);
  expect(after.map((r) => r.status)).toEqual([400, 400, 400]);
  expect(resent.map((r) => r.status)).toEqual([201, 201, 201]); // the same card resent gets the original payment
  for (const order of orders) expect(cluster.stripe.intentsFor(order.id)).toHaveLength(1);
  expectClean(tally, orders.length);
});

test.each([
  ['failing', 'Stripe answering 500 and its webhooks not reaching us for 10 s while customers authenticate'],
  ['normal', 'Stripe answering 500 for 10 s while customers authenticate, its webhooks arriving meanwhile'],
] as const)('when the customer completes 3-D Secure while Stripe answers 500 and webhooks are %s, then each payment ends recorded once', async (webhooks, failure) => {
  const orders = await cluster.replicatedOrders(3);
  const started = await Promise.all(orders.map((order) => pay(order, { paymentMethodId: THREE_D_SECURE_PM })));
  expect(started.map((r) => r.status)).toEqual([202, 202, 202]);
  cluster.stripe.mode = 'error500';
  cluster.stripe.webhookMode = webhooks;
  const down = Date.now();
  for (const order of orders) await authenticate(cluster.stripe.intentsFor(order.id)[0].id, 'succeeded');
  await sleep(2000);
  const reads = await Promise.all(orders.map((order, i) => read(order, started[i].body!.id as string)));
  const another = await Promise.all(orders.map((order) => pay(order, { paymentMethodId: VISA_PM })));
  await sleep(Math.max(0, 10_000 - (Date.now() - down)));
  const chargingWhileDown = (await intentTally(orders))['still charging'];
  cluster.stripe.mode = 'normal';
  cluster.stripe.webhookMode = 'normal';
  const healthy = Date.now();
  const tally = await settled(orders, 120_000);
  const recordedAfter = (Date.now() - healthy) / 1000;
  rows.push({ failure, 'first answers': started.map((r) => r.status).join(','), 'answers while retrying': `reads ${reads.map((r) => r.body?.status ?? r.status).join(',')}; another card ${another.map((r) => r.status).join(',')}`, 'paid after (s, slowest)': recordedAfter.toFixed(1), 'webhook attempts': webhookAttempts(orders), ...tally, 'process exited': proc.exit ? 'yes' : 'no' });
  expect(chargingWhileDown).toBe(3);
  expect(reads.map((r) => r.status)).toEqual([200, 200, 200]);
  expect(another.map((r) => r.status)).toEqual([409, 409, 409]);
  for (const [i, order] of orders.entries()) {
    expect(cluster.stripe.intentsFor(order.id)).toHaveLength(1);
    expect(cluster.spy.forOrder(order.id)).toMatchObject([{ id: started[i].body!.id, paymentIntentId: cluster.stripe.intentsFor(order.id)[0].id }]);
  }
  expectClean(tally, orders.length);
});

test('when webhooks arrive twice each and in reverse and shuffled order, then authenticated payments are recorded once, failed ones freed and paid by another card once', async () => {
  const orders = await cluster.replicatedOrders(4);
  cluster.stripe.webhookMode = 'held';
  const started = await Promise.all(orders.map((order) => pay(order, { paymentMethodId: THREE_D_SECURE_PM })));
  expect(started.map((r) => r.status)).toEqual([202, 202, 202, 202]);
  // A payment_failed from an earlier attempt of the first two, delivered late: it must not undo what Stripe now says.
  const stale = [0, 1].map((i) => cluster.stripe.event('payment_intent.payment_failed', cluster.stripe.intentsFor(orders[i].id)[0].id));
  // Two customers authenticate, two fail.
  await authenticate(cluster.stripe.intentsFor(orders[0].id)[0].id, 'succeeded');
  await authenticate(cluster.stripe.intentsFor(orders[1].id)[0].id, 'succeeded');
  await authenticate(cluster.stripe.intentsFor(orders[2].id)[0].id, 'fail');
  await authenticate(cluster.stripe.intentsFor(orders[3].id)[0].id, 'fail');

  const answers: Array<{ eventId: string; status: number; duplicate: boolean }> = [];
  const deliverAll = async (events: FakeEvent[]) => {
    for (const event of events) {
      const res = await cluster.stripe.deliver(webhookUrl(), event, SECRET);
      answers.push({ eventId: event.id, status: res.status, duplicate: (res.body as { duplicate?: boolean }).duplicate === true });
    }
  };
  const held = cluster.stripe.held.splice(0);
  expect(held.map((event) => event.type).sort()).toEqual([
    'payment_intent.payment_failed', 'payment_intent.payment_failed',
    'payment_intent.requires_action', 'payment_intent.requires_action', 'payment_intent.requires_action', 'payment_intent.requires_action',
    'payment_intent.succeeded', 'payment_intent.succeeded',
  ]);
  await deliverAll([...stale, ...[...held].reverse()]); // stale failures first, each outcome before its requires_action
  await deliverAll(shuffled([...stale, ...held], 7));

  // The two freed orders: a declined card first, then one that pays.
  // Freed: no attempt holds them any more (the failed ones stay on record, failed, with why).
  await eventually(async () => expect((await cluster.payments({ orderLock: { $in: [orders[2].id, orders[3].id] } })).length).toBe(0), 30_000, 250);
  expect((await cluster.payments({ orderId: { $in: [orders[2].id, orders[3].id] } })).map((payment) => payment.state)).toEqual(['failed', 'failed']);
  const declined = await pay(orders[2], { paymentMethodId: DECLINED_PM });
  const repaid = await Promise.all([orders[2], orders[3]].map((order) => pay(order, { paymentMethodId: VISA_PM })));
  const later = cluster.stripe.held.splice(0);
  await deliverAll([...later].reverse());
  await deliverAll(shuffled(later, 3));

  const tally = await settled(orders, 60_000);
  const duplicates = answers.filter((a) => a.duplicate).length;
  rows.push({ failure: `webhooks delivered twice each, reversed then shuffled (${answers.length} deliveries, ${duplicates} answered duplicate)`, 'first answers': started.map((r) => r.status).join(','), 'answers while retrying': `declined ${declined.status}; another card ${repaid.map((r) => r.status).join(',')}`, 'paid after (s, slowest)': '-', 'webhook attempts': answers.length, ...tally, 'process exited': proc.exit ? 'yes' : 'no' });
  expect(answers.every((a) => a.status === 200)).toBe(true);
  // Each event is handled once: every delivery after its first answers duplicate. The first may too, when the
  // events-list sweep (STRIPE_EVENTS_POLL_MS, every 60 s here) read the held event from Stripe before it was delivered.
  const deliveries = new Map<string, typeof answers>();
  for (const a of answers) deliveries.set(a.eventId, [...(deliveries.get(a.eventId) ?? []), a]);
  expect([...deliveries.values()].map((d) => d.length)).toEqual(Array(answers.length / 2).fill(2));
  expect([...deliveries.values()].every(([, second]) => second.duplicate)).toBe(true);
  expect(duplicates).toBeGreaterThanOrEqual(answers.length / 2);
  expect(declined.status).toBe(402);
  expect(repaid.map((r) => r.status)).toEqual([201, 201]);
  // The authenticated ones are the payments the 202 answered; the failed ones were paid by the other card.
  for (const i of [0, 1]) expect(cluster.spy.forOrder(orders[i].id)).toMatchObject([{ id: started[i].body!.id, paymentIntentId: cluster.stripe.intentsFor(orders[i].id)[0].id }]);
  for (const i of [2, 3]) expect(cluster.stripe.chargesFor(orders[i].id)).toMatchObject([{ source: VISA_PM }]);
  expectClean(tally, orders.length);
});

/** A fixed permutation (seeded), so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
