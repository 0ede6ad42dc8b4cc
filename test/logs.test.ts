import { Writable } from 'node:stream';
import request from 'supertest';
import jwt from 'jsonwebtoken';
import { NOT_AUTHORIZED } from '../src/entry-points/http/current-user';
import { createLogger } from '../src/logger';
import { eventually } from './support/eventually';
import { cookieWithJwt, JWT_KEY, newId, sessionCookie } from './support/harness';
import { PaymentsFixture } from './support/payments-fixture';

const fx = new PaymentsFixture();
beforeAll(() => fx.start({ stripe: 'fake' }));
afterAll(() => fx.stop());

const post = (cookie: string | undefined, body: object, requestId?: string) => {
  const req = request(fx.service.server).post('/api/payments');
  if (cookie) req.set('Cookie', cookie);
  if (requestId) req.set('X-Request-Id', requestId);
  return req.send(body);
};

describe('one payment, traceable through the logs', () => {
  test('when an order is paid, then every line the request causes carries its request id and the order, and the request line names the user', async () => {
    const order = await fx.order();
    const requestId = `trace-${newId()}`;
    const res = await post(order.cookie, { token: 'tok_visa', orderId: order.id }, requestId);
    expect(res.status).toBe(201);
    await eventually(() => expect(fx.logs.find({ msg: 'event published', orderId: order.id })).toHaveLength(1));

    const lines = fx.logs.find({ requestId });
    const messages = lines.map((line) => line.msg);
    expect(messages).toEqual(expect.arrayContaining(['payment recorded', 'event published', 'request']));
    for (const line of lines) expect({ msg: line.msg, orderId: line.orderId }).toEqual({ msg: line.msg, orderId: order.id });
    expect(fx.logs.find({ msg: 'request', requestId })).toEqual([
      expect.objectContaining({ userId: order.userId, orderId: order.id, status: 201, path: '/api/payments' }),
    ]);
    // No key twice on a line (a child logger's binding and the context).
    for (const raw of fx.logs.lines.filter((line) => line.includes(requestId))) {
      expect(raw.match(/"orderId":/g)).toHaveLength(1);
      expect(raw.match(/"requestId":/g)).toHaveLength(1);
    }
  });

  test('when order:created is handled, then the lines about it name the order', async () => {
    const order = await fx.order();
    // The handler logs once its write is done: the fixture can see the order a moment before the line.
    const handled = await eventually(() => {
      const lines = fx.logs.find({ msg: 'event handled', subject: 'order:created', orderId: order.id });
      expect(lines).toHaveLength(1);
      return lines;
    });
    expect(handled[0]).toMatchObject({ outcome: 'acked' });
  });

  test.each([
    ['an unknown order', () => ({ cookie: sessionCookie({ id: newId() }), body: { token: 'tok_visa', orderId: newId() } }), 404, 'Order not found'],
    ['a token that is not a card token', () => ({ cookie: sessionCookie({ id: newId() }), body: { token: 'tok visa', orderId: newId() } }), 400, 'token is not a card token'],
    ['no session', () => ({ cookie: undefined, body: { token: 'tok_visa', orderId: newId() } }), 401, NOT_AUTHORIZED.noCookie],
  ] as const)('when a request is refused for %s, then its request line says why', async (_case, make, status, reason) => {
    const { cookie, body } = make();
    const requestId = `refused-${newId()}`;
    const res = await post(cookie, body, requestId);
    expect(res.status).toBe(status);
    expect(fx.logs.find({ msg: 'request', requestId })).toEqual([expect.objectContaining({ status, reason })]);
  });

  test('when a request succeeds, then its line has no reason', async () => {
    const requestId = `ok-${newId()}`;
    await request(fx.service.server).get('/healthz').set('X-Request-Id', requestId);
    await post(undefined, { token: 'tok_visa', orderId: newId() }, requestId);
    const line = fx.logs.find({ msg: 'request', requestId, status: 200 });
    expect(line).toHaveLength(1);
    expect(line[0]).not.toHaveProperty('reason');
  });
});

