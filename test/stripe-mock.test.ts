import { eventually } from './support/eventually';
import { PaymentsFixture } from './support/payments-fixture';

// stripe-mock validates every request against Stripe's OpenAPI description; it keeps no state.
const fx = new PaymentsFixture();
beforeAll(() => fx.start({ stripe: 'stripe-mock' }));
afterAll(() => fx.stop());

test('when an order is paid through stripe-mock, then Stripe accepts the charge request and a payment results', async () => {
  const order = await fx.order({ price: 25.5 });
  const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ orderId: order.id, stripeId: expect.stringMatching(/^ch_/), amount: 2550, currency: 'usd' });
  const [payment] = await fx.payments(order.id);
  expect(payment).toMatchObject({ state: 'succeeded', stripeId: res.body.stripeId });
});

test('when a paid order is cancelled, then Stripe (its OpenAPI, through stripe-mock) accepts the refund request and payment:refunded follows', async () => {
  const order = await fx.order({ price: 12.5 });
  const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
  expect(res.status).toBe(201);
  await fx.orders.cancelled({ id: order.id, version: 1 });
  await eventually(async () => expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refunded', refundId: expect.stringMatching(/^re_/), amount: 1250 }]));
  await eventually(() => expect(fx.spy.refundsFor(order.id)).toMatchObject([{ stripeId: res.body.stripeId, refundId: expect.stringMatching(/^re_/), amount: 1250, currency: 'usd' }]));
});
