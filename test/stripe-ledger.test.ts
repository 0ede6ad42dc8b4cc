import request from 'supertest';
import Stripe from 'stripe';
import { refundForOperator } from '../src/entry-points/operator-refunds';
import { eventually, sleep } from './support/eventually';
import { databaseUri } from './support/harness';
import { PaymentsFixture } from './support/payments-fixture';

/**
 * Stripe is the ledger (issue 20; CONTRACT.md, Additions 2026-12-05): refunds in parts
 * and from anywhere (this service, the operator's CLI, Stripe's Dashboard), refunds that
 * fail later, disputes through their life, and events Stripe never delivered, fetched
 * back from its events list. The fake Stripe sends its events as signed webhooks.
 */
const SECRET = 'whsec_test_stripe_ledger';
const fx = new PaymentsFixture();
let dashboard: Stripe;

beforeAll(async () => {
  await fx.start({ stripe: 'fake', env: { STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_EVENTS_POLL_MS: '1000' }, service: { sweepIntervalMs: 200 } });
  fx.stripe!.webhooks = { url: `http://127.0.0.1:${fx.service.port}/api/payments/webhooks/stripe`, secret: SECRET };
  const url = new URL(fx.stripe!.url);
  // What an operator does in Stripe's Dashboard is a call to Stripe's API without this service's metadata.
  dashboard = new Stripe('sk_test_dashboard', { host: url.hostname, port: url.port, protocol: 'http', telemetry: false });
});
afterAll(() => fx.stop());
afterEach(() => {
  fx.stripe!.webhookMode = 'normal';
});

async function paid(price: number) {
  const order = await fx.order({ price });
  const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
  expect(res.status).toBe(201);
  return { ...order, paymentId: res.body.id as string, charge: res.body.stripeId as string };
}

const read = (order: { cookie: string; paymentId: string }) => request(fx.service.server).get(`/api/payments/${order.paymentId}`).set('Cookie', order.cookie);
const refundedAmounts = (orderId: string) => fx.spy.refundsFor(orderId).map((event) => event.amount).sort((a, b) => a - b);
const atStripe = (orderId: string) => fx.stripe!.refundsFor(orderId).map((refund) => refund.amount).sort((a, b) => a - b);

describe('refunds made in the Dashboard, then a cancel', () => {
  test.each([
    ['its webhook arrives', 'normal'],
    ['its webhook is lost', 'lost'],
  ] as const)('when 15.00 of 40.00 is refunded in the Dashboard and %s, then the cancel refunds the other 25.00 and each refund is announced once', async (_what, webhookMode) => {
    const order = await paid(40);
    fx.stripe!.webhookMode = webhookMode;
    const made = await dashboard.refunds.create({ charge: order.charge, amount: 1500 });
    if (webhookMode === 'normal') await eventually(() => expect(refundedAmounts(order.id)).toEqual([1500]));
    await fx.orders.cancelled({ id: order.id, version: 1 });

    await eventually(() => expect(atStripe(order.id)).toEqual([1500, 2500]), 15_000);
    await eventually(() => expect(refundedAmounts(order.id)).toEqual([1500, 2500]), 15_000);
    await sleep(1500);
    expect(refundedAmounts(order.id)).toEqual([1500, 2500]);
    expect(fx.spy.refundsFor(order.id).find((event) => event.amount === 1500)).toMatchObject({ refundId: made.id, id: order.paymentId });
    const body = (await read(order)).body;
    expect(body.refunds).toEqual(
      expect.arrayContaining([
        { refundId: made.id, amount: 1500, state: 'succeeded', source: 'dashboard' },
        { refundId: expect.stringMatching(/^re_/), amount: 2500, state: 'succeeded', source: 'cancel' },
      ]),
    );
  });

  test('when the whole charge was refunded in the Dashboard, then the cancel refunds nothing more and payment:refunded says the money is back', async () => {
    const order = await paid(40);
    await dashboard.refunds.create({ charge: order.charge });
    await fx.orders.cancelled({ id: order.id, version: 1 });
    await eventually(() => expect(refundedAmounts(order.id)).toEqual([4000]), 15_000);
    await sleep(1500);
    expect(atStripe(order.id)).toEqual([4000]);
    expect(refundedAmounts(order.id)).toEqual([4000]);
    expect((await read(order)).body.refunds).toEqual([{ refundId: expect.any(String), amount: 4000, state: 'succeeded', source: 'dashboard' }]);
    expect(fx.logs.find({ msg: 'Stripe refused the refund: an operator must look', orderId: order.id })).toEqual([]);
  });
});

describe('a refund that fails later', () => {
  test('when Stripe reports the refund of a cancelled order failed, then it is recorded, announced with payment:refund_failed once, counted, and the read stops saying the money is back', async () => {
    const order = await paid(30);
    await fx.orders.cancelled({ id: order.id, version: 1 });
    await eventually(() => expect(fx.spy.refundsFor(order.id)).toHaveLength(1), 15_000);
    const [refund] = fx.stripe!.refundsFor(order.id);

    fx.stripe!.setRefundStatus(refund.id, 'failed', 'expired_or_canceled_card');
    await eventually(() => expect(fx.spy.refundFailuresFor(order.id)).toEqual([
      { id: order.paymentId, orderId: order.id, refundId: refund.id, amount: 3000, currency: 'usd', reason: 'expired_or_canceled_card' },
    ]), 15_000);
    await sleep(1500);
    expect(fx.spy.refundFailuresFor(order.id)).toHaveLength(1);
    expect((await read(order)).body.refunds).toEqual([{ refundId: refund.id, amount: 3000, state: 'failed', source: 'cancel' }]);
    expect(await fx.refunds(order.id)).toMatchObject([{ state: 'failed', failureReason: 'expired_or_canceled_card' }]);
    expect(fx.logs.find({ msg: 'a refund failed at Stripe: the money is not back; an operator must look', orderId: order.id })).toHaveLength(1);
    const metrics = await request(fx.service.server).get('/metrics');
    expect(metrics.text).toMatch(/payments_refunds_failed_total\{reason="expired_or_canceled_card"\} [1-9]/);
  });
});

