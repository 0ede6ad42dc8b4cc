import request from 'supertest';
import { eventually, sleep } from './support/eventually';
import { THREE_D_SECURE_PM, VISA_PM } from './support/fake-stripe';
import { newId, sessionCookie } from './support/harness';
import { PaymentsFixture } from './support/payments-fixture';

/**
 * What the platform's real services do that our own picture of them did not
 * (issue 19, shared/platform/): a user's own cancel at the version read before
 * saving it, a customer who lost the 3-D Secure page, a cancel while the
 * customer authenticates, a busy Stripe account, an order paid before it arrived.
 */
const fx = new PaymentsFixture();
beforeAll(() => fx.start({ stripe: 'fake', service: { chargeRetryBaseMs: 300, sweepIntervalMs: 200, searchSettledMs: 3000 } }));
afterAll(() => fx.stop());
afterEach(() => {
  fx.stripe!.mode = 'normal';
  fx.stripe!.searchLagMs = 0;
});

const stored = (id: string) => fx.orderModel.findById(id).lean();
/** Sends the card again until the order is paid, as a customer retrying would; the 201. */
const paidWith = (order: { id: string; cookie: string }, card: Record<string, string>, timeoutMs = 20_000) =>
  eventually(async () => {
    const res = await fx.pay(order.cookie, { ...card, orderId: order.id });
    expect(res.status).toBe(201);
    return res;
  }, timeoutMs, 250);
const read = (cookie: string, orderId: string) => request(fx.service.server).get(`/api/payments?orderId=${orderId}`).set('Cookie', cookie);

describe("a user's own cancel", () => {
  test.each([
    ['version 0, the version of a fresh order', 0, 0],
    ['the version of the stored order', 2, 2],
    ['a version below the stored one', 3, 1],
    ['the next version', 0, 1],
  ])('when the cancel carries %s, then the order ends cancelled and paying it charges nothing', async (_what, storedVersion, version) => {
    const order = { id: newId(), userId: newId(), price: 15, version: storedVersion };
    await fx.orders.created(order);
    await eventually(async () => expect(await stored(order.id)).toMatchObject({ status: 'created', version: storedVersion }));
    await fx.orders.cancelled({ id: order.id, version });
    await eventually(async () => expect(await stored(order.id)).toMatchObject({ status: 'cancelled' }));
    const res = await fx.pay(sessionCookie({ id: order.userId }), { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(/cancelled/);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(0);
  });

  test('when a paid order is cancelled at version 0, then it is refunded once', async () => {
    const order = await fx.order({ price: 15 });
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(201);
    await fx.orders.cancelled({ id: order.id, version: 0 });
    await eventually(() => expect(fx.spy.refundsFor(order.id)).toHaveLength(1));
    expect(fx.stripe!.refundsFor(order.id)).toMatchObject([{ amount: 1500 }]);
  });

  test('when a cancel at version 0 comes before its order:created, then the order cannot be revived', async () => {
    const id = newId();
    const userId = newId();
    await fx.orders.cancelled({ id, version: 0 });
    await fx.orders.created({ id, userId, price: 12 });
    await eventually(async () => expect(await stored(id)).toMatchObject({ status: 'cancelled', userId, price: 12 }));
    expect((await fx.pay(sessionCookie({ id: userId }), { token: 'tok_visa', orderId: id })).status).toBe(400);
  });

  test('when a cancel carries a version that is not a non-negative integer, then it is malformed and changes nothing', async () => {
    const order = await fx.order({ price: 15 });
    const before = fx.logs.find({ msg: 'malformed event acked and dropped', subject: 'order:cancelled' }).length;
    await fx.orders.raw('order:cancelled', JSON.stringify({ id: order.id, version: -1 }));
    await fx.orders.raw('order:cancelled', JSON.stringify({ id: order.id, version: 1.5 }));
    await eventually(() => expect(fx.logs.find({ msg: 'malformed event acked and dropped', subject: 'order:cancelled' })).toHaveLength(before + 2));
    expect(await stored(order.id)).toMatchObject({ status: 'created' });
  });
});

describe('a customer who lost the 3-D Secure page', () => {
  test('when the same card is sent again, then it gets the same 202 with its clientSecret, the read carries it, and another card still gets 409', async () => {
    const order = await fx.order({ price: 42.5 });
    const first = await fx.pay(order.cookie, { paymentMethodId: THREE_D_SECURE_PM, orderId: order.id });
    expect(first.status).toBe(202);
    const [intent] = fx.stripe!.intentsFor(order.id);

    const again = await fx.pay(order.cookie, { paymentMethodId: THREE_D_SECURE_PM, orderId: order.id });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ id: first.body.id, orderId: order.id, status: 'requires_action', clientSecret: intent.clientSecret });
    const reading = await read(order.cookie, order.id);
    expect(reading.status).toBe(200);
    expect(reading.body).toMatchObject({ id: first.body.id, status: 'requires_action', clientSecret: intent.clientSecret });
    expect((await request(fx.service.server).get(`/api/payments/${first.body.id}`).set('Cookie', order.cookie)).body).toMatchObject({ clientSecret: intent.clientSecret });
    expect((await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id })).status).toBe(409);
    expect(fx.stripe!.intentsFor(order.id)).toHaveLength(1);

    fx.stripe!.completeAction(intent.id, 'succeeded');
    await eventually(async () => expect((await read(order.cookie, order.id)).body).toMatchObject({ status: 'succeeded' }), 15_000);
    expect((await read(order.cookie, order.id)).body).not.toHaveProperty('clientSecret');
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
  });
});

