import request, { Response } from 'supertest';
import { startFerretDB } from '../scripts/servers';
import { orderModel } from '../src/data-access/order-model';
import { Service } from '../src/service';
import { eventually } from './support/eventually';
import { DECLINED_TOKEN, THREE_D_SECURE_PM } from './support/fake-stripe';
import {
  natsServer, NatsTarget, newId, OrdersPublisher, serviceConfig, sessionCookie, startTestService, unique,
} from './support/harness';
import { LogCapture } from './support/log-capture';
import { OpenApiContract, openApiContract } from './support/openapi-contract';
import { PaymentsFixture } from './support/payments-fixture';

/**
 * openapi.yaml against the running service: every status the service can be made
 * to answer is produced for real, and its body validated against what the spec
 * documents for that operation, status and media type.
 */
let contract: OpenApiContract;

/** Statuses produced for real and found documented, by "METHOD path". */
const produced = new Map<string, Set<string>>();

/** The answer to `method url` is documented (operation, status, media type) and its body validates against the spec. */
function expectDocumented(res: Response, method: string, url: string): void {
  const problems = contract.responseProblems(method, url, { status: res.status, contentType: res.headers['content-type'], body: res.headers['content-type']?.startsWith('application/json') ? res.body : res.text });
  expect({ status: res.status, body: res.body, problems }).toEqual({ status: res.status, body: res.body, problems: [] });
  const operation = contract.operation(method, url)!;
  const key = `${operation.method.toUpperCase()} ${operation.path}`;
  produced.set(key, (produced.get(key) ?? new Set()).add(String(res.status)));
}

