import request from 'supertest';
import { startFerretDB } from '../scripts/servers';
import { orderModel } from '../src/data-access/order-model';
import { paymentModel } from '../src/data-access/payment-model';
import { Service } from '../src/service';
import { eventually } from './support/eventually';
import { FakeStripe } from './support/fake-stripe';
import { natsServer, NatsTarget, newId, OrdersPublisher, serviceConfig, sessionCookie, startTestService, unique } from './support/harness';
import { LogCapture } from './support/log-capture';

// A database of this file's own, frozen with SIGSTOP: connections stay open and nothing answers.
const DEADLINE_MS = 3000;
// Generous on a busy machine; the old code took up to 40 s.
const BOUND_MS = DEADLINE_MS + 3000;

describe('a request is answered within REQUEST_TIMEOUT_MS whatever hangs', () => {
  let ferret: Awaited<ReturnType<typeof startFerretDB>>;
  let frozen = false;
  let nats: NatsTarget;
  let orders: OrdersPublisher;
  let stripe: FakeStripe;
  let service: Service;
  const logs = new LogCapture();

  const freeze = () => {
    process.kill(ferret.pid, 'SIGSTOP');
    frozen = true;
  };
  const thaw = () => {
    if (frozen) process.kill(ferret.pid, 'SIGCONT');
    frozen = false;
  };

  beforeAll(async () => {
    ferret = await startFerretDB();
    nats = await natsServer();
    orders = await OrdersPublisher.connect(nats);
    stripe = await FakeStripe.start();
    const config = serviceConfig({
      database: 'deadline',
      nats,
      stripeUrl: stripe.url,
      extra: { MONGO_URI: `${ferret.uri}/deadline`, REQUEST_TIMEOUT_MS: String(DEADLINE_MS), STRIPE_TIMEOUT_MS: '20000' },
    });
    expect(config.requestTimeoutMs).toBe(DEADLINE_MS);
    service = await startTestService(config, { queueGroup: unique('payments-service'), logger: logs.logger });
  });

  afterAll(async () => {
    thaw();
    await service?.stop();
    await orders?.close();
    await stripe?.stop();
    await nats?.stop();
    await ferret?.stop();
  });

  async function replicatedOrder() {
    const order = { id: newId(), userId: newId(), price: 15 };
    await orders.created(order);
    await eventually(async () => expect(await orderModel(service.connection).findById(order.id).lean()).not.toBeNull());
    return { ...order, cookie: sessionCookie({ id: order.userId }) };
  }

  const timed = async <T>(work: () => PromiseLike<T>) => {
    const started = Date.now();
    const result = await work();
    return { result, ms: Date.now() - started };
  };

  test('when the database hangs (SIGSTOP), then the first payment and the next ones answer 503 in the error shape within the bound, /readyz says mongo, and all is well after SIGCONT', async () => {
    const order = await replicatedOrder();
    freeze();
    try {
      for (let i = 0; i < 2; i += 1) {
        const requestId = `frozen-${i}-${newId()}`;
        const started = Date.now();
        const { result: res, ms } = await timed(() =>
          request(service.server).post('/api/payments').set('Cookie', order.cookie).set('X-Request-Id', requestId)
            .send({ token: 'tok_visa', orderId: order.id }),
        );
        expect({ attempt: i, status: res.status, body: res.body }).toEqual({ attempt: i, status: 503, body: { errors: [{ message: expect.any(String) }] } });
        expect(ms).toBeLessThan(BOUND_MS);
        // Not only the answer: the database operation behind it gives up too, instead of hanging on.
        await eventually(() => expect(logs.find({ msg: 'database unavailable', requestId })).toHaveLength(1), BOUND_MS - (Date.now() - started), 50);
      }
      const { result: ready, ms } = await timed(() => request(service.server).get('/readyz'));
      expect(ms).toBeLessThan(BOUND_MS);
      expect({ status: ready.status, down: ready.body.down }).toEqual({ status: 503, down: ['mongo'] });
      expect(logs.find({ msg: 'request', status: 503, orderId: order.id }).length).toBeGreaterThanOrEqual(2);
      expect(stripe.chargesFor(order.id)).toEqual([]);
    } finally {
      thaw();
    }
    await eventually(async () => expect((await request(service.server).get('/readyz')).status).toBe(200), 30_000);
    const paid = await eventually(async () => {
      const res = await request(service.server).post('/api/payments').set('Cookie', order.cookie).send({ token: 'tok_visa', orderId: order.id });
      expect(res.status).toBe(201);
      return res;
    }, 30_000);
    expect(paid.body).toMatchObject({ orderId: order.id, status: 'succeeded' });
    expect(stripe.chargesFor(order.id)).toHaveLength(1);
  }, 90_000);

  test('when Stripe is slower than the deadline, then 503 within the bound, the claimed payment completes in the background, and resending the token gets it', async () => {
    const order = await replicatedOrder();
    stripe.delayMs = DEADLINE_MS + 2000;
    try {
      const { result: res, ms } = await timed(() =>
        request(service.server).post('/api/payments').set('Cookie', order.cookie).send({ token: 'tok_visa', orderId: order.id }),
      );
      expect(ms).toBeLessThan(BOUND_MS);
      expect({ status: res.status, body: res.body }).toEqual({ status: 503, body: { errors: [{ message: expect.any(String) }] } });
      expect(res.headers['retry-after']).toBe(String(DEADLINE_MS / 1000));
      const payments = paymentModel(service.connection);
      await eventually(async () => expect(await payments.find({ orderId: order.id }).lean()).toMatchObject([{ state: 'succeeded' }]), 30_000);
    } finally {
      stripe.delayMs = 0;
    }
    const again = await request(service.server).post('/api/payments').set('Cookie', order.cookie).send({ token: 'tok_visa', orderId: order.id });
    expect(again.status).toBe(201);
    expect(stripe.chargesFor(order.id)).toHaveLength(1);
  }, 60_000);
});
