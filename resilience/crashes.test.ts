import { CRASH_POINTS, CrashPoint } from '../src/payments/crash-points';
import { testBus } from '../test/support/broker-client';
import { eventually } from '../test/support/eventually';
import { newId } from '../test/support/harness';
import { Cluster, ClusterOrder, printTable } from './support/cluster';

const RUNS_PER_POINT = 3;
const REFUND_POINTS: CrashPoint[] = ['after-refund-owed', 'after-refund'];
const PAYMENT_POINTS = CRASH_POINTS.filter((point) => !REFUND_POINTS.includes(point));

const cluster = new Cluster();
beforeAll(() => cluster.start());
afterAll(() => cluster.stop());

test('when a service process is killed at each step of a payment and restarted, then every order is charged once, stored once and announced', async () => {
  const rows = [];
  for (const point of PAYMENT_POINTS) {
    const orders: ClusterOrder[] = [];
    for (let run = 0; run < RUNS_PER_POINT; run += 1) {
      // One doomed process at a time: its own recovery sweep would otherwise die on an earlier run's work.
      const doomed = await cluster.instance({ PAYMENTS_TEST_CRASH_AT: point, STRIPE_TIMEOUT_MS: '1000' });
      const [order] = await cluster.replicatedOrders(1);
      orders.push(order);
      const { status } = await cluster.pay(doomed, order, 'tok_visa');
      expect(await doomed.stopped()).toMatchObject({ signal: 'SIGKILL' });
      // Before the charge is recorded the answer cannot have been sent; after it, it may have been.
      if (point === 'after-claim' || point === 'after-charge') expect(status).toBe(0);

      const restarted = await cluster.instance({ STRIPE_TIMEOUT_MS: '1000' });
      await eventually(async () => {
        const tally = await cluster.tally([order]);
        expect(tally['payments stored']).toBe(1);
        expect(tally['distinct events']).toBe(1);
        expect(tally['events still owed']).toBe(0);
      }, 60_000, 100);
      await restarted.stop();
    }
    const tally = await cluster.tally(orders);
    rows.push({ 'killed (kill -9)': point, runs: orders.length, ...tally });
    expect(tally.charges).toBe(orders.length);
    expect(tally['orders charged twice']).toBe(0);
    expect(tally['payments stored']).toBe(orders.length);
    expect(tally['payments still charging']).toBe(0);
    expect(tally['distinct events']).toBe(orders.length);
    expect(tally['payments without event (lost)']).toBe(0);
    expect(tally['events still owed']).toBe(0);
    // Killed between publishing and marking it published, the next process publishes the event again:
    // NATS Streaming delivers both; JetStream drops the repeat (same Nats-Msg-Id within its duplicate window).
    if (point === 'after-publish') expect(tally['events duplicated']).toBe(testBus() === 'jetstream' ? 0 : orders.length);
  }
  printTable('Crashes: a process killed at each step of a payment, then restarted', rows);
});

test('when a service process is killed at each step of a refund and restarted, then every cancelled order is refunded once and announced', async () => {
  const rows = [];
  for (const point of REFUND_POINTS) {
    const orders: ClusterOrder[] = [];
    for (let run = 0; run < RUNS_PER_POINT; run += 1) {
      const doomed = await cluster.instance({ PAYMENTS_TEST_CRASH_AT: point, STRIPE_TIMEOUT_MS: '1000' });
      const [order] = await cluster.replicatedOrders(1);
      orders.push(order);
      expect((await cluster.pay(doomed, order, 'tok_visa')).status).toBe(201);
      await cluster.orders.cancelled({ id: order.id, version: 1 });
      expect(await doomed.stopped()).toMatchObject({ signal: 'SIGKILL' });

      const restarted = await cluster.instance({ STRIPE_TIMEOUT_MS: '1000' });
      await eventually(async () => {
        const tally = await cluster.refundTally([order]);
        expect(tally['payments refunded']).toBe(1);
        expect(tally['refund events seen']).toBeGreaterThanOrEqual(1);
      }, 60_000, 100);
      await restarted.stop();
    }
    const tally = await cluster.refundTally(orders);
    rows.push({ 'killed (kill -9)': point, runs: orders.length, ...tally });
    expect(tally.charges).toBe(orders.length);
    expect(tally.refunds).toBe(orders.length);
    expect(tally['refunded twice']).toBe(0);
    expect(tally['payments refunded']).toBe(orders.length);
    expect(tally['refunds still owed']).toBe(0);
    expect(tally['refunded without event (lost)']).toBe(0);
  }
  printTable('Crashes: a process killed at each step of a refund, then restarted', rows);
});

test('when a process is killed during a burst of events and restarted, then every order is replicated once with its cancel applied', async () => {
  const first = await cluster.instance();
  const ids = Array.from({ length: 400 }, () => newId());
  const burst = (async () => {
    for (const [i, id] of ids.entries()) {
      await cluster.orders.created({ id, userId: 'burst-user', price: 10 });
      if (i % 4 === 0) await cluster.orders.cancelled({ id, version: 1 });
    }
  })();
  await eventually(async () => expect(await cluster.ordersStored(ids)).toBeGreaterThan(50), 30_000, 20);
  first.kill('SIGKILL');
  const storedAtKill = await cluster.ordersStored(ids);
  await burst;
  const second = await cluster.instance();
  const cancels = ids.filter((_, i) => i % 4 === 0);
  await eventually(async () => {
    expect(await cluster.ordersStored(ids)).toBe(ids.length);
    expect(await cluster.db.collection('orders').countDocuments({ _id: { $in: cancels as never[] }, status: 'cancelled', version: 1 })).toBe(cancels.length);
  }, 90_000, 250);
  const docs = await cluster.db.collection('orders').aggregate([{ $match: { _id: { $in: ids as never[] } } }, { $group: { _id: '$_id', n: { $sum: 1 } } }, { $match: { n: { $gt: 1 } } }]).toArray();
  printTable('Crashes: kill -9 during a burst of 400 order:created and 100 order:cancelled', [
    { events: ids.length + cancels.length, 'stored when killed': storedAtKill, 'stored after restart': await cluster.ordersStored(ids), 'stored twice': docs.length, 'cancels applied': cancels.length },
  ]);
  expect(docs).toEqual([]);
  expect(second.exit).toBeUndefined();
});
