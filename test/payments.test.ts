import jwt from 'jsonwebtoken';
import { eventually, sleep } from './support/eventually';
import { DECLINED_PM, DECLINED_TOKEN, INVALID_TOKEN, VISA_PM } from './support/fake-stripe';
import { cookieWithJwt, JWT_KEY, newId, sessionCookie } from './support/harness';
import { PaymentsFixture } from './support/payments-fixture';

const fx = new PaymentsFixture();
beforeAll(() => fx.start({ stripe: 'fake' }));
afterAll(() => fx.stop());
afterEach(() => {
  fx.stripe!.mode = 'normal';
});

const expectErrorShape = (body: unknown, field?: string) => {
  expect(body).toEqual({ errors: [field ? { message: expect.any(String), field } : { message: expect.any(String) }] });
};

describe('POST /api/payments: who may pay', () => {
  test('when there is no session, then 401', async () => {
    const res = await fx.pay(undefined, { token: 'tok_visa', orderId: newId() });
    expect(res.status).toBe(401);
    expectErrorShape(res.body);
  });

  const forged: Array<[string, () => string]> = [
    ['signed with another key', () => sessionCookie({ id: 'u1' }, 'not-the-key')],
    ['signed with HS512 and the right key', () => sessionCookie({ id: 'u1' }, JWT_KEY, 'HS512')],
    ['with alg none', () => cookieWithJwt(jwt.sign({ id: 'u1', email: 'a@b.c' }, '', { algorithm: 'none' }))],
    ['expired', () => cookieWithJwt(jwt.sign({ id: 'u1', email: 'a@b.c', exp: 1 }, JWT_KEY))],
    ['without a user id', () => cookieWithJwt(jwt.sign({ email: 'a@b.c' }, JWT_KEY))],
    ['whose cookie is not base64 JSON', () => 'session=%%%not-base64{'],
    ['whose jwt is not a string', () => `session=${Buffer.from(JSON.stringify({ jwt: { id: 'u1' } })).toString('base64')}`],
  ];
  test.each(forged)('when the session is %s, then 401 and no charge', async (_kind, cookie) => {
    const order = await fx.order();
    const res = await fx.pay(cookie(), { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(401);
    expectErrorShape(res.body);
    expect(fx.stripe!.requestsFor(order.id)).toEqual([]);
  });

  test('when the order belongs to another user, then 401 and the order is untouched', async () => {
    const order = await fx.order();
    const res = await fx.pay(sessionCookie({ id: 'someone-else' }), { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(401);
    expectErrorShape(res.body);
    expect(await fx.payments(order.id)).toEqual([]);
  });

  test('when the order is unknown, then 404', async () => {
    const res = await fx.pay(sessionCookie({ id: 'u1' }), { token: 'tok_visa', orderId: newId() });
    expect(res.status).toBe(404);
    expectErrorShape(res.body);
  });
});

describe('POST /api/payments: input', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['token is missing', { orderId: newId() }, 'token'],
    ['token is empty', { token: '', orderId: newId() }, 'token'],
    ['token is blank', { token: '   ', orderId: newId() }, 'token'],
    ['token is a number', { token: 42, orderId: newId() }, 'token'],
    ['token is an object', { token: { $gt: '' }, orderId: newId() }, 'token'],
    ['token is too long', { token: 't'.repeat(300), orderId: newId() }, 'token'],
    ['orderId is missing', { token: 'tok_visa' }, 'orderId'],
    ['orderId is empty', { token: 'tok_visa', orderId: '' }, 'orderId'],
    ['orderId is not an id', { token: 'tok_visa', orderId: 'order-1' }, 'orderId'],
    ['orderId is an array', { token: 'tok_visa', orderId: [newId()] }, 'orderId'],
    ['orderId has a 0x prefix', { token: 'tok_visa', orderId: `0x${'a'.repeat(22)}` }, 'orderId'],
    ['token holds a lone surrogate', { token: 'tok_\ud800visa', orderId: newId() }, 'token'],
    ['token holds spaces and quotes', { token: 'tok visa"', orderId: newId() }, 'token'],
  ];
  test.each(cases)('when %s, then 400 naming the field', async (_kind, body, field) => {
    const res = await fx.pay(sessionCookie({ id: 'u1' }), body);
    expect(res.status).toBe(400);
    expectErrorShape(res.body, field);
  });

  test('when the body is not JSON, then 400', async () => {
    const res = await fx.pay(sessionCookie({ id: 'u1' }), undefined).set('Content-Type', 'application/json').send('{"token": ');
    expect(res.status).toBe(400);
    expectErrorShape(res.body);
  });

  test('when the body is over 10 kB, then 413', async () => {
    const res = await fx.pay(sessionCookie({ id: 'u1' }), { token: 'x'.repeat(11_000), orderId: newId() });
    expect(res.status).toBe(413);
    expectErrorShape(res.body);
  });

  test('when a path has a malformed percent-escape, then 400 in the error shape', async () => {
    const { default: request } = await import('supertest');
    const res = await request(fx.service.server).get('/%ff');
    expect(res.status).toBe(400);
    expectErrorShape(res.body);
  });

  test('when the body does not match its Content-Encoding, then 400', async () => {
    const res = await fx.pay(sessionCookie({ id: 'u1' }), undefined)
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('{"token":"tok_visa"}');
    expect(res.status).toBe(400);
    expectErrorShape(res.body);
  });

  test('when the route is unknown, then 404 in the error shape', async () => {
    const res = await fx.pay(sessionCookie({ id: 'u1' }), {}).then(() => null);
    expect(res).toBeNull();
    const { default: request } = await import('supertest');
    const unknown = await request(fx.service.server).get('/api/payments/nothing-here/at-all');
    expect(unknown.status).toBe(404);
    expectErrorShape(unknown.body);
  });

  test('when the order is cancelled, then 400 and Stripe is not called', async () => {
    const order = await fx.order({ cancelled: true });
    const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(400);
    expectErrorShape(res.body);
    expect(fx.stripe!.requestsFor(order.id)).toEqual([]);
  });

  test('when the price is below the minimum charge, then 400 before Stripe is called', async () => {
    const order = await fx.order({ price: 0.3 });
    const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(400);
    expect(fx.stripe!.requestsFor(order.id)).toEqual([]);
    expect(await fx.payments(order.id)).toEqual([]);
  });
});

describe('POST /api/payments: charging', () => {
  test('when a valid order is paid, then 201, one charge of 1999 cents, a stored payment and payment:created, and the replica leaves the order created for the orders service to complete', async () => {
    const order = await fx.order({ price: 19.99 });
    const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });

    expect(res.status).toBe(201);
    const [charge] = fx.stripe!.chargesFor(order.id);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    expect(charge).toMatchObject({ amount: 1999, currency: 'usd', source: 'tok_visa' });
    expect(charge.idempotencyKey).toMatch(new RegExp(`^order-${order.id}-[0-9a-f]{40}$`));
    const [intent] = fx.stripe!.intentsFor(order.id);
    expect(fx.stripe!.intentsFor(order.id)).toHaveLength(1);
    expect(intent).toMatchObject({ status: 'succeeded', latestCharge: charge.id, amount: 1999, currency: 'usd', source: 'tok_visa' });
    expect(res.body).toMatchObject({ id: expect.any(String), orderId: order.id, stripeId: charge.id, paymentIntentId: intent.id, amount: 1999, currency: 'usd' });

    const [payment] = await fx.payments(order.id);
    expect(payment).toMatchObject({ state: 'succeeded', stripeId: charge.id, paymentIntentId: intent.id, amount: 1999, currency: 'usd', userId: order.userId });
    expect(String(payment._id)).toBe(res.body.id);
    expect(payment).not.toHaveProperty('token');
    await eventually(() =>
      expect(fx.spy.forOrder(order.id)).toEqual([{ id: res.body.id, orderId: order.id, stripeId: charge.id, paymentIntentId: intent.id, amount: res.body.amount, currency: 'usd' }]),
    );
    // The replica keeps what the orders service said (it marks the order complete on payment:created);
    // the succeeded payment, which holds the order's lock, is what answers a second attempt.
    expect(await fx.orderModel.findById(order.id).lean()).toMatchObject({ status: 'created', version: 0 });
    await eventually(async () => expect((await fx.payments(order.id))[0]).toMatchObject({ eventsOwed: [], eventsDueAt: null }));
  });

  test('when the same token is sent again for a paid order, then 201 with the original payment and no new charge', async () => {
    const order = await fx.order();
    const first = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    const again = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(fx.stripe!.requestsFor(order.id)).toHaveLength(1);
  });

  test('when a paid order is paid with another token, then 400 and no new charge', async () => {
    const order = await fx.order();
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(201);
    const res = await fx.pay(order.cookie, { token: 'tok_mastercard', orderId: order.id });
    expect(res.status).toBe(400);
    expectErrorShape(res.body);
    expect(fx.stripe!.requestsFor(order.id)).toHaveLength(1);
  });

  test('when the card is declined, then 402 with Stripe\'s message, nothing recorded, and another card pays once', async () => {
    const order = await fx.order();
    const declined = await fx.pay(order.cookie, { token: DECLINED_TOKEN, orderId: order.id });
    expect(declined.status).toBe(402);
    expect(declined.body).toEqual({ errors: [{ message: 'Your card was declined.' }] });
    expect(await fx.payments(order.id)).toEqual([]);

    const paid = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(paid.status).toBe(201);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    expect(await fx.payments(order.id)).toHaveLength(1);
    await eventually(() => expect(fx.spy.forOrder(order.id)).toHaveLength(1));
  });

  test('when the same declined card is tried again, then 402 again, and another card still pays', async () => {
    const order = await fx.order();
    expect((await fx.pay(order.cookie, { token: DECLINED_TOKEN, orderId: order.id })).status).toBe(402);
    expect((await fx.pay(order.cookie, { token: DECLINED_TOKEN, orderId: order.id })).status).toBe(402);
    expect((await fx.pay(order.cookie, { token: INVALID_TOKEN, orderId: order.id })).status).toBe(400);
    expect((await fx.pay(order.cookie, { token: INVALID_TOKEN, orderId: order.id })).status).toBe(400);
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(201);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
  });

  test('when Stripe does not know the token, then 400 naming token and the order stays payable', async () => {
    const order = await fx.order();
    const res = await fx.pay(order.cookie, { token: INVALID_TOKEN, orderId: order.id });
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 'token');
    expect(await fx.payments(order.id)).toEqual([]);
  });

  test('when 20 requests for one order arrive at once, then one charge, one payment, one event', async () => {
    const order = await fx.order();
    const tokens = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'tok_visa' : `tok_other_${i}`));
    const responses = await Promise.all(tokens.map((token) => fx.pay(order.cookie, { token, orderId: order.id })));
    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((status) => status === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((status) => [201, 400, 409].includes(status))).toBe(true);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    expect(await fx.payments(order.id)).toHaveLength(1);
    const ids = new Set(responses.filter((res) => res.status === 201).map((res) => res.body.id));
    expect(ids.size).toBe(1);
    await eventually(() => expect(fx.spy.forOrder(order.id)).toHaveLength(1));
    await sleep(500);
    expect(fx.spy.forOrder(order.id)).toHaveLength(1);
  });
});

