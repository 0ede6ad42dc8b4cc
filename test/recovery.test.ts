import { eventually } from './support/eventually';
import { PaymentsFixture } from './support/payments-fixture';

/**
 * Recovery asks Stripe what exists instead of replaying a key (issue 10 C). Stripe
 * keeps the answer it gave under an idempotency key, a 500 included once the
 * request began executing ("Idempotent requests": results are saved when an
 * endpoint started executing), so replaying that key can never succeed.
 */
const fx = new PaymentsFixture();
beforeAll(() => fx.start({ stripe: 'fake' }));
afterAll(() => fx.stop());
afterEach(() => {
  fx.stripe!.mode = 'normal';
});

const creates = (orderId: string) => fx.stripe!.requestsFor(orderId).filter((req) => req.path === '/v1/payment_intents' || req.path === '/v1/charges');

describe('when Stripe stored a 500 under the key of a payment', () => {
  test('when Stripe is healthy again, then the order is released and another card pays it within a minute, with one charge', async () => {
    const order = await fx.order({ price: 21 });
    fx.stripe!.mode = 'storedError500';
    const first = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(first.status).toBe(502);
    const [failed] = creates(order.id);
    fx.stripe!.mode = 'normal';

    const paid = await eventually(async () => {
      const res = await fx.pay(order.cookie, { token: 'tok_mastercard', orderId: order.id });
      expect(res.status).toBe(201);
      return res;
    }, 60_000, 250);

    const charges = fx.stripe!.chargesFor(order.id);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ source: 'tok_mastercard', amount: 2100 });
    expect(charges[0].idempotencyKey).not.toBe(failed.idempotencyKey);
    expect(paid.body).toMatchObject({ stripeId: charges[0].id, status: 'succeeded' });
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded', stripeId: charges[0].id }]);
    await eventually(() => expect(fx.spy.forOrder(order.id)).toMatchObject([{ stripeId: charges[0].id }]));
    // Recovery asked Stripe what exists before it gave the order up.
    expect(fx.stripe!.requests.some((req) => req.method === 'GET' && req.path.startsWith('/v1/payment_intents'))).toBe(true);
  });

  test('when the same card is resent, then it is charged under a new key, once', async () => {
    const order = await fx.order({ price: 22 });
    fx.stripe!.mode = 'storedError500';
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(502);
    const [failed] = creates(order.id);
    fx.stripe!.mode = 'normal';

    const paid = await eventually(async () => {
      const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
      expect(res.status).toBe(201);
      return res;
    }, 60_000, 250);
    const charges = fx.stripe!.chargesFor(order.id);
    expect(charges).toHaveLength(1);
    expect(charges[0].idempotencyKey).not.toBe(failed.idempotencyKey);
    expect(paid.body.stripeId).toBe(charges[0].id);
  });
});

describe('when a PaymentIntent exists that the service never heard of', () => {
  test('when its answer was lost, then recovery finds it by listing and records it: no second PaymentIntent', async () => {
    const order = await fx.order({ price: 23 });
    fx.stripe!.mode = 'chargeThenDrop';
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(502);
    fx.stripe!.mode = 'normal';
    const sentBefore = creates(order.id).length; // the SDK may resend a request whose connection was reset
    const [intent] = fx.stripe!.intentsFor(order.id);
    await eventually(async () => expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded', paymentIntentId: intent.id, stripeId: intent.latestCharge }]));
    expect(fx.stripe!.intentsFor(order.id)).toHaveLength(1);
    // Found by asking, not by sending the create again.
    expect(creates(order.id)).toHaveLength(sentBefore);
  });
});

describe('when Stripe answers an idempotency error (the key was first used with other parameters)', () => {
  test('when it answers the first try, then nothing was charged: the order is released at once and another card pays it, once', async () => {
    const order = await fx.order({ price: 24 });
    fx.stripe!.mode = 'idempotencyError';
    const first = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(first.status).toBe(502);
    expect(first.body.errors[0].message).toMatch(/nothing was charged/);
    expect(await fx.payments(order.id)).toEqual([]);
    fx.stripe!.mode = 'normal';

    const paid = await fx.pay(order.cookie, { token: 'tok_mastercard', orderId: order.id });
    expect(paid.status).toBe(201);
    const charges = fx.stripe!.chargesFor(order.id);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ source: 'tok_mastercard', amount: 2400 });
    expect(fx.stripe!.intentsFor(order.id)).toHaveLength(1);
  });

  test('when it answers recovery\'s resend after an unanswered try, then the order is released without waiting and another card pays it, once', async () => {
    const order = await fx.order({ price: 25 });
    fx.stripe!.mode = 'error500'; // no answer, nothing stored: the claim is kept for recovery
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(502);
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'charging' }]);
    fx.stripe!.mode = 'idempotencyError';
    // Recovery lists nothing for the claim, sends the same request again, and is told the key is not this request's.
    await eventually(async () => expect(await fx.payments(order.id)).toEqual([]), 30_000, 250);
    expect(fx.stripe!.intentsFor(order.id)).toEqual([]);
    fx.stripe!.mode = 'normal';

    expect((await fx.pay(order.cookie, { token: 'tok_mastercard', orderId: order.id })).status).toBe(201);
    expect(fx.stripe!.chargesFor(order.id)).toMatchObject([{ source: 'tok_mastercard', amount: 2500 }]);
  });
});
