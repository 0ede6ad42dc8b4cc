import { Types } from 'mongoose';
import { StripeCharges } from '../src/stripe/charges';
import { createStripe } from '../src/stripe/client';
import { eventually } from './support/eventually';
import { PaymentsFixture } from './support/payments-fixture';

// stripe-mock validates every request against Stripe's OpenAPI description; it keeps no
// state and answers with fixtures (its PaymentIntent is always `requires_payment_method`
// with no charge), so what these tests prove is that Stripe accepts what we send.
const fx = new PaymentsFixture();
beforeAll(() => fx.start({ stripe: 'stripe-mock' }));
afterAll(() => fx.stop());

const charges = () => new StripeCharges(createStripe({ key: 'sk_test_mock', apiUrl: new URL(process.env.STRIPE_MOCK_URL!), timeoutMs: 5000, maxNetworkRetries: 0 }));
const request = (method: { token: string } | { paymentMethodId: string }) => ({
  amount: 2550,
  currency: 'usd',
  method,
  idempotencyKey: `order-test-${new Types.ObjectId().toHexString()}`,
  metadata: { orderId: new Types.ObjectId().toHexString(), paymentId: new Types.ObjectId().toHexString() },
});

test('when a card token is charged, then Stripe accepts the PaymentMethod and the confirmed PaymentIntent requests', async () => {
  const outcome = await charges().charge(request({ token: 'tok_visa' }));
  // The fixture's status, not a validation error ("rejected") or a failure ("unknown").
  expect(outcome).toMatchObject({ kind: 'declined', paymentIntentId: expect.stringMatching(/^pi_/) });
});

test('when a PaymentMethod is charged, then Stripe accepts the confirmed PaymentIntent request', async () => {
  const outcome = await charges().charge(request({ paymentMethodId: 'pm_card_visa' }));
  expect(outcome).toMatchObject({ kind: 'declined', paymentIntentId: expect.stringMatching(/^pi_/) });
});

test('when recovery asks what exists, then Stripe accepts the retrieve, search, list and cancel requests', async () => {
  const stripe = charges();
  const paymentId = new Types.ObjectId().toHexString();
  expect(await stripe.lookup({ paymentId: 'p1', paymentIntentId: 'pi_123' })).toMatchObject({ kind: 'declined' });
  // stripe-mock answers a search with its fixture, whose metadata is not this claim's: nothing found.
  expect(await stripe.lookup({ paymentId })).toEqual({ kind: 'none' });
  expect(await stripe.findCreated({ paymentId, from: new Date(Date.now() - 60_000), to: new Date() })).toEqual({ kind: 'none' });
  expect((await stripe.cancel('pi_123')).kind).not.toMatch(/unknown|unavailable/);
});

test('when an order is paid through stripe-mock, then the service sends a request Stripe accepts and answers with the fixture\'s outcome', async () => {
  const order = await fx.order({ price: 25.5 });
  const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
  // stripe-mock's PaymentIntent fixture is never succeeded: a decline, with nothing recorded.
  expect(res.status).toBe(402);
  expect(await fx.payments(order.id)).toEqual([]);
});

test('when a paid order is cancelled, then Stripe (its OpenAPI, through stripe-mock) accepts the refund request and payment:refunded follows', async () => {
  const order = await fx.order({ price: 12.5 });
  // What a PaymentIntent payment leaves (stripe-mock cannot make one succeed): the payment, charged.
  const { _id } = await fx.paymentModel.create({
    orderId: order.id,
    orderLock: order.id,
    attemptSlot: `seeded:${order.id}`,
    userId: order.userId,
    method: 'paymentMethodId',
    tokenHash: 'x',
    idempotencyKey: `order-${order.id}-seeded`,
    amount: 1250,
    currency: 'usd',
    state: 'succeeded',
    leaseUntil: new Date(),
    chargeAttempts: 1,
    stripeId: 'ch_seeded',
    paymentIntentId: 'pi_seeded',
  });
  await fx.orders.cancelled({ id: order.id, version: 1 });
  await eventually(async () => expect(await fx.refunds(order.id)).toMatchObject([{ state: 'refunded', refundId: expect.stringMatching(/^re_/), amount: 1250 }]));
  await eventually(() => expect(fx.spy.refundsFor(order.id)).toMatchObject([{ id: String(_id), stripeId: 'ch_seeded', refundId: expect.stringMatching(/^re_/), amount: 1250, currency: 'usd' }]));
});