describe('POST /api/payments: PaymentMethods (contract 2026-11-29)', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['both token and paymentMethodId are sent', { token: 'tok_visa', paymentMethodId: VISA_PM, orderId: newId() }],
    ['paymentMethodId is not a pm_ id', { paymentMethodId: 'card_123', orderId: newId() }],
    ['paymentMethodId is a number', { paymentMethodId: 7, orderId: newId() }],
  ];
  test.each(cases)('when %s, then 400 naming paymentMethodId', async (_kind, body) => {
    const res = await fx.pay(sessionCookie({ id: 'u1' }), body);
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 'paymentMethodId');
  });

  test('when an order is paid with a PaymentMethod, then 201 and one PaymentIntent confirmed with it, its charge recorded', async () => {
    const order = await fx.order({ price: 12 });
    const res = await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id });
    expect(res.status).toBe(201);
    const [intent] = fx.stripe!.intentsFor(order.id);
    expect(fx.stripe!.intentsFor(order.id)).toHaveLength(1);
    expect(intent).toMatchObject({ status: 'succeeded', paymentMethod: VISA_PM, amount: 1200 });
    expect(intent.metadata).toEqual({ orderId: order.id, paymentId: res.body.id });
    const create = fx.stripe!.requestsFor(order.id).find((req) => req.path === '/v1/payment_intents')!;
    expect(create.params).toMatchObject({ confirm: 'true', 'automatic_payment_methods[enabled]': 'true', 'automatic_payment_methods[allow_redirects]': 'never' });
    expect(res.body).toMatchObject({ stripeId: intent.latestCharge, paymentIntentId: intent.id, status: 'succeeded', amount: 1200 });
    await eventually(() => expect(fx.spy.forOrder(order.id)).toMatchObject([{ stripeId: intent.latestCharge, paymentIntentId: intent.id }]));
  });

  test('when the PaymentMethod is declined, then 402 with Stripe\'s message and the order stays payable', async () => {
    const order = await fx.order();
    const res = await fx.pay(order.cookie, { paymentMethodId: DECLINED_PM, orderId: order.id });
    expect(res.status).toBe(402);
    expect(res.body).toEqual({ errors: [{ message: 'Your card was declined.' }] });
    expect(await fx.payments(order.id)).toEqual([]);
    expect((await fx.pay(order.cookie, { paymentMethodId: VISA_PM, orderId: order.id })).status).toBe(201);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
  });

  test('when Stripe does not know the PaymentMethod, then 400 naming paymentMethodId', async () => {
    const order = await fx.order();
    const res = await fx.pay(order.cookie, { paymentMethodId: 'pm_doesNotExist', orderId: order.id });
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 'paymentMethodId');
    expect(await fx.payments(order.id)).toEqual([]);
  });
});

