import request from 'supertest';
import { eventually, sleep } from './support/eventually';
import { THREE_D_SECURE_PM, VISA_PM } from './support/fake-stripe';
import { PaymentsFixture } from './support/payments-fixture';

/**
 * Stripe's webhooks (issue 10 B) and 3-D Secure (issue 10 A). No recovery sweep
 * after the first: a payment waiting for the customer moves only through a
 * webhook or a read, so each test shows that path and no other.
 */
const SECRET = 'whsec_test_payments_webhooks';
const fx = new PaymentsFixture();
beforeAll(() =>
  fx.start({ stripe: 'fake', env: { STRIPE_WEBHOOK_SECRET: SECRET }, service: { sweepIntervalMs: 3_600_000, actionTimeoutMs: 1500 } }),
);
afterAll(() => fx.stop());

const endpoint = () => `http://127.0.0.1:${fx.service.port}/api/payments/webhooks/stripe`;
const deliver = (event: Record<string, unknown>, options?: { timestamp?: number; signature?: string | null }) =>
  fx.stripe!.deliver(endpoint(), event, SECRET, options);

async function awaitingAuthentication(price = 20) {
  const order = await fx.order({ price });
  const res = await fx.pay(order.cookie, { paymentMethodId: THREE_D_SECURE_PM, orderId: order.id });
  expect(res.status).toBe(202);
  const [intent] = fx.stripe!.intentsFor(order.id);
  expect(res.body).toEqual({ id: expect.any(String), orderId: order.id, status: 'requires_action', clientSecret: intent.clientSecret });
  return { order, intent, paymentId: res.body.id as string };
}

describe('3-D Secure and the webhook that ends it', () => {
  test('when the customer authenticates and payment_intent.succeeded arrives twice, then the payment is recorded once and payment:created published once', async () => {
    const { order, intent, paymentId } = await awaitingAuthentication(20);
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'charging', paymentIntentId: intent.id }]);
    // Another card waits: the order stays claimed while the customer authenticates.
    expect((await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id })).status).toBe(409);

    fx.stripe!.completeAction(intent.id, 'succeeded');
    const event = fx.stripe!.event('payment_intent.succeeded', intent.id);
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, duplicate: false } });
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded', stripeId: intent.latestCharge, paymentIntentId: intent.id }]);
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, duplicate: true } });

    await eventually(() => expect(fx.spy.forOrder(order.id)).toEqual([
      { id: paymentId, orderId: order.id, stripeId: intent.latestCharge, paymentIntentId: intent.id, amount: 2000, currency: 'usd' },
    ]));
    await sleep(300);
    expect(fx.spy.forOrder(order.id)).toHaveLength(1);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
  });

  test('when a stale payment_failed arrives after the success was recorded, then the payment stays succeeded', async () => {
    const { order, intent } = await awaitingAuthentication(21);
    const stale = fx.stripe!.event('payment_intent.payment_failed', intent.id); // made while it still awaited the customer
    fx.stripe!.completeAction(intent.id, 'succeeded');
    expect((await deliver(fx.stripe!.event('payment_intent.succeeded', intent.id))).status).toBe(200);
    expect((await deliver(stale)).status).toBe(200);
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded', stripeId: intent.latestCharge }]);
  });

  test('when authentication fails and payment_intent.payment_failed arrives, then the order is freed and another card pays it', async () => {
    const { order, intent } = await awaitingAuthentication(22);
    fx.stripe!.completeAction(intent.id, 'failed');
    expect((await deliver(fx.stripe!.event('payment_intent.payment_failed', intent.id))).status).toBe(200);
    expect(await fx.payments(order.id)).toEqual([]);
    // Cancelled before the order was freed: the customer's client secret cannot confirm it again.
    expect(intent).toMatchObject({ status: 'canceled' });
    // Failed for Stripe's reason, not for the service's own cancel.
    expect(await fx.attempts(order.id)).toMatchObject([{ state: 'failed', failure: { kind: 'declined', message: expect.stringMatching(/authenticate/) } }]);
    const paid = await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id });
    expect(paid.status).toBe(201);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
  });

  test('when the customer never authenticates, then after the bounded time a read cancels the PaymentIntent and the order is free again', async () => {
    const { order, intent, paymentId } = await awaitingAuthentication(23);
    const read = () => request(fx.service.server).get(`/api/payments/${paymentId}`).set('Cookie', order.cookie);
    expect((await read()).body).toMatchObject({ status: 'requires_action', paymentIntentId: intent.id });
    await sleep(1600); // past actionTimeoutMs
    // The attempt stays on record, failed: nothing was charged, and the order is free.
    await eventually(async () => expect((await read()).body).toMatchObject({ status: 'failed', failure: { reason: 'declined' } }));
    expect(intent).toMatchObject({ status: 'canceled', cancellationReason: 'abandoned' });
    expect(await fx.payments(order.id)).toEqual([]);
    expect((await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id })).status).toBe(201);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
  });
});

