import { spawn } from 'node:child_process';
import path from 'node:path';
import Stripe from 'stripe';
import { CrashPoint } from '../src/payments/crash-points';
import { eventually, sleep } from '../test/support/eventually';
import { databaseUri } from '../test/support/harness';
import { ServiceProcess } from '../test/support/service-process';
import { Cluster, ClusterOrder, printTable } from './support/cluster';

/**
 * Money after the charge with Stripe as the ledger (issue 20), the service as a
 * separate process: the operator's CLI killed in the middle of a refund, and every
 * webhook lost while refunds are made in the Dashboard, fail later, and a dispute
 * runs its course, all of it recovered from Stripe's events list. Every row: nothing
 * refunded twice, no money kept for a cancelled order, no refund event lost or doubled.
 */
const SECRET = 'whsec_resilience_ledger_rows';
const cluster = new Cluster();
let proc: ServiceProcess;
const rows: Array<Record<string, string | number>> = [];

beforeAll(async () => {
  await cluster.start();
  proc = await cluster.instance({ STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_TIMEOUT_MS: '1000', STRIPE_EVENTS_POLL_MS: '1000' });
  cluster.stripe.webhooks = { url: `${proc.url}/api/payments/webhooks/stripe`, secret: SECRET };
  cluster.stripe.webhookRetryMs = 1000;
});
afterAll(async () => {
  printTable('Money after the charge: the CLI killed mid-refund, webhooks lost (one process, fake Stripe)', rows);
  await cluster.stop();
});

async function paid(count: number, price: number): Promise<Array<ClusterOrder & { charge: string }>> {
  const orders = await cluster.replicatedOrders(count, price);
  return Promise.all(
    orders.map(async (order) => {
      const res = await cluster.pay(proc, order, 'tok_visa');
      expect(res.status).toBe(201);
      return { ...order, charge: (res.body as { stripeId: string }).stripeId };
    }),
  );
}

/** `npm run payments -- refund`, as an operator runs it, killed at `crashAt` when given. */
function operatorRefund(orderId: string, amount: string, crashAt?: CrashPoint): Promise<{ code: number | null; signal: string | null; output: string }> {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'scripts', 'payments-cli.js'), 'refund', orderId, '--amount', amount, '--reason', 'resilience row', '--by', 'ops'], {
    env: {
      PATH: process.env.PATH ?? '',
      MONGO_URI: databaseUri(cluster.database),
      STRIPE_KEY: 'sk_test_operator',
      STRIPE_API_URL: cluster.stripe.url,
      STRIPE_TIMEOUT_MS: '1000',
      DEV_STACK_DIR: path.join(__dirname, 'no-stack-here'),
      ...(crashAt ? { PAYMENTS_TEST_CRASH_AT: crashAt } : {}),
    },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, output })));
}

/** Stripe's Dashboard: a call to Stripe's API without this service's metadata. */
function dashboard(): Stripe {
  const url = new URL(cluster.stripe.url);
  return new Stripe('sk_test_dashboard', { host: url.hostname, port: url.port, protocol: 'http', telemetry: false });
}

function expectClean(tally: Awaited<ReturnType<Cluster['refundTally']>>) {
  expect(tally['refunded twice']).toBe(0);
  expect(tally['money kept (cancelled, not all refunded)']).toBe(0);
  expect(tally['refunds still owed']).toBe(0);
  expect(tally['refund events duplicated']).toBe(0);
  expect(tally['refunded without event (lost)']).toBe(0);
  expect(proc.exit).toBeUndefined();
}

