import request from 'supertest';
import { eventually } from './support/eventually';
import { newId, sessionCookie } from './support/harness';
import { PaymentsFixture } from './support/payments-fixture';

/** GET /api/payments/:id and GET /api/payments?orderId= (contract 2026-11-29). */
const fx = new PaymentsFixture();
// No recovery sweep after the first: a payment left charging is resolved only by a read.
beforeAll(() => fx.start({ stripe: 'fake', service: { sweepIntervalMs: 3_600_000 } }));
afterAll(() => fx.stop());
afterEach(() => {
  fx.stripe!.mode = 'normal';
});

const get = (path: string, cookie?: string) => {
  const req = request(fx.service.server).get(path);
  if (cookie) req.set('Cookie', cookie);
  return req;
};

test('when the owner reads a paid payment by id and by order, then 200 with its status, amount, charge and PaymentIntent', async () => {
  const order = await fx.order({ price: 19.99 });
  const paid = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
  expect(paid.status).toBe(201);
  const expected = {
    id: paid.body.id,
    orderId: order.id,
    status: 'succeeded',
    amount: 1999,
    currency: 'usd',
    stripeId: paid.body.stripeId,
    paymentIntentId: paid.body.paymentIntentId,
  };
  const byId = await get(`/api/payments/${paid.body.id}`, order.cookie);
  expect(byId.status).toBe(200);
  expect(byId.body).toEqual(expected);
  const byOrder = await get(`/api/payments?orderId=${order.id}`, order.cookie);
  expect(byOrder.status).toBe(200);
  expect(byOrder.body).toEqual(expected);
});

test('when the order was cancelled and refunded, then the read carries the refund', async () => {
  const order = await fx.order({ price: 10 });
  const paid = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
  await fx.orders.cancelled({ id: order.id, version: 1 });
  await eventually(async () => expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refunded' }]));
  const [refund] = fx.stripe!.refundsFor(order.id);
  const res = await get(`/api/payments/${paid.body.id}`, order.cookie);
  expect(res.status).toBe(200);
  expect(res.body.refund).toEqual({ state: 'refunded', refundId: refund.id, amount: 1000 });
});

test('when there is no session, then 401', async () => {
  expect((await get(`/api/payments/${newId()}`)).status).toBe(401);
  expect((await get(`/api/payments?orderId=${newId()}`)).status).toBe(401);
});

test('when another user reads a payment, or the payment is unknown, then 404 alike', async () => {
  const order = await fx.order();
  const paid = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
  const stranger = sessionCookie({ id: newId() });
  const theirs = await get(`/api/payments/${paid.body.id}`, stranger);
  const unknown = await get(`/api/payments/${newId()}`, stranger);
  expect(theirs.status).toBe(404);
  expect(theirs.body).toEqual(unknown.body);
  expect((await get(`/api/payments?orderId=${order.id}`, stranger)).status).toBe(404);
});

test.each([
  ['/api/payments/not-an-id', 'id'],
  ['/api/payments?orderId=123', 'orderId'],
  ['/api/payments', 'orderId'],
])('when %s is read, then 400 naming %s', async (path, field) => {
  const res = await get(path, sessionCookie({ id: newId() }));
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ errors: [{ message: expect.any(String), field }] });
});

test('when the payment is still charging with nobody holding it, then the read asks Stripe and reports what it recorded', async () => {
  const order = await fx.order({ price: 31 });
  fx.stripe!.mode = 'chargeThenDrop';
  const first = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
  expect(first.status).toBe(502);
  fx.stripe!.mode = 'normal';
  const [payment] = await fx.payments(order.id);
  const [intent] = fx.stripe!.intentsFor(order.id);
  const res = await eventually(async () => {
    const read = await get(`/api/payments/${String(payment._id)}`, order.cookie);
    expect(read.body.status).toBe('succeeded');
    return read;
  });
  expect(res.body).toMatchObject({ stripeId: intent.latestCharge, paymentIntentId: intent.id });
  expect((await fx.payments(order.id))[0]).toMatchObject({ state: 'succeeded', stripeId: intent.latestCharge });
  expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
});
