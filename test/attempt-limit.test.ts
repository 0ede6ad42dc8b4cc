import request from 'supertest';
import { Service } from '../src/service';
import { DECLINED_TOKEN, FakeStripe } from './support/fake-stripe';
import { natsServer, NatsTarget, newId, OrdersPublisher, serviceConfig, sessionCookie, startTestService, unique } from './support/harness';
import { eventually } from './support/eventually';
import { orderModel } from '../src/data-access/order-model';
import { paymentModel } from '../src/data-access/payment-model';

/** Waits until the next window of `windowMs` (aligned to the clock, as the limit's are) has just begun. */
async function startOfNextWindow(windowMs: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, windowMs - (Date.now() % windowMs) + 50));
}

describe('per-user payment attempt limit', () => {
  const database = unique('attempt-limit');
  const queueGroup = unique('payments-service');
  let nats: NatsTarget;
  let stripe: FakeStripe;
  let services: Service[];
  let publisher: OrdersPublisher;

  beforeAll(async () => {
    nats = await natsServer();
    stripe = await FakeStripe.start();
    publisher = await OrdersPublisher.connect(nats);
    const config = () => serviceConfig({ database, nats, stripeUrl: stripe.url, extra: { PAYMENT_ATTEMPTS_PER_MINUTE: '3' } });
    services = [await startTestService(config(), { queueGroup }), await startTestService(config(), { queueGroup })];
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await publisher.close();
    await stripe.stop();
    await nats.stop();
  });

  /** Payable orders of the user, once the service has replicated them. */
  async function orders(userId: string, count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, () => newId());
    for (const id of ids) await publisher.created({ id, userId, price: 10 });
    const stored = orderModel(services[0].connection);
    await eventually(async () => expect(await stored.countDocuments({ _id: { $in: ids } })).toBe(count));
    return ids;
  }

  const attempt = (service: Service, cookie: string, orderId: string, token = DECLINED_TOKEN) =>
    request(service.server).post('/api/payments').set('Cookie', cookie).send({ token, orderId });

  test('when a card tester goes over the limit across two instances, then 429 in the error shape, and other users are unaffected', async () => {
    const tester = newId();
    const cookie = sessionCookie({ id: tester });
    const [order] = await orders(tester, 1);
    // A window of a minute: start at the beginning of one, so four attempts cannot straddle two.
    if (60_000 - (Date.now() % 60_000) < 15_000) await startOfNextWindow(60_000);

    // Card after card on one order: each declined one frees the order for the next, and each counts.
    for (let i = 0; i < 3; i += 1) expect((await attempt(services[i % 2], cookie, order)).status).toBe(402);
    const limited = await attempt(services[1], cookie, order);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ errors: [{ message: expect.any(String) }] });
    // The next window opens within the minute, and the answer says when.
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.body.errors[0].message).toContain(`${retryAfter} s`);
    expect((await attempt(services[0], cookie, order)).status).toBe(429);
    expect(stripe.chargesFor(order)).toHaveLength(0);
    // Each admitted attempt is on record as failed, with Stripe's reason; the refused ones left nothing.
    const recorded = await paymentModel(services[0].connection).find({ orderId: order }).lean();
    expect(recorded.map((payment) => [payment.state, payment.failure?.kind])).toEqual([
      ['failed', 'declined'],
      ['failed', 'declined'],
      ['failed', 'declined'],
    ]);

    const honest = newId();
    const [honestOrder] = await orders(honest, 1);
    expect((await attempt(services[1], sessionCookie({ id: honest }), honestOrder, 'tok_visa')).status).toBe(201);
    expect(stripe.chargesFor(honestOrder)).toHaveLength(1);
  });

  test('when a user asks for unknown or foreign orders, then nothing reaches Stripe and no attempt is counted', async () => {
    const userId = newId();
    const cookie = sessionCookie({ id: userId });
    const [foreign] = await orders(newId(), 1);
    for (let i = 0; i < 4; i += 1) expect((await attempt(services[i % 2], cookie, newId())).status).toBe(404);
    expect((await attempt(services[0], cookie, foreign)).status).toBe(401);
    const [own] = await orders(userId, 1);
    expect((await attempt(services[1], cookie, own, 'tok_visa')).status).toBe(201);
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

    test('when a locked-out user keeps retrying, then the refused attempts do not count and Retry-After is when the next one fits', async () => {
      const userId = newId();
      const cookie = sessionCookie({ id: userId });
      const [order] = await orders(userId, 1);
      await startOfNextWindow(WINDOW_MS);
      for (let i = 0; i < 3; i += 1) expect((await attempt(short[i % 2], cookie, order)).status).toBe(402);
      const first = await attempt(short[1], cookie, order);
      expect(first.status).toBe(429);
      const retryAfter = Number(first.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);

      // Retrying all along (each refused) must not push the end of the lock further away.
      // Retry-After is rounded up, so up to a second before it every retry is still refused.
      const until = Date.now() + retryAfter * 1000;
      const statuses: number[] = [];
      while (Date.now() < until - 1000) {
        statuses.push((await attempt(short[statuses.length % 2], cookie, order)).status);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(statuses.length).toBeGreaterThanOrEqual(2);
      expect(new Set(statuses)).toEqual(new Set([429]));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now())));
      expect((await attempt(short[0], cookie, order, 'tok_visa')).status).toBe(201);
    });

    test('when ten attempts race across two instances, then at most the limit get through and the refused ones leave no trace', async () => {
      const userId = newId();
      const cookie = sessionCookie({ id: userId });
      const ids = await orders(userId, 10);
      await startOfNextWindow(WINDOW_MS);
      const statuses = await Promise.all(ids.map((orderId, i) => attempt(short[i % 2], cookie, orderId).then((res) => res.status)));
      const admitted = statuses.filter((status) => status === 402).length;
      expect(admitted).toBeGreaterThanOrEqual(1);
      expect(admitted).toBeLessThanOrEqual(3);
      expect(statuses.filter((status) => status !== 402 && status !== 429)).toEqual([]);
      expect(await paymentModel(short[0].connection).countDocuments({ userId })).toBe(admitted);
    });
  });
});