describe('a dispute', () => {
  test('when a dispute opens, moves to under_review and is lost with its funds withdrawn, then payment:disputed follows each status and the read shows it', async () => {
    const order = await paid(25);
    const dispute = fx.stripe!.openDispute(order.charge, { reason: 'fraudulent' });
    await eventually(() => expect(fx.spy.disputesFor(order.id).map((event) => event.status)).toEqual(['needs_response']));
    fx.stripe!.setDisputeStatus(dispute.id, 'under_review');
    await eventually(() => expect(fx.spy.disputesFor(order.id).map((event) => event.status)).toEqual(['needs_response', 'under_review']));
    fx.stripe!.disputeFunds(dispute.id, 'withdrawn');
    fx.stripe!.setDisputeStatus(dispute.id, 'lost');
    await eventually(() => expect(fx.spy.disputesFor(order.id).map((event) => event.status)).toEqual(['needs_response', 'under_review', 'lost']));
    expect(fx.spy.disputesFor(order.id)[2]).toEqual({
      id: order.paymentId, orderId: order.id, stripeId: order.charge, disputeId: dispute.id, status: 'lost', reason: 'fraudulent', amount: 2500, currency: 'usd',
    });
    await eventually(async () =>
      expect((await read(order)).body.dispute).toEqual({ disputeId: dispute.id, status: 'lost', reason: 'fraudulent', amount: 2500, fundsWithdrawn: 2500, fundsReinstated: 0 }),
    );
    const metrics = await request(fx.service.server).get('/metrics');
    expect(metrics.text).toMatch(/payments_disputes_total\{status="lost"\} [1-9]/);
  });
});

describe("events Stripe never delivered, from its events list", () => {
  test('when every webhook is lost, then a Dashboard refund and a dispute are still recorded and announced once', async () => {
    const order = await paid(18);
    fx.stripe!.webhookMode = 'lost';
    const made = await dashboard.refunds.create({ charge: order.charge, amount: 800 });
    const dispute = fx.stripe!.openDispute(order.charge, { reason: 'product_not_received', amount: 1000 });
    await eventually(() => expect(refundedAmounts(order.id)).toEqual([800]), 15_000);
    await eventually(() => expect(fx.spy.disputesFor(order.id)).toMatchObject([{ disputeId: dispute.id, status: 'needs_response', amount: 1000 }]), 15_000);
    await sleep(2500); // two more reads of the events list: nothing is announced twice
    expect(fx.spy.refundsFor(order.id)).toMatchObject([{ refundId: made.id, amount: 800 }]);
    expect(fx.spy.disputesFor(order.id)).toHaveLength(1);
  });
});

describe("an operator's refund", () => {
  const env = () => ({ MONGO_URI: databaseUri(fx.database), STRIPE_KEY: 'sk_test_operator', STRIPE_API_URL: fx.stripe!.url, LOG_LEVEL: 'silent' });
  const refund = (orderId: string, amount?: string) => refundForOperator(env(), { orderId, amount, reason: 'customer asked on the phone', operator: 'ops-anna' });

  test('when an operator refunds part, then the rest, then asks again, then each refund is made and announced once and the last is refused with what remains', async () => {
    const order = await paid(40);
    expect(await refund(order.id, '15.00')).toMatchObject({ outcome: { kind: 'refunded' }, refund: { amount: 1500, source: 'operator', operator: 'ops-anna', state: 'refunded' } });
    await expect(refund(order.id, '30.00')).rejects.toThrow(/at most what remains: 2500 usd/);
    expect(await refund(order.id)).toMatchObject({ refund: { amount: 2500, state: 'refunded' } });
    await expect(refund(order.id)).rejects.toThrow(/Nothing left to refund/);
    await eventually(() => expect(refundedAmounts(order.id)).toEqual([1500, 2500]), 15_000);
    expect(atStripe(order.id)).toEqual([1500, 2500]);
    const [first] = await fx.refunds(order.id);
    expect(first.history).toEqual(expect.arrayContaining([expect.objectContaining({ step: 'owed', detail: 'asked by ops-anna: customer asked on the phone' })]));

    // The order cancelled afterwards: nothing remains, nothing more is refunded.
    await fx.orders.cancelled({ id: order.id, version: 1 });
    await sleep(1500);
    expect(atStripe(order.id)).toEqual([1500, 2500]);
  });

  test('when the order is unknown or the amount is not an amount, then the operator is told and nothing is refunded', async () => {
    await expect(refund('0123456789abcdef01234567')).rejects.toThrow(/No charged payment for order 0123456789abcdef01234567/);
    const order = await paid(12);
    await expect(refund(order.id, '1.005')).rejects.toThrow(/at most 2 decimals/);
    await expect(refund(order.id, '-3')).rejects.toThrow(/positive amount/);
    expect(atStripe(order.id)).toEqual([]);
  });
});
