import request from 'supertest';
import { Service } from '../src/service';
import { FakeStripe } from './support/fake-stripe';
import { natsServer, NatsTarget, newId, OrdersPublisher, serviceConfig, sessionCookie, startTestService, unique } from './support/harness';
import { eventually } from './support/eventually';
import { orderModel } from '../src/orders/order-model';

describe('per-user payment attempt limit', () => {
  const database = unique('attempt-limit');
  const queueGroup = unique('payments-service');
  let nats: NatsTarget;
  let stripe: FakeStripe;
  let services: Service[];

  beforeAll(async () => {
    nats = await natsServer();
    stripe = await FakeStripe.start();
    const config = () => serviceConfig({ database, nats, stripeUrl: stripe.url, extra: { PAYMENT_ATTEMPTS_PER_MINUTE: '3' } });
    services = [await startTestService(config(), { queueGroup }), await startTestService(config(), { queueGroup })];
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await stripe.stop();
    await nats.stop();
  });

  test('when a user goes over the limit across two instances, then 429 in the error shape, and other users are unaffected', async () => {
    const attacker = sessionCookie({ id: 'card-tester' });
    const attempt = (service: Service, cookie: string, orderId = newId()) =>
      request(service.server).post('/api/payments').set('Cookie', cookie).send({ token: 'tok_visa', orderId });

    // Attempts on unknown orders count too: card testing does not need a real order.
    expect((await attempt(services[0], attacker)).status).toBe(404);
    expect((await attempt(services[1], attacker)).status).toBe(404);
    expect((await attempt(services[0], attacker)).status).toBe(404);
    const limited = await attempt(services[1], attacker);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ errors: [{ message: expect.any(String) }] });
    // The oldest counted attempt leaves the minute within 60 s, and the answer says when.
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(55);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await attempt(services[0], attacker)).status).toBe(429);

    const publisher = await OrdersPublisher.connect(nats);
    const order = { id: newId(), userId: 'honest-user', price: 10 };
    await publisher.created(order);
    await publisher.close();
    await eventually(async () => expect(await orderModel(services[0].connection).findById(order.id).lean()).not.toBeNull());
    expect((await attempt(services[1], sessionCookie({ id: 'honest-user' }), order.id)).status).toBe(201);
    expect(stripe.charges).toHaveLength(1);
  });

  describe('with a window of 5 s', () => {
    const WINDOW_MS = 5000;
    let short: Service[];
    beforeAll(async () => {
      const config = () => serviceConfig({ database, nats, stripeUrl: stripe.url, extra: { PAYMENT_ATTEMPTS_PER_MINUTE: '3' } });
      short = [
        await startTestService(config(), { queueGroup, attemptWindowMs: WINDOW_MS }),
        await startTestService(config(), { queueGroup, attemptWindowMs: WINDOW_MS }),
      ];
    });
    afterAll(() => Promise.all(short.map((service) => service.stop())));

    const attempt = (service: Service, cookie: string) =>
      request(service.server).post('/api/payments').set('Cookie', cookie).send({ token: 'tok_visa', orderId: newId() });

    test('when a locked-out user keeps retrying, then the refused attempts do not count and Retry-After is when the next one fits', async () => {
      const cookie = sessionCookie({ id: newId() });
      for (let i = 0; i < 3; i += 1) expect((await attempt(short[i % 2], cookie)).status).toBe(404);
      const first = await attempt(short[1], cookie);
      expect(first.status).toBe(429);
      const retryAfter = Number(first.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);

      // Retrying all along (each refused) must not push the end of the lock further away.
      // Retry-After is rounded up, so up to a second before it every retry is still refused.
      const until = Date.now() + retryAfter * 1000;
      const statuses: number[] = [];
      while (Date.now() < until - 1000) {
        statuses.push((await attempt(short[statuses.length % 2], cookie)).status);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(statuses.length).toBeGreaterThanOrEqual(2);
      expect(new Set(statuses)).toEqual(new Set([429]));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now())));
      expect((await attempt(short[0], cookie)).status).toBe(404);
    });

    test('when ten attempts race across two instances, then at most the limit get through and the refused ones leave no trace', async () => {
      const userId = newId();
      const cookie = sessionCookie({ id: userId });
      const statuses = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(short[i % 2], cookie).then((res) => res.status)));
      const admitted = statuses.filter((status) => status === 404).length;
      expect(admitted).toBeGreaterThanOrEqual(1);
      expect(admitted).toBeLessThanOrEqual(3);
      expect(statuses.filter((status) => status !== 404 && status !== 429)).toEqual([]);
      expect(await short[0].connection.collection('payment_attempts').countDocuments({ userId })).toBe(admitted);
    });
  });
});