const fx = new PaymentsFixture();
const WEBHOOK_SECRET = 'whsec_openapi_test';
beforeAll(async () => {
  contract = await openApiContract();
  await fx.start({ stripe: 'fake', env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
});
afterAll(() => fx.stop());
afterEach(() => {
  fx.stripe!.mode = 'normal';
});

const pay = (cookie: string | undefined, body: unknown) => fx.pay(cookie, body);

describe('POST /api/payments: real responses against the spec', () => {
  test('when an order is paid, then 201 and the body is a documented Payment', async () => {
    const order = await fx.order({ price: 19.99 });
    const body = { token: 'tok_visa', orderId: order.id };
    expect(contract.requestBodyProblems('post', '/api/payments', body)).toEqual([]);
    const res = await pay(order.cookie, body);
    expect(res.status).toBe(201);
    expectDocumented(res, 'post', '/api/payments');
    expect(res.body).toMatchObject({ orderId: order.id, amount: 1999, currency: 'usd', status: 'succeeded' });
    expect(res.body.stripeId).toBe(fx.stripe!.chargesFor(order.id)[0].id);
  });

  test('when the same token is resent for the paid order, then 201 again with the same documented Payment', async () => {
    const order = await fx.order();
    const first = await pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    const again = await pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(again.status).toBe(201);
    expectDocumented(again, 'post', '/api/payments');
    expect(again.body).toEqual(first.body);
  });

  // Each body breaks the spec's PaymentRequest schema; the service must agree with 400 naming the field.
  const invalid: Array<[string, Record<string, unknown>, 'token' | 'orderId']> = [
    ['token is missing', { orderId: newId() }, 'token'],
    ['token is empty', { token: '', orderId: newId() }, 'token'],
    ['token is blank', { token: '   ', orderId: newId() }, 'token'],
    ['token is a number', { token: 42, orderId: newId() }, 'token'],
    ['token is an operator object', { token: { $gt: '' }, orderId: newId() }, 'token'],
    ['token is over 255 characters', { token: 't'.repeat(256), orderId: newId() }, 'token'],
    ['orderId is missing', { token: 'tok_visa' }, 'orderId'],
    ['orderId is 23 hex digits', { token: 'tok_visa', orderId: newId().slice(1) }, 'orderId'],
    ['orderId is 25 hex digits', { token: 'tok_visa', orderId: `${newId()}a` }, 'orderId'],
    ['orderId is not hex', { token: 'tok_visa', orderId: 'zzzzzzzzzzzzzzzzzzzzzzzz' }, 'orderId'],
    ['orderId is an array', { token: 'tok_visa', orderId: [newId()] }, 'orderId'],
    ['orderId is an operator object', { token: 'tok_visa', orderId: { $ne: null } }, 'orderId'],
    ['orderId is 0x and 22 hex digits', { token: 'tok_visa', orderId: `0x${newId().slice(2)}` }, 'orderId'],
    ['orderId is 0h and 22 hex digits', { token: 'tok_visa', orderId: `0h${newId().slice(2)}` }, 'orderId'],
  ];
  test.each(invalid)('when %s, then the spec rejects the body and the service answers a documented 400 naming the field', async (_kind, body, field) => {
    expect(contract.requestBodyProblems('post', '/api/payments', body)).not.toEqual([]);
    const res = await pay(sessionCookie({ id: newId() }), body);
    expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: { errors: [{ message: expect.any(String), field }] } });
    expectDocumented(res, 'post', '/api/payments');
  });

  test('when the order is cancelled, then a documented 400 without a field', async () => {
    const order = await fx.order({ cancelled: true });
    const res = await pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).not.toHaveProperty('field');
    expectDocumented(res, 'post', '/api/payments');
  });

  test('when the body is not JSON, then a documented 400 without a field', async () => {
    const res = await request(fx.service.server)
      .post('/api/payments')
      .set('Cookie', sessionCookie({ id: newId() }))
      .set('Content-Type', 'application/json')
      .send('{"token": "tok_visa", ');
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).not.toHaveProperty('field');
    expectDocumented(res, 'post', '/api/payments');
  });

  test('when there is no session, then a documented 401', async () => {
    const res = await pay(undefined, { token: 'tok_visa', orderId: newId() });
    expect(res.status).toBe(401);
    expectDocumented(res, 'post', '/api/payments');
  });

  test('when the order belongs to another user, then a documented 401', async () => {
    const order = await fx.order();
    const res = await pay(sessionCookie({ id: newId() }), { token: 'tok_visa', orderId: order.id });
    expect(res.status).toBe(401);
    expectDocumented(res, 'post', '/api/payments');
    expect(await fx.payments(order.id)).toEqual([]);
  });

  test('when the card is declined, then a documented 402 with Stripe\'s message', async () => {
    const order = await fx.order();
    const res = await pay(order.cookie, { token: DECLINED_TOKEN, orderId: order.id });
    expect(res.status).toBe(402);
    expectDocumented(res, 'post', '/api/payments');
    expect(res.body.errors[0].message).toBe('Your card was declined.');
  });

  test('when the order is unknown, then a documented 404', async () => {
    const res = await pay(sessionCookie({ id: newId() }), { token: 'tok_visa', orderId: newId() });
    expect(res.status).toBe(404);
    expectDocumented(res, 'post', '/api/payments');
  });

  test('when Stripe fails, then a documented 502; and while that claim is unresolved another token gets a documented 409', async () => {
    const order = await fx.order();
    fx.stripe!.mode = 'error500';
    const failed = await pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    expect(failed.status).toBe(502);
    expectDocumented(failed, 'post', '/api/payments');
    expect(await fx.payments(order.id)).toMatchObject([{ state: 'charging' }]);

    const busy = await pay(order.cookie, { token: 'tok_mastercard', orderId: order.id });
    expect(busy.status).toBe(409);
    expectDocumented(busy, 'post', '/api/payments');

    fx.stripe!.mode = 'normal';
    await eventually(async () => expect(await fx.payments(order.id)).toMatchObject([{ state: 'succeeded' }]));
  });

  test('when the body is over 10 kB, then a documented 413', async () => {
    const res = await pay(sessionCookie({ id: newId() }), { token: 'x'.repeat(11_000), orderId: newId() });
    expect(res.status).toBe(413);
    expectDocumented(res, 'post', '/api/payments');
  });

  test('when the body\'s charset is not UTF, then a documented 415', async () => {
    const res = await request(fx.service.server)
      .post('/api/payments')
      .set('Cookie', sessionCookie({ id: newId() }))
      .set('Content-Type', 'application/json; charset=latin1')
      .send(JSON.stringify({ token: 'tok_visa', orderId: newId() }));
    expect(res.status).toBe(415);
    expectDocumented(res, 'post', '/api/payments');
  });
});