test.each(['after-refund-owed', 'after-refund'] as const)('when the operator CLI is killed %s, then the service finishes its refund once, and the cancel refunds the rest', async (point) => {
  const orders = await paid(2, 20);
  const runs = await Promise.all(orders.map((order) => operatorRefund(order.id, '7.50', point)));
  expect(runs.map((run) => run.signal)).toEqual(['SIGKILL', 'SIGKILL']);
  // Recovery of the running service takes the refund over after its lease, under the same key.
  await eventually(async () => expect((await cluster.refundTally(orders))['refund events seen']).toBe(2), 60_000, 250);
  for (const order of orders) await cluster.orders.cancelled({ id: order.id, version: 1 });
  await eventually(async () => expect((await cluster.refundTally(orders))['refund events seen']).toBe(4), 60_000, 250);
  await sleep(2000);
  const tally = await cluster.refundTally(orders);
  rows.push({ failure: `operator CLI killed ${point}, then the order cancelled`, ...tally, 'refund failures announced': '-', 'disputes announced': '-', 'process exited': proc.exit ? 'yes' : 'no' });
  for (const order of orders) expect(cluster.stripe.refundsFor(order.id).map((refund) => refund.amount).sort((a, b) => a - b)).toEqual([750, 1250]);
  expect(tally.refunds).toBe(4);
  expectClean(tally);
});

test('when every webhook is lost while refunds are made in the Dashboard, fail later, and a dispute opens and is lost, then the events list brings each, announced once', async () => {
  cluster.stripe.webhookMode = 'lost';
  try {
    const [partly, failing, disputed] = await paid(3, 30);
    // A Dashboard refund of 10.00, then the cancel: the other 20.00 follows.
    await dashboard().refunds.create({ charge: partly.charge, amount: 1000 });
    await cluster.orders.cancelled({ id: partly.id, version: 1 });
    // A cancel's refund that Stripe reports failed afterwards.
    await cluster.orders.cancelled({ id: failing.id, version: 1 });
    await eventually(() => expect(cluster.stripe.refundsFor(failing.id)).toHaveLength(1), 30_000);
    cluster.stripe.setRefundStatus(cluster.stripe.refundsFor(failing.id)[0].id, 'failed', 'expired_or_canceled_card');
    // A dispute through its course, funds withdrawn.
    const dispute = cluster.stripe.openDispute(disputed.charge, { reason: 'fraudulent' });
    cluster.stripe.setDisputeStatus(dispute.id, 'under_review');
    cluster.stripe.disputeFunds(dispute.id, 'withdrawn');
    cluster.stripe.setDisputeStatus(dispute.id, 'lost');

    await eventually(() => expect(cluster.spy.refundFailuresFor(failing.id)).toHaveLength(1), 60_000, 250);
    await eventually(() => expect(cluster.spy.disputesFor(disputed.id).at(-1)).toMatchObject({ status: 'lost' }), 60_000, 250);
    await eventually(async () => expect((await cluster.refundTally([partly]))['refund events seen']).toBe(2), 60_000, 250);
    await sleep(3000); // three more reads of the events list: nothing is announced twice
    const tally = await cluster.refundTally([partly]);
    rows.push({ failure: 'every webhook lost: a Dashboard refund then a cancel, a refund failing later, a dispute lost', ...tally, 'refund failures announced': cluster.spy.refundFailuresFor(failing.id).length, 'disputes announced': cluster.spy.disputesFor(disputed.id).map((event) => event.status).join(','), 'process exited': proc.exit ? 'yes' : 'no' });
    expect(cluster.stripe.refundsFor(partly.id).map((refund) => refund.amount).sort((a, b) => a - b)).toEqual([1000, 2000]);
    expect(cluster.spy.refundFailuresFor(failing.id)).toMatchObject([{ reason: 'expired_or_canceled_card', amount: 3000 }]);
    expect(cluster.spy.refundsFor(failing.id)).toHaveLength(1);
    // Each change seen once; statuses that changed between two reads of the list are announced at their latest.
    const statuses = cluster.spy.disputesFor(disputed.id).map((event) => event.status);
    expect(statuses.at(-1)).toBe('lost');
    expect(new Set(statuses).size).toBe(statuses.length);
    expectClean(tally);
  } finally {
    cluster.stripe.webhookMode = 'normal';
  }
});
