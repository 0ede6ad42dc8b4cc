import { startFerretDB } from '../scripts/servers';
import { eventually } from '../test/support/eventually';
import { testBus } from '../test/support/broker-client';
import { LocalNats, natsServer, OrdersPublisher, PaymentCreatedSpy } from '../test/support/harness';
import { ServiceProcess } from '../test/support/service-process';
import { Cluster, printTable } from './support/cluster';

type Row = Record<string, string | number>;
const rows: Row[] = [];
afterAll(() => printTable('Dependencies failing while the service runs', rows));

async function readyz(proc: ServiceProcess) {
  const res = await fetch(`${proc.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { down: string[] } };
}

/** Restarts the cluster's broker on its port (with its store, or a fresh one for `memory`) and reconnects the test's own clients. */
async function restartNats(cluster: Cluster, store: 'file' | 'memory', downMs: number) {
  const nats = cluster.nats as LocalNats;
  await cluster.spy.close().catch(() => undefined);
  await cluster.orders.close().catch(() => undefined);
  await nats.stop();
  await new Promise((resolve) => setTimeout(resolve, downMs));
  return async () => {
    cluster.nats = await natsServer({ port: nats.port, dir: nats.dir, store });
    cluster.orders = await OrdersPublisher.connect(cluster.nats);
    cluster.spy = await PaymentCreatedSpy.connect(cluster.nats);
  };
}

describe('database and Stripe outages', () => {
  const cluster = new Cluster();
  let ferret: Awaited<ReturnType<typeof startFerretDB>>;
  let proc: ServiceProcess;

  beforeAll(async () => {
    ferret = await startFerretDB();
    await cluster.start({ mongoUri: `${ferret.uri}/${cluster.database}` });
    // A Stripe call (and the SDK's one retry) well inside the request deadline (5 s), so a hanging Stripe answers 502, not the deadline's 503, on a busy machine too.
    proc = await cluster.instance({ MONGO_URI: `${ferret.uri}/${cluster.database}`, STRIPE_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => {
    await cluster.stop();
    await ferret.stop();
  });

  test('when FerretDB is down for 10 s, then payments answer 503, /readyz names mongo, and everything resumes by itself', async () => {
    const [before, during] = await cluster.replicatedOrders(2);
    await ferret.stop();
    const started = Date.now();
    const paid = await cluster.pay(proc, before, 'tok_visa');
    const ready = await eventually(async () => {
      const r = await readyz(proc);
      expect(r.status).toBe(503);
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - started))));
    ferret = await startFerretDB({ port: ferret.port, dir: ferret.dir });
    await eventually(async () => expect((await readyz(proc)).status).toBe(200), 30_000);
    const retried = await eventually(async () => {
      const r = await cluster.pay(proc, before, 'tok_visa');
      expect(r.status).toBe(201);
      return r;
    }, 30_000);
    expect((await cluster.pay(proc, during, 'tok_visa')).status).toBe(201);
    await eventually(async () => expect((await cluster.tally([before, during]))['distinct events']).toBe(2), 30_000);
    const tally = await cluster.tally([before, during]);
    rows.push({ failure: 'FerretDB stopped 10 s', 'status while down': paid.status, 'readyz while down': `${ready.status} ${ready.body.down.join(',')}`, 'status after': retried.status, charges: tally.charges, 'charged twice': tally['orders charged twice'], lost: tally['payments without event (lost)'], 'process exited': proc.exit ? 'yes' : 'no' });
    expect(paid.status).toBe(503);
    expect(ready.body.down).toEqual(['mongo']);
    expect(tally.charges).toBe(2);
    expect(tally['orders charged twice']).toBe(0);
    expect(proc.exit).toBeUndefined();
  });

  test.each([
    ['error500', 'Stripe answering 500 for 10 s'],
    ['hang', 'Stripe hanging for 10 s'],
  ] as const)('when %s, then payments answer 502, the service stays ready, and the charges complete once Stripe is back', async (mode, failure) => {
    const orders = await cluster.replicatedOrders(3);
    cluster.stripe.mode = mode;
    const statuses = await Promise.all(orders.map((order) => cluster.pay(proc, order, 'tok_visa').then((r) => r.status)));
    const ready = await readyz(proc);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    cluster.stripe.mode = 'normal';
    await eventually(async () => expect((await cluster.tally(orders))['distinct events']).toBe(orders.length), 60_000);
    const tally = await cluster.tally(orders);
    rows.push({ failure, 'status while down': statuses.join(','), 'readyz while down': ready.status, 'status after': 'recovered', charges: tally.charges, 'charged twice': tally['orders charged twice'], lost: tally['payments without event (lost)'], 'process exited': proc.exit ? 'yes' : 'no' });
    expect(statuses).toEqual([502, 502, 502]);
    expect(ready.status).toBe(200);
    expect(tally.charges).toBe(orders.length);
    expect(tally['orders charged twice']).toBe(0);
    expect(proc.exit).toBeUndefined();
  });
});

describe('Stripe failing during refunds', () => {
  const cluster = new Cluster();
  let proc: ServiceProcess;
  const refundRows: Row[] = [];

  beforeAll(async () => {
    await cluster.start();
    proc = await cluster.instance({ STRIPE_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => {
    printTable('Stripe failing while refunds are owed', refundRows);
    await cluster.stop();
  });

  test.each([
    ['error500', 'Stripe answering 500 for 10 s'],
    ['hang', 'Stripe hanging for 10 s'],
    ['chargeThenDrop', 'Stripe refunding but every answer lost for 10 s'],
  ] as const)('when %s while paid orders are cancelled, then each is refunded once when Stripe is back', async (mode, failure) => {
    const orders = await cluster.replicatedOrders(3);
    for (const order of orders) expect((await cluster.pay(proc, order, 'tok_visa')).status).toBe(201);
    cluster.stripe.refundMode = mode;
    const started = Date.now();
    for (const order of orders) await cluster.orders.cancelled({ id: order.id, version: 1 });
    await eventually(async () => expect((await cluster.refundTally(orders))['refunds still owed']).toBe(3), 30_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - started))));
    const owedWhileDown = (await cluster.refundTally(orders))['refunds still owed'];
    cluster.stripe.refundMode = 'normal';
    // Refunds are retried with a doubling wait (5 s, 10 s, 20 s …): the last may come a while after Stripe is back.
    await eventually(async () => expect((await cluster.refundTally(orders))['refund events seen']).toBeGreaterThanOrEqual(orders.length), 150_000);
    const tally = await cluster.refundTally(orders);
    refundRows.push({ failure, 'refunds owed while down': owedWhileDown, ...tally, 'process exited': proc.exit ? 'yes' : 'no' });
    expect(owedWhileDown).toBe(3);
    expect(tally.refunds).toBe(orders.length);
    expect(tally['refunded twice']).toBe(0);
    expect(tally['payments refunded']).toBe(orders.length);
    expect(tally['refunded without event (lost)']).toBe(0);
    expect(proc.exit).toBeUndefined();
  });
});

const broker = testBus() === 'jetstream' ? 'nats-server (JetStream)' : 'nats-streaming-server';

describe.each(['file', 'memory'] as const)(`${broker} restarted with the %s store`, (store) => {
  const cluster = new Cluster();
  let proc: ServiceProcess;

  beforeAll(async () => {
    await cluster.start({ nats: { store } });
    proc = await cluster.instance();
  });
  afterAll(() => cluster.stop());

  test('when NATS restarts, then payments still succeed, /readyz names nats while it is down, and events flow again without a restart', async () => {
    const [paidDuringOutage] = await cluster.replicatedOrders(1);
    const bringBack = await restartNats(cluster, store, 0);
    const ready = await eventually(async () => {
      const r = await readyz(proc);
      expect(r.status).toBe(503);
      return r;
    });
    const paid = await cluster.pay(proc, paidDuringOutage, 'tok_visa');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await bringBack();

    await eventually(async () => expect((await readyz(proc)).status).toBe(200), 60_000);
    await eventually(() => expect(cluster.spy.forOrder(paidDuringOutage.id)).toHaveLength(1), 60_000);
    const [after] = await cluster.replicatedOrders(1);
    expect((await cluster.pay(proc, after, 'tok_visa')).status).toBe(201);
    await eventually(() => expect(cluster.spy.forOrder(after.id)).toHaveLength(1), 30_000);
    const tally = await cluster.tally([paidDuringOutage, after]);
    rows.push({ failure: `${broker} restarted (${store} store)`, 'status while down': paid.status, 'readyz while down': `${ready.status} ${ready.body.down.join(',')}`, 'status after': 201, charges: tally.charges, 'charged twice': tally['orders charged twice'], lost: tally['payments without event (lost)'], 'process exited': proc.exit ? 'yes' : 'no' });
    expect(paid.status).toBe(201);
    expect(ready.body.down).toEqual(['nats']);
    expect(tally['payments without event (lost)']).toBe(0);
    expect(proc.exit).toBeUndefined();
  });
});
