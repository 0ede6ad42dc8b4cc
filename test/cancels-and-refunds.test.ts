import request from 'supertest';
import { eventually, sleep } from './support/eventually';
import { newId } from './support/harness';
import { PaymentsFixture } from './support/payments-fixture';

/**
 * Money at the edges: a cancelled order is never charged, and money taken for an
 * order that is or becomes cancelled is refunded once, with payment:refunded.
 */
const fx = new PaymentsFixture();
beforeAll(() => fx.start({ stripe: 'fake' }));
afterAll(() => fx.stop());
afterEach(() => {
  fx.stripe!.mode = 'normal';
  fx.stripe!.refundMode = 'normal';
  fx.stripe!.delayMs = 0;
});

const stored = (id: string) => fx.orderModel.findById(id).lean();

/** One series' value on /metrics (`name` or `name{labels}`), 0 while it has no line. */
async function metric(series: string): Promise<number> {
  const { text } = await request(fx.service.server).get('/metrics');
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('cancels are never lost', () => {
  test('when 64 cancels for orders never created come first, then a later cancel still applies and the order cannot be charged', async () => {
    // What a dropped order:created leaves behind: cancels for orders this service never stored.
    for (let i = 0; i < 64; i += 1) await fx.orders.cancelled({ id: newId(), version: 1 });
    const x = await fx.order({ price: 40 });
    await fx.orders.cancelled({ id: x.id, version: 1 });

    await eventually(async () => expect(await stored(x.id)).toMatchObject({ status: 'cancelled', version: 1 }), 15_000);
    const res = await fx.pay(x.cookie, { token: 'tok_visa', orderId: x.id });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(/cancelled/);
    expect(fx.stripe!.chargesFor(x.id)).toHaveLength(0);
  });

  test('when the cancel arrives before its order, then the order is stored cancelled at once and its order:created cannot revive it', async () => {
    const id = newId();
    const userId = newId();
    await fx.orders.cancelled({ id, version: 1 });
    await eventually(async () => expect(await stored(id)).toMatchObject({ status: 'cancelled', version: 1 }));
    expect(await stored(id)).not.toHaveProperty('userId');

    await fx.orders.created({ id, userId, price: 12 });
    await eventually(async () => expect(await stored(id)).toMatchObject({ status: 'cancelled', version: 1, userId, price: 12 }));
    const { sessionCookie } = await import('./support/harness');
    const res = await fx.pay(sessionCookie({ id: userId }), { token: 'tok_visa', orderId: id });
    expect(res.status).toBe(400);
    expect(fx.stripe!.chargesFor(id)).toHaveLength(0);
  });

  test('when only the cancel of an order arrived, then paying it answers 404 and charges nothing', async () => {
    const id = newId();
    await fx.orders.cancelled({ id, version: 1 });
    await eventually(async () => expect(await stored(id)).toMatchObject({ status: 'cancelled' }));
    const res = await fx.pay((await import('./support/harness')).sessionCookie({ id: newId() }), { token: 'tok_visa', orderId: id });
    expect(res.status).toBe(404);
    expect(fx.stripe!.chargesFor(id)).toHaveLength(0);
  });
});

describe('refunds', () => {
  test('when an order is cancelled after it was paid, and the cancel is delivered twice, then it is refunded once and payment:refunded follows payment:created', async () => {
    const order = await fx.order({ price: 19.99 });
    const paid = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(paid.status).toBe(201);
    await eventually(() => expect(fx.spy.forOrder(order.id)).toHaveLength(1));

    await fx.orders.cancelled({ id: order.id, version: 1 });
    await fx.orders.cancelled({ id: order.id, version: 1 });

    await eventually(async () => expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refunded', eventsOwed: [] }]));
    await eventually(() => expect(fx.spy.refundsFor(order.id)).toHaveLength(1));
    await sleep(1500); // past the ack wait: the second cancel has been handled too
    const refunds = fx.stripe!.refundsFor(order.id);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ charge: paid.body.stripeId, amount: 1999 });
    const [refund] = await fx.refunds(order.id);
    expect(refund).toMatchObject({ refundId: refunds[0].id, stripeId: paid.body.stripeId, amount: 1999, currency: 'usd', reason: 'order_cancelled', idempotencyKey: `refund-${paid.body.id}` });
    expect(String(refund.paymentId)).toBe(paid.body.id);
    expect(fx.spy.refundsFor(order.id)).toEqual([
      { id: paid.body.id, orderId: order.id, stripeId: paid.body.stripeId, refundId: refunds[0].id, amount: 1999, currency: 'usd' },
    ]);
    expect(fx.spy.subjectsFor(order.id)).toEqual(['payment:created', 'payment:refunded']);
    const [payment] = await fx.payments(order.id);
    expect(payment).toMatchObject({ state: 'succeeded', stripeId: paid.body.stripeId });
    expect(payment.history.map((entry) => entry.step)).toEqual(['claimed', 'charged', 'published']);
    expect(refund.history.map((entry) => entry.step)).toEqual(['owed', 'refunded', 'published']);
  });

  test('when the order is cancelled while its charge is in flight, then the request answers with the charge, the charge is refunded and only payment:refunded is published', async () => {
    const order = await fx.order({ price: 30 });
    fx.stripe!.delayMs = 1500;
    const paying = fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id }).then((res) => res); // sent now, answered later
    await eventually(() => expect(fx.stripe!.requestsFor(order.id)).toHaveLength(1));
    await fx.orders.cancelled({ id: order.id, version: 1 });
    await eventually(async () => expect(await stored(order.id)).toMatchObject({ status: 'cancelled' }));

    // The charge did happen, so the request answers with it; the outbox, about to announce it, finds the
    // order cancelled, owes the refund instead, and never sends payment:created.
    const res = await paying;
    expect(res.status).toBe(201);
    await eventually(async () => expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refunded', amount: 3000 }]));
    const [payment] = await fx.payments(order.id);
    expect(payment).toMatchObject({ _id: expect.anything(), state: 'succeeded', eventsOwed: [], owesEvents: false });
    expect(String(payment._id)).toBe(res.body.id);
    expect(payment.history.map((entry) => entry.step)).toContain('payment:created dropped');
    expect((await fx.orderModel.findById(order.id).lean())?.status).toBe('cancelled');
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    expect(fx.stripe!.refundsFor(order.id)).toMatchObject([{ amount: 3000 }]);
    await eventually(() => expect(fx.spy.refundsFor(order.id)).toHaveLength(1));
    await sleep(500);
    expect(fx.spy.subjectsFor(order.id)).toEqual(['payment:refunded']);
  });

  test('when the refund answer is lost and the instance stops, then the next instance finds the same refund: one at Stripe, payment:refunded published', async () => {
    const order = await fx.order({ price: 25 });
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(201);
    fx.stripe!.refundMode = 'chargeThenDrop';
    await fx.orders.cancelled({ id: order.id, version: 1 });
    await eventually(() => expect(fx.stripe!.refundsFor(order.id)).toHaveLength(1));
    await eventually(async () => expect((await fx.refunds(order.id))[0]?.attempts).toBeGreaterThanOrEqual(2));
    expect((await fx.refunds(order.id))[0].state).toBe('owed');

    await fx.service.stop();
    fx.stripe!.refundMode = 'normal';
    await fx.startService();

    await eventually(async () => expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refunded' }]), 20_000);
    const refunds = fx.stripe!.refundsFor(order.id);
    expect(refunds).toHaveLength(1);
    expect((await fx.refunds(order.id))[0].refundId).toBe(refunds[0].id);
    await eventually(() => expect(fx.spy.refundsFor(order.id).length).toBeGreaterThanOrEqual(1));
    expect(new Set(fx.spy.refundsFor(order.id).map((event) => event.refundId))).toEqual(new Set([refunds[0].id]));
  });

  test('when Stripe fails the refund for a while, then it is retried with the same key until it succeeds, once', async () => {
    const order = await fx.order({ price: 11 });
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(201);
    fx.stripe!.refundMode = 'error500';
    await fx.orders.cancelled({ id: order.id, version: 1 });
    await eventually(async () => expect((await fx.refunds(order.id))[0]?.attempts).toBeGreaterThanOrEqual(2));
    fx.stripe!.refundMode = 'normal';

    await eventually(async () => expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refunded' }]), 20_000);
    expect(fx.stripe!.refundsFor(order.id)).toHaveLength(1);
    const keys = new Set(fx.stripe!.requests.filter((r) => r.path === '/v1/refunds' && r.params.charge === fx.stripe!.chargesFor(order.id)[0].id).map((r) => r.idempotencyKey));
    expect(keys.size).toBe(1);
  });

  test('when Stripe refuses the refund for good (charge disputed), then the refusal is recorded and logged and not retried', async () => {
    const order = await fx.order({ price: 15 });
    const paid = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    fx.stripe!.disputed.add(paid.body.stripeId);
    await fx.orders.cancelled({ id: order.id, version: 1 });

    await eventually(async () =>
      expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refused', failure: { code: 'charge_disputed' } }]),
    );
    await eventually(() => expect(fx.logs.find({ msg: 'Stripe refused the refund: an operator must look', orderId: order.id })).toHaveLength(1)); // logged just after the write
    await sleep(1500);
    const refundCalls = fx.stripe!.requests.filter((r) => r.path === '/v1/refunds' && r.params.charge === paid.body.stripeId);
    expect(refundCalls).toHaveLength(1);
    expect(fx.spy.refundsFor(order.id)).toHaveLength(0);
  });

  test('when recovery finds the charge of an order cancelled meanwhile, then that charge is refunded and payment:created never sent', async () => {
    const order = await fx.order({ price: 8 });
    fx.stripe!.mode = 'chargeThenDrop';
    const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(502);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    await fx.orders.cancelled({ id: order.id, version: 1 });
    await eventually(async () => expect(await stored(order.id)).toMatchObject({ status: 'cancelled' }));
    fx.stripe!.mode = 'normal';

    await eventually(async () => expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refunded' }]), 20_000);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    expect(fx.stripe!.refundsFor(order.id)).toMatchObject([{ amount: 800 }]);
    await eventually(() => expect(fx.spy.refundsFor(order.id)).toHaveLength(1));
    expect(fx.spy.forOrder(order.id)).toHaveLength(0);
  });

  test('when the same card token is resent for a refunded order, then it answers 400 and charges nothing more', async () => {
    const order = await fx.order({ price: 9 });
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(201);
    await fx.orders.cancelled({ id: order.id, version: 1 });
    await eventually(async () => expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refunded' }]));
    const again = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(again.status).toBe(400);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    expect(fx.stripe!.refundsFor(order.id)).toHaveLength(1);
  });

  test('when a cancelled order\'s refund is owed and then made, then /metrics shows it owed, then one more refunded attempt and none owed', async () => {
    const refunded = 'payments_refund_attempts_total{outcome="refunded"}';
    const refundedBefore = await metric(refunded);
    const order = await fx.order({ price: 7 });
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(201);
    fx.stripe!.refundMode = 'error500';
    await fx.orders.cancelled({ id: order.id, version: 1 });
    await eventually(async () => expect(await metric('payments_refunds_owed')).toBe(1));

    fx.stripe!.refundMode = 'normal';
    await eventually(async () => expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refunded' }]), 20_000);
    expect(await metric(refunded)).toBe(refundedBefore + 1);
    expect(await metric('payments_refunds_owed')).toBe(0);
  });
});