describe('contract additions (2026-11-29): real responses against the spec', () => {
  test('when the card needs 3-D Secure, then a documented 202 with the client secret', async () => {
    const order = await fx.order();
    const body = { paymentMethodId: THREE_D_SECURE_PM, orderId: order.id };
    expect(contract.requestBodyProblems('post', '/api/payments', body)).toEqual([]);
    expect(contract.requestBodyProblems('post', '/api/payments', { ...body, token: 'tok_visa' })).not.toEqual([]);
    const res = await pay(order.cookie, body);
    expect(res.status).toBe(202);
    expectDocumented(res, 'post', '/api/payments');
    expect(res.body).toMatchObject({ orderId: order.id, status: 'requires_action', clientSecret: fx.stripe!.intentsFor(order.id)[0].clientSecret });
  });

  test('when a payment is read by its owner, by id and by order, then documented 200s', async () => {
    const order = await fx.order();
    const paid = await pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    const byId = await request(fx.service.server).get(`/api/payments/${paid.body.id}`).set('Cookie', order.cookie);
    expect(byId.status).toBe(200);
    expectDocumented(byId, 'get', `/api/payments/${paid.body.id}`);
    const byOrder = await request(fx.service.server).get(`/api/payments?orderId=${order.id}`).set('Cookie', order.cookie);
    expect(byOrder.status).toBe(200);
    expectDocumented(byOrder, 'get', `/api/payments?orderId=${order.id}`);
  });

  test('when a payment is read without a session, malformed, or by someone else, then documented 401, 400 and 404', async () => {
    const order = await fx.order();
    const paid = await pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    const stranger = sessionCookie({ id: newId() });
    const cases: Array<[string, string | undefined, number]> = [
      [`/api/payments/${paid.body.id}`, undefined, 401],
      ['/api/payments/nope', stranger, 400],
      [`/api/payments/${paid.body.id}`, stranger, 404],
      [`/api/payments?orderId=${order.id}`, undefined, 401],
      ['/api/payments?orderId=nope', stranger, 400],
      [`/api/payments?orderId=${order.id}`, stranger, 404],
    ];
    for (const [url, cookie, status] of cases) {
      const req = request(fx.service.server).get(url);
      if (cookie) req.set('Cookie', cookie);
      const res = await req;
      expect({ url, status: res.status }).toEqual({ url, status });
      expectDocumented(res, 'get', url);
    }
  });
});

describe('the Stripe webhook: real responses against the spec', () => {
  test('when a signed event arrives, then a documented 200; unsigned, a documented 400', async () => {
    const order = await fx.order();
    const paid = await pay(order.cookie, { token: 'tok_visa', orderId: order.id });
    const event = fx.stripe!.event('charge.refunded', paid.body.stripeId);
    const post = (signature: string | undefined) => {
      const req = request(fx.service.server).post('/api/payments/webhooks/stripe').set('Content-Type', 'application/json');
      if (signature) req.set('Stripe-Signature', signature);
      return req.send(JSON.stringify(event));
    };
    const { default: Stripe } = await import('stripe');
    const signed = new Stripe('sk_test_x').webhooks.generateTestHeaderString({ payload: JSON.stringify(event), secret: WEBHOOK_SECRET });
    const ok = await post(signed);
    expect(ok.status).toBe(200);
    expectDocumented(ok, 'post', '/api/payments/webhooks/stripe');
    const bad = await post(undefined);
    expect(bad.status).toBe(400);
    expectDocumented(bad, 'post', '/api/payments/webhooks/stripe');
  });
});