describe('the webhook endpoint', () => {
  test('when the signature is missing, wrong or too old, then 400 and nothing is handled', async () => {
    const { order, intent } = await awaitingAuthentication(24);
    fx.stripe!.completeAction(intent.id, 'succeeded');
    const event = fx.stripe!.event('payment_intent.succeeded', intent.id);
    const failures = async () => {
      const text = (await request(fx.service.server).get('/metrics')).text;
      const count = (reason: string) => Number(new RegExp(`^payments_webhook_signature_failures_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
      return { missing: count('missing'), mismatch: count('mismatch') };
    };
    const before = await failures();
    expect((await deliver(event, { signature: null })).status).toBe(400);
    expect((await deliver(event, { signature: 't=1,v1=deadbeef' })).status).toBe(400);
    expect((await fx.stripe!.deliver(endpoint(), event, 'whsec_someone_else')).status).toBe(400);
    expect((await deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 600 })).status).toBe(400);
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'charging' }]);
    // Each refusal is counted for the PaymentsWebhookSignatureFailures alert.
    expect(await failures()).toEqual({ missing: before.missing + 1, mismatch: before.mismatch + 3 });
    // The same event, signed properly, is still handled: the refused deliveries were not recorded.
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, duplicate: false } });
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded' }]);
  });

  test('when a charge is disputed, then the dispute is recorded with the payment, shown to its owner and logged for an operator', async () => {
    const order = await fx.order({ price: 25 });
    const paid = await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id });
    expect(paid.status).toBe(201);
    const event = fx.stripe!.event('charge.dispute.created', paid.body.stripeId);
    expect((await deliver(event)).status).toBe(200);
    const dispute = (event.data as { object: { id: string } }).object;
    const read = await request(fx.service.server).get(`/api/payments/${paid.body.id}`).set('Cookie', order.cookie);
    // Read again from Stripe, never taken from the payload (CONTRACT.md, Additions 2026-12-05: the read's `dispute`).
    expect(read.body.dispute).toEqual({ disputeId: dispute.id, status: 'needs_response', reason: 'fraudulent', amount: 2500, fundsWithdrawn: 0, fundsReinstated: 0 });
    expect(fx.logs.find({ msg: 'a charge is disputed: an operator must look', orderId: order.id })).toHaveLength(1);
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded' }]);
  });

  test('when charge.refunded arrives, then it is acknowledged and recorded once', async () => {
    const order = await fx.order({ price: 26 });
    const paid = await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id });
    const event = fx.stripe!.event('charge.refunded', paid.body.stripeId);
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, duplicate: false } });
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, duplicate: true } });
  });

  test('when deliveries signed right, wrong and with another secret have been handled, then no log line carries the signing secret or a signature', async () => {
    const order = await fx.order({ price: 27 });
    const paid = await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id });
    expect(paid.status).toBe(201);
    const event = fx.stripe!.event('charge.dispute.created', paid.body.stripeId);
    const from = fx.logs.lines.length;
    expect((await deliver(event, { signature: `t=${Math.floor(Date.now() / 1000)},v1=${'ab'.repeat(32)}` })).status).toBe(400);
    expect((await fx.stripe!.deliver(endpoint(), event, 'whsec_someone_else')).status).toBe(400);
    expect((await deliver(event)).status).toBe(200);

    // The lines read are those the three deliveries caused: one request line each, and the event's own line.
    const lines = () => fx.logs.lines.slice(from);
    await eventually(() =>
      expect(lines().map((line) => JSON.parse(line)).filter((entry) => entry.path === '/api/payments/webhooks/stripe').map((entry) => entry.status)).toEqual([400, 400, 200]),
    );
    expect(lines().some((line) => line.includes('a charge is disputed: an operator must look'))).toBe(true);
    const all = lines().join('\n');
    expect(all).not.toContain(SECRET);
    expect(all).not.toMatch(/v1=[0-9a-f]{64}/);
  });
});
