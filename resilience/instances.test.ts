import { Cluster, printTable } from './support/cluster';

const ORDERS = 200;
const REQUESTS_PER_ORDER = 10;
const ORDERS_AT_ONCE = 10;

const cluster = new Cluster();
beforeAll(async () => {
  await cluster.start();
  // The test stack's FerretDB on 2 cores takes longer than the 5 s request deadline under this load;
  // with the default, most requests answer 503 (load shed: still 0 charged twice, 0 lost). This test
  // is about exactly-once under concurrency, so it gives each request the time it needs.
  const env = { REQUEST_TIMEOUT_MS: '60000' };
  await Promise.all([cluster.instance(env), cluster.instance(env), cluster.instance(env)]);
});
afterAll(() => cluster.stop());

test('when 3 instances get 10 concurrent payments for each of 200 orders, then each order is charged, stored and announced exactly once', async () => {
  const [a, b, c] = cluster.processes;
  const orders = await cluster.replicatedOrders(ORDERS);
  const statuses = new Map<number, number>();
  const unexpected: Array<{ status: number; body: unknown; sameToken: boolean }> = [];

  for (let i = 0; i < orders.length; i += ORDERS_AT_ONCE) {
    await Promise.all(
      orders.slice(i, i + ORDERS_AT_ONCE).flatMap((order) =>
        Array.from({ length: REQUESTS_PER_ORDER }, async (_, n) => {
          // Half resend one token (a double click), half bring other cards.
          const token = n % 2 === 0 ? `tok_same_${order.id}` : `tok_other_${order.id}_${n}`;
          const { status, body } = await cluster.pay([a, b, c][n % 3], order, token);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (![201, 400, 409].includes(status)) unexpected.push({ status, body, sameToken: n % 2 === 0 });
        }),
      ),
    );
  }

  const { eventually } = await import('../test/support/eventually');
  // An event is marked published just after NATS takes it: wait for both.
  await eventually(async () => {
    const tally = await cluster.tally(orders);
    expect(tally['distinct events']).toBe(ORDERS);
    expect(tally['events still owed']).toBe(0);
  }, 60_000, 250);
  const tally = await cluster.tally(orders);
  printTable('Several instances: 3 processes, 200 orders, 10 concurrent requests each', [
    { instances: 3, requests: ORDERS * REQUESTS_PER_ORDER, ...Object.fromEntries([...statuses].sort().map(([s, n]) => [`HTTP ${s}`, n])), ...tally },
  ]);

  expect(tally.charges).toBe(ORDERS);
  expect(tally['orders charged twice']).toBe(0);
  expect(tally['payments stored']).toBe(ORDERS);
  expect(tally['payments still charging']).toBe(0);
  expect(tally['distinct events']).toBe(ORDERS);
  expect(tally['payments without event (lost)']).toBe(0);
  expect(tally['events still owed']).toBe(0);
  // Under this load on 2 cores a Stripe call may go unanswered (seen once in a JetStream run: one 502); the
  // client is then told the payment is not complete yet, and recovery finishes it: the tally above is what
  // must hold. Anything else (a 5xx of another kind, a 4xx that is not 400 or 409) fails the test.
  if (unexpected.length > 0) console.log('answers other than 201, 400 or 409:', JSON.stringify(unexpected));
  const notCompleteYet = (u: (typeof unexpected)[number]) =>
    [502, 503].includes(u.status) && /not complete yet/.test(JSON.stringify(u.body));
  expect(unexpected.filter((u) => !notCompleteYet(u))).toEqual([]);
  expect(unexpected.length).toBeLessThanOrEqual(ORDERS * REQUESTS_PER_ORDER * 0.01);
  expect(cluster.processes.every((proc) => proc.exit === undefined)).toBe(true);
});