describe('probes and metrics: real responses against the spec', () => {
  test('when /healthz is asked, then a documented 200', async () => {
    const res = await request(fx.service.server).get('/healthz');
    expect(res.status).toBe(200);
    expectDocumented(res, 'get', '/healthz');
  });

  test('when /readyz is asked with everything up, then a documented 200 with both checks true', async () => {
    const res = await request(fx.service.server).get('/readyz');
    expect(res.status).toBe(200);
    expectDocumented(res, 'get', '/readyz');
    expect(res.body).toEqual({ status: 'ready', checks: { mongo: true, nats: true }, down: [] });
  });

  test('when /metrics is asked, then a documented 200 in text/plain', async () => {
    const res = await request(fx.service.server).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expectDocumented(res, 'get', '/metrics');
    expect(res.text).toMatch(/^# HELP payments_/m);
  });
});

describe('a degraded instance: Stripe refuses its key, then its NATS goes away', () => {
  const ATTEMPTS_PER_MINUTE = 3;
  // An instance of its own (database, NATS server, queue group), sharing only the fake Stripe.
  let nats: NatsTarget;
  let orders: OrdersPublisher | undefined;
  let service: Service;

  beforeAll(async () => {
    nats = await natsServer();
    orders = await OrdersPublisher.connect(nats);
    const config = serviceConfig({
      database: unique('payments-degraded'),
      nats,
      stripeUrl: fx.stripe!.url,
      extra: { STRIPE_KEY: 'sk_test_not-a-valid-key', PAYMENT_ATTEMPTS_PER_MINUTE: String(ATTEMPTS_PER_MINUTE) },
    });
    service = await startTestService(config, { queueGroup: unique('payments-degraded'), logger: new LogCapture().logger });
  });

  afterAll(async () => {
    await orders?.close().catch(() => undefined);
    await service?.stop();
    await nats?.stop();
  });

  test('when no webhook secret is configured, then the webhook endpoint answers a documented 503', async () => {
    const res = await request(service.server).post('/api/payments/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', 't=1,v1=00').send('{}');
    expect(res.status).toBe(503);
    expectDocumented(res, 'post', '/api/payments/webhooks/stripe');
  });

  test('when Stripe refuses the service\'s credentials, then a documented 503 and nothing is recorded as paid', async () => {
    const userId = newId();
    const orderId = newId();
    await orders!.created({ id: orderId, userId, price: 12 });
    const replica = orderModel(service.connection);
    await eventually(async () => expect(await replica.findById(orderId).lean()).toMatchObject({ status: 'created' }));

    const res = await request(service.server)
      .post('/api/payments')
      .set('Cookie', sessionCookie({ id: userId }))
      .send({ token: 'tok_visa', orderId });
    expect(res.status).toBe(503);
    expectDocumented(res, 'post', '/api/payments');
    expect(fx.stripe!.chargesFor(orderId)).toEqual([]);
    expect(await service.connection.collection('payments').countDocuments({ orderId, state: 'succeeded' })).toBe(0);
  });

  test('when a user keeps trying past the attempt limit, then a documented 429', async () => {
    const userId = newId();
    const cookie = sessionCookie({ id: userId });
    const ids = Array.from({ length: ATTEMPTS_PER_MINUTE + 1 }, () => newId());
    for (const id of ids) await orders!.created({ id, userId, price: 12 });
    const replica = orderModel(service.connection);
    await eventually(async () => expect(await replica.countDocuments({ _id: { $in: ids } })).toBe(ids.length));
    // The limit's windows are minutes on the clock: keep the attempts inside one.
    if (60_000 - (Date.now() % 60_000) < 10_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - (Date.now() % 60_000) + 50));
    const statuses = [];
    for (const orderId of ids) {
      // Every attempt reaches Stripe (which refuses this instance's key: 503) and so counts.
      const res = await request(service.server).post('/api/payments').set('Cookie', cookie).send({ token: 'tok_visa', orderId });
      statuses.push(res.status);
      if (res.status === 429) expectDocumented(res, 'post', '/api/payments');
    }
    expect(statuses).toEqual([503, 503, 503, 429]);
  });

  test('when its NATS server stops, then /readyz answers a documented 503 naming nats', async () => {
    const publisher = orders;
    orders = undefined;
    await publisher?.close();
    await nats.stop();
    const res = await eventually(async () => {
      const probe = await request(service.server).get('/readyz');
      expect(probe.status).toBe(503);
      return probe;
    });
    expectDocumented(res, 'get', '/readyz');
    expect(res.body).toEqual({ status: 'unavailable', checks: { mongo: true, nats: false }, down: ['nats'] });
  });
});