describe('a 401 says why, in its answer and its request line', () => {
  const base64 = (json: object) => Buffer.from(JSON.stringify(json)).toString('base64');
  test.each<[string, () => string | undefined, string]>([
    ['no cookie', () => undefined, NOT_AUTHORIZED.noCookie],
    ['another cookie only', () => 'theme=dark', NOT_AUTHORIZED.noCookie],
    ['a cookie that is not base64 JSON', () => 'session=%%%not-base64{', NOT_AUTHORIZED.unreadableCookie],
    ['a cookie without a jwt', () => `session=${base64({ user: 'u1' })}`, NOT_AUTHORIZED.noToken],
    ['a jwt that is not a string', () => `session=${base64({ jwt: { id: 'u1' } })}`, NOT_AUTHORIZED.noToken],
    ['a token that is not a JWT', () => cookieWithJwt('not.a.jwt'), NOT_AUTHORIZED.notJwt],
    ['a token signed with another key (the local stack restarted)', () => sessionCookie({ id: 'u1' }, 'the-key-of-an-earlier-start'), NOT_AUTHORIZED.badSignature],
    ['a token signed with HS512', () => sessionCookie({ id: 'u1' }, JWT_KEY, 'HS512'), NOT_AUTHORIZED.notHs256],
    ['a token with alg none', () => cookieWithJwt(jwt.sign({ id: 'u1', email: 'a@b.c' }, '', { algorithm: 'none' })), NOT_AUTHORIZED.notHs256],
    ['an expired token', () => cookieWithJwt(jwt.sign({ id: 'u1', email: 'a@b.c', exp: 1 }, JWT_KEY)), NOT_AUTHORIZED.expired],
    ['a token not valid yet', () => cookieWithJwt(jwt.sign({ id: 'u1', email: 'a@b.c', nbf: Math.floor(Date.now() / 1000) + 3600 }, JWT_KEY)), NOT_AUTHORIZED.notYetValid],
    ['a token without a user id', () => cookieWithJwt(jwt.sign({ email: 'a@b.c' }, JWT_KEY)), NOT_AUTHORIZED.noUser],
  ])('when the request carries %s, then the 401 and its request line say so, and neither holds the cookie', async (_case, cookie, reason) => {
    const requestId = `unauthorized-${newId()}`;
    const sent = cookie();
    const res = await post(sent, { token: 'tok_visa', orderId: newId() }, requestId);
    expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: { errors: [{ message: reason }] } });
    const lines = fx.logs.find({ msg: 'request', requestId });
    expect(lines).toEqual([expect.objectContaining({ status: 401, reason })]);
    const value = sent?.slice(sent.indexOf('=') + 1);
    if (value) expect(JSON.stringify(lines)).not.toContain(value);
  });
});

describe('secrets never reach the logs', () => {
  test('when requests carry card tokens, cookies and JWTs, refused or not, then none of them, nor the keys, is logged', async () => {
    const order = await fx.order();
    const token = 'tok_tracedsecretcard42';
    expect((await post(order.cookie, { token, orderId: order.id })).status).toBe(201);
    await post(sessionCookie({ id: order.userId }, 'forged-key'), { token: 'tok_forgedsecret7', orderId: order.id });
    await post(order.cookie, { token: 'tok badsecret 99', orderId: order.id });
    await post(order.cookie, { token: 'tok_unknownordersecret', orderId: newId() });
    await request(fx.service.server).post('/api/payments').set('Cookie', order.cookie).set('Authorization', `Bearer ${token}`)
      .set('X-Request-Id', token.repeat(4)).send({ token: 'tok_headersecret', orderId: order.id });
    await eventually(() => expect(fx.spy.forOrder(order.id)).toHaveLength(1));

    const cookieValue = order.cookie.slice('session='.length);
    const jwt = JSON.parse(Buffer.from(cookieValue, 'base64').toString()).jwt as string;
    const all = fx.logs.lines.join('\n');
    for (const secret of [token, 'tok_forgedsecret7', 'badsecret', 'tok_unknownordersecret', 'tok_headersecret', cookieValue, jwt, jwt.split('.')[2], 'sk_test_payments', JWT_KEY]) {
      expect({ secret, logged: all.includes(secret) }).toEqual({ secret, logged: false });
    }
  });

  test('when a secret is passed to the logger by mistake, then the redaction list censors it', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => void (lines.push(chunk.toString()), done()) });
    const logger = createLogger('info', sink);
    logger.info({
      token: 'tok_a1', jwt: 'eyJ.a.b', cookie: 'session=abc', headers: { cookie: 'session=def', authorization: 'Bearer ghi' },
      stripeKey: 'sk_test_k1', jwtKey: 'jk1', clientSecret: 'pi_1_secret_2', secret: 'whsec_1', password: 'pw1',
      config: { jwtKey: 'jk2', key: 'sk_live_k2' },
    }, 'oops');
    const line = JSON.parse(lines[0]);
    for (const value of ['tok_a1', 'eyJ.a.b', 'session=abc', 'session=def', 'Bearer ghi', 'sk_test_k1', 'jk1', 'pi_1_secret_2', 'whsec_1', 'pw1', 'jk2', 'sk_live_k2']) {
      expect(lines[0]).not.toContain(value);
    }
    expect(line).toMatchObject({ token: '[redacted]', clientSecret: '[redacted]', secret: '[redacted]', config: { jwtKey: '[redacted]', key: '[redacted]' } });
  });
});

describe('request metrics', () => {
  test('when POST /api/payments is refused before a route matched (413, 415), then /metrics labels it /api/payments, not unmatched', async () => {
    const big = await post(sessionCookie({ id: newId() }), { token: 'x'.repeat(11_000), orderId: newId() });
    expect(big.status).toBe(413);
    const latin1 = await request(fx.service.server).post('/api/payments').set('Content-Type', 'application/json; charset=latin1')
      .send(JSON.stringify({ token: 'tok_visa', orderId: newId() }));
    expect(latin1.status).toBe(415);

    const metrics = (await request(fx.service.server).get('/metrics')).text;
    expect(metrics).toMatch(/^payments_http_request_duration_seconds_count\{route="\/api\/payments",status="413"\} 1$/m);
    expect(metrics).toMatch(/^payments_http_request_duration_seconds_count\{route="\/api\/payments",status="415"\} 1$/m);
    expect(metrics).not.toMatch(/route="unmatched",status="41[35]"/);
  });
});