describe('an order cancelled while its customer authenticates', () => {
  test('when the cancel arrives, then the PaymentIntent is cancelled at Stripe and no money moves', async () => {
    const order = await fx.order({ price: 30 });
    expect((await fx.pay(order.cookie, { paymentMethodId: THREE_D_SECURE_PM, orderId: order.id })).status).toBe(202);
    const [intent] = fx.stripe!.intentsFor(order.id);
    await fx.orders.cancelled({ id: order.id, version: 1 });

    await eventually(() => expect(fx.stripe!.intentsFor(order.id)).toMatchObject([{ id: intent.id, status: 'canceled' }]), 15_000);
    await eventually(async () => expect(await fx.attempts(order.id)).toMatchObject([{ state: 'failed', failure: { kind: 'declined' } }]));
    await sleep(500);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(0);
    expect(fx.stripe!.refundsFor(order.id)).toHaveLength(0);
    expect(fx.spy.forOrder(order.id)).toHaveLength(0);
  });
});

describe('a busy Stripe account', () => {
  test('when the first try creates nothing and 1,100 other PaymentIntents follow, then the same card pays the order once', async () => {
    const order = await fx.order({ price: 25 });
    fx.stripe!.mode = 'error500';
    expect((await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id })).status).toBe(502);
    fx.stripe!.mode = 'normal';
    fx.stripe!.createOtherIntents(1100);

    const paid = await paidWith(order, { paymentMethodId: VISA_PM });
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    expect(paid.body.stripeId).toBe(fx.stripe!.chargesFor(order.id)[0].id);
  });

  test('when the answer was lost and Search does not show the PaymentIntent yet, then the create sent again under the key finds it: one charge', async () => {
    const order = await fx.order({ price: 26 });
    fx.stripe!.searchLagMs = 60_000; // Stripe's Search guide: searchable within about a minute
    fx.stripe!.mode = 'chargeThenDrop';
    expect((await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id })).status).toBe(502);
    fx.stripe!.mode = 'normal';
    fx.stripe!.createOtherIntents(1100);

    const paid = await paidWith(order, { paymentMethodId: VISA_PM });
    expect(fx.stripe!.intentsFor(order.id)).toHaveLength(1);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    expect(paid.body.paymentIntentId).toBe(fx.stripe!.intentsFor(order.id)[0].id);
  });
});

describe('a busy Stripe account after a stored failure', () => {
  test('when Stripe keeps a 500 under the key and 1,100 other PaymentIntents are made, then the listing gives up, Search decides once the failure is old enough, and another card pays once', async () => {
    const order = await fx.order({ price: 27 });
    fx.stripe!.mode = 'storedError500';
    expect((await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id })).status).toBe(502);
    fx.stripe!.mode = 'normal';
    fx.stripe!.createOtherIntents(1100);

    const paid = await paidWith(order, { token: 'tok_mastercard' }, 30_000);
    expect(fx.stripe!.chargesFor(order.id)).toMatchObject([{ source: 'tok_mastercard', amount: 2700 }]);
    expect(paid.body.stripeId).toBe(fx.stripe!.chargesFor(order.id)[0].id);
    // The closed window was listed to its end (10 pages of 100) before Search was trusted.
    const listed = fx.stripe!.requests.filter((req) => req.method === 'GET' && req.path === '/v1/payment_intents');
    expect(listed.length).toBeGreaterThanOrEqual(10);
    expect(await fx.attempts(order.id)).toMatchObject([{ state: 'failed', failure: { kind: 'nothing' } }, { state: 'succeeded' }]);
  });
});

describe('an order paid as soon as it is created', () => {
  test('when the payment arrives before the order has replicated, then it waits for the order and pays it', async () => {
    const order = { id: newId(), userId: newId(), price: 9.5 };
    await fx.orders.created(order);
    const res = await fx.pay(sessionCookie({ id: order.userId }), { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ orderId: order.id, amount: 950 });
  });

  test('when the order never arrives, then the answer is 404 after the bounded wait', async () => {
    const res = await fx.pay(sessionCookie({ id: newId() }), { token: 'tok_visa', orderId: newId() });
    expect(res.status).toBe(404);
  });
});
