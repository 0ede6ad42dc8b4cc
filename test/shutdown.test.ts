import mongoose, { Connection } from 'mongoose';
import { eventually } from './support/eventually';
import { FakeStripe } from './support/fake-stripe';
import { databaseUri, natsServer, NatsTarget, newId, OrdersPublisher, PaymentCreatedSpy, sessionCookie, unique } from './support/harness';
import { ServiceProcess } from './support/service-process';

describe('graceful shutdown of the service process', () => {
  const database = unique('shutdown');
  let nats: NatsTarget;
  let stripe: FakeStripe;
  let orders: OrdersPublisher;
  let spy: PaymentCreatedSpy;
  let db: Connection;
  const processes: ServiceProcess[] = [];
  const start = async () => {
    const proc = await ServiceProcess.start({ database, nats, stripeUrl: stripe.url });
    processes.push(proc);
    return proc;
  };

  beforeAll(async () => {
    nats = await natsServer();
    stripe = await FakeStripe.start();
    orders = await OrdersPublisher.connect(nats);
    spy = await PaymentCreatedSpy.connect(nats);
    db = await mongoose.createConnection(databaseUri(database)).asPromise();
  });

  afterAll(async () => {
    await Promise.all(processes.map((proc) => proc.stop()));
    await db.close();
    await spy.close();
    await orders.close();
    await stripe.stop();
    await nats.stop();
  });

  test('when SIGTERM arrives during a payment, then the payment completes and is published, the process exits 0, and the durable subscription keeps later events', async () => {
    const first = await start();
    const order = { id: newId(), userId: 'user-1', price: 30 };
    await orders.created(order);
    await eventually(async () => expect(await db.collection('orders').findOne({ _id: order.id as never })).not.toBeNull());

    stripe.delayMs = 1500;
    const payment = fetch(`${first.url}/api/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: sessionCookie({ id: 'user-1' }) },
      body: JSON.stringify({ token: 'tok_visa', orderId: order.id }),
    });
    await eventually(() => expect(stripe.requestsFor(order.id)).toHaveLength(1), 5000, 10);
    first.kill('SIGTERM');

    const res = await payment;
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; stripeId: string; amount: number };
    expect(await first.stopped()).toEqual({ code: 0, signal: null });
    expect(first.entries().some((entry) => entry.msg === 'payments service stopped')).toBe(true);
    await eventually(() => expect(spy.forOrder(order.id)).toEqual([{ id: body.id, orderId: order.id, stripeId: body.stripeId, paymentIntentId: expect.stringMatching(/^pi_/), amount: body.amount, currency: 'usd' }]));
    stripe.delayMs = 0;

    // While no instance runs, the orders service goes on publishing.
    const later = { id: newId(), userId: 'user-2', price: 12 };
    await orders.created(later);
    const second = await start();
    const res2 = await eventually(async () => {
      const r = await fetch(`${second.url}/api/payments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: sessionCookie({ id: 'user-2' }) },
        body: JSON.stringify({ token: 'tok_visa', orderId: later.id }),
      });
      expect(r.status).toBe(201);
      return r;
    });
    expect(res2.status).toBe(201);
  });

  test('when a second signal arrives during shutdown, then the process exits at once with a non-zero code', async () => {
    const proc = await start();
    const order = { id: newId(), userId: 'user-3', price: 30 };
    await orders.created(order);
    stripe.mode = 'hang';
    const payment = fetch(`${proc.url}/api/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: sessionCookie({ id: 'user-3' }) },
      body: JSON.stringify({ token: 'tok_visa', orderId: order.id }),
    }).catch(() => undefined);
    await eventually(() => expect(stripe.requestsFor(order.id).length).toBeGreaterThan(0), 10_000);
    proc.kill('SIGTERM');
    await proc.waitForLog((entry) => entry.msg === 'shutting down');
    proc.kill('SIGINT');
    const exit = await proc.stopped();
    expect(exit.code).not.toBe(0);
    await payment;
    stripe.mode = 'normal';
  });
});