describe('POST /api/payments: when Stripe fails', () => {
  test('when Stripe answers 500, then 502, nothing paid, and recovery charges it once Stripe is back', async () => {
    const order = await fx.order();
    fx.stripe!.mode = 'error500';
    const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(502);
    expectErrorShape(res.body);
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'charging' }]);

    const retry = await fx.pay(order.cookie, { token: 'tok_other', orderId: order.id });
    expect(retry.status).toBe(409);

    fx.stripe!.mode = 'normal';
    await eventually(async () => expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded' }]));
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    const keys = new Set(fx.stripe!.requestsFor(order.id).map((req) => req.idempotencyKey));
    expect(keys.size).toBe(1);
    await eventually(() => expect(fx.spy.forOrder(order.id)).toHaveLength(1));
  });

  test('when Stripe hangs past the timeout, then 502 and the attempt is resolved later without a second charge', async () => {
    const order = await fx.order();
    fx.stripe!.mode = 'hang';
    const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(502);
    expectErrorShape(res.body);
    fx.stripe!.mode = 'normal';
    await eventually(async () => expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded' }]));
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    await eventually(() => expect(fx.spy.forOrder(order.id)).toHaveLength(1));
  });

  test('when Stripe charges and the connection drops, then 502, and recovery records that same charge', async () => {
    const order = await fx.order();
    fx.stripe!.mode = 'chargeThenDrop';
    const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(502);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    fx.stripe!.mode = 'normal';

    const [charge] = fx.stripe!.chargesFor(order.id);
    await eventually(async () => expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded', stripeId: charge.id }]));
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    await eventually(() => expect(fx.spy.forOrder(order.id)).toMatchObject([{ orderId: order.id, stripeId: charge.id }]));
  });

  test('when Stripe charged, the answer was lost and the retry is rate limited, then 503 and the charge is still recorded once', async () => {
    const order = await fx.order();
    fx.stripe!.mode = 'chargeThenDrop';
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(502);
    fx.stripe!.mode = 'rateLimited';
    const limited = await eventually(async () => {
      const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
      expect(res.status).toBe(503);
      return res;
    });
    expectErrorShape(limited.body);
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'charging' }]);
    fx.stripe!.mode = 'normal';
    const [charge] = fx.stripe!.chargesFor(order.id);
    await eventually(async () => expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded', stripeId: charge.id }]));
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    await eventually(() => expect(fx.spy.forOrder(order.id)).toHaveLength(1));
  });

  test('when the client retries the same token after a 502, then it gets the payment and Stripe charged once', async () => {
    const order = await fx.order();
    fx.stripe!.mode = 'chargeThenDrop';
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(502);
    fx.stripe!.mode = 'normal';
    const retry = await eventually(async () => {
      const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
      expect(res.status).toBe(201);
      return res;
    });
    expect(retry.body.stripeId).toBe(fx.stripe!.chargesFor(order.id)[0].id);
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
  });

  test('when the process died after Stripe charged and before recording, then recovery records it with no second charge', async () => {
    const order = await fx.order({ price: 42 });
    // What a crashed instance leaves behind: its claim, and a charge Stripe made with the claim's key.
    const { MongoPaymentClaims } = await import('../src/data-access/payment-claims');
    const { OrderClaims } = await import('../src/payments/claim-order');
    const { AttemptLimit } = await import('../src/payments/attempt-limit');
    const claims = new OrderClaims(new MongoPaymentClaims(fx.paymentModel, 60_000), new AttemptLimit(10), 60_000);
    const stored = await fx.orderModel.findById(order.id).lean();
    const claimedOrHeld = await claims.claim({ ...stored!, userId: order.userId }, { card: 'pm_card_visa', method: 'paymentMethodId', amount: 4200, currency: 'usd' });
    const claim = 'claimed' in claimedOrHeld ? claimedOrHeld.claimed : undefined;
    const { default: Stripe } = await import('stripe');
    const stripe = new Stripe('sk_test_crashed', { host: '127.0.0.1', port: Number(new URL(fx.stripe!.url).port), protocol: 'http' });
    await stripe.paymentIntents.create(
      {
        amount: 4200,
        currency: 'usd',
        payment_method: 'pm_card_visa',
        automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
        confirm: true,
        metadata: { orderId: order.id, paymentId: String(claim!._id) },
        description: `Order ${order.id}`,
      },
      { idempotencyKey: claim!.idempotencyKey },
    );
    await fx.paymentModel.updateOne({ _id: claim!._id }, { $set: { leaseUntil: new Date(Date.now() - 1000) } });

    await eventually(async () => expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded' }]));
    expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
    const [payment] = await fx.payments(order.id);
    expect(payment.stripeId).toBe(fx.stripe!.chargesFor(order.id)[0].id);
    await eventually(() => expect(fx.spy.forOrder(order.id)).toHaveLength(1));
  });
});

