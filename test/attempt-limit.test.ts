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
    expect(limited.headers['retry-after']).toBe('60');
    expect((await attempt(services[0], attacker)).status).toBe(429);

    const publisher = await OrdersPublisher.connect(nats);
    const order = { id: newId(), userId: 'honest-user', price: 10 };
    await publisher.created(order);
    await publisher.close();
    await eventually(async () => expect(await orderModel(services[0].connection).findById(order.id).lean()).not.toBeNull());
    expect((await attempt(services[1], sessionCookie({ id: 'honest-user' }), order.id)).status).toBe(201);
    expect(stripe.charges).toHaveLength(1);
  });
});