describe('the spec and the service agree on what a valid body is', () => {
  const id = newId();
  const tokens = [
    'tok_visa', ' tok_visa ', '\ttok_visa\n', '\u00a0tok_visa', 'tok-visa_2', 't'.repeat(255), ` ${'t'.repeat(255)} `,
    '', '   ', 'tok visa', 'tok.visa', 'tok_visa!', 'tok_vis\u00e4', 't'.repeat(256), 'tok_visa\u0000',
  ];
  const orderIds = [id, id.toUpperCase(), ` ${id} `, `${id}\n`, `${id} x`, `x${id}`, id.slice(1)];
  const bodies = [
    ...tokens.map((token) => ({ token, orderId: newId() })),
    ...orderIds.map((orderId) => ({ token: 'tok_visa', orderId })),
  ];
  test.each(bodies.map((body) => [JSON.stringify(body), body] as const))('when the body is %s, then the service accepts it exactly when the spec does', async (_name, body) => {
    const specValid = contract.requestBodyProblems('post', '/api/payments', body).length === 0;
    const res = await pay(sessionCookie({ id: newId() }), body);
    // A valid body reaches the order lookup: an unknown order is 404.
    expect({ body, specValid, status: res.status }).toEqual({ body, specValid, status: specValid ? 404 : 400 });
    expectDocumented(res, 'post', '/api/payments');
  });
});

describe('a database outage', () => {
  let ferret: Awaited<ReturnType<typeof startFerretDB>>;
  let nats: NatsTarget;
  let service: Service;

  beforeAll(async () => {
    ferret = await startFerretDB();
    nats = await natsServer();
    const config = serviceConfig({ database: 'outage', nats, stripeUrl: fx.stripe!.url, extra: { MONGO_URI: `${ferret.uri}/outage` } });
    service = await startTestService(config, { queueGroup: unique('payments-outage'), logger: new LogCapture().logger });
  });
  afterAll(async () => {
    await service?.stop();
    await nats?.stop();
    await ferret?.stop();
  });

  test('when the database is down, then POST /api/payments answers a documented 503 (not 500), and the spec says so', async () => {
    await ferret.stop();
    const res = await request(service.server).post('/api/payments').set('Cookie', sessionCookie({ id: newId() })).send({ token: 'tok_visa', orderId: newId() });
    expect(res.status).toBe(503);
    expectDocumented(res, 'post', '/api/payments');
    const responses = contract.operation('post', '/api/payments')!.responses as Record<string, { description: string }>;
    expect(responses['503'].description).toMatch(/database/);
    expect(responses['500'].description).not.toMatch(/e\.g\. the database/);
  });
});

describe('coverage of the spec', () => {
  // 500 answers only an unexpected failure. Every other documented status must have been produced above.
  const NOT_PRODUCIBLE_HERE = new Set(['POST /api/payments 500']);

  test('when the tests above have run, then every other documented status was produced for real and validated', () => {
    const documented = contract.router.getOperations().flatMap(({ method, path: route, responses }) =>
      Object.keys(responses ?? {}).map((status) => `${method.toUpperCase()} ${route} ${status}`),
    );
    const seen = [...produced].flatMap(([operation, statuses]) => [...statuses].map((status) => `${operation} ${status}`));
    expect(documented.filter((entry) => !NOT_PRODUCIBLE_HERE.has(entry) && !seen.includes(entry))).toEqual([]);
  });
});