describe('logs', () => {
  test('when requests carry card tokens, cookies and JWTs, then none of them, nor the Stripe key, is logged', async () => {
    const order = await fx.order();
    const token = 'tok_secretcardtoken123';
    expect((await fx.pay(order.cookie, { token, orderId: order.id })).status).toBe(201);
    await fx.pay(sessionCookie({ id: 'u1' }, 'forged-key'), { token: 'tok_forgedsecret', orderId: order.id });
    await eventually(() => expect(fx.spy.forOrder(order.id)).toHaveLength(1));

    const jwtText = Buffer.from(order.cookie.slice('session='.length), 'base64').toString();
    const all = fx.logs.lines.join('\n');
    expect(fx.logs.find({ msg: 'request', path: '/api/payments', status: 201 }).length).toBeGreaterThan(0);
    for (const secret of [token, 'tok_forgedsecret', order.cookie.slice('session='.length), JSON.parse(jwtText).jwt, 'sk_test_payments', JWT_KEY]) {
      expect(all).not.toContain(secret);
    }
  });
});

describe('metrics', () => {
  test('when payments and events have happened, then /metrics reports them in Prometheus format', async () => {
    const order = await fx.order();
    await fx.pay(order.cookie, { token: DECLINED_TOKEN, orderId: order.id });
    expect((await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id })).status).toBe(201);
    await eventually(() => expect(fx.spy.forOrder(order.id)).toHaveLength(1));

    const { default: request } = await import('supertest');
    // The outbox clears the debt just after publishing: scrape once it has.
    const res = await eventually(async () => {
      const scraped = await request(fx.service.server).get('/metrics');
      expect(scraped.text).toMatch(/^payments_outbox_backlog 0$/m);
      return scraped;
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const value = (pattern: RegExp) => Number(res.text.match(pattern)?.[1]);
    expect(value(/^payments_charge_attempts_total\{outcome="paid"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^payments_charge_attempts_total\{outcome="declined"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^payments_charge_duration_seconds_count\{outcome="paid"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^payments_events_handled_total\{subject="order:created",outcome="acked"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^payments_http_request_duration_seconds_count\{route="\/api\/payments",status="201"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^payments_outbox_backlog (\d+)$/m)).toBe(0);
    expect(res.text).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});
