import request from 'supertest';
import { orderModel } from '../src/data-access/order-model';
import { paymentModel } from '../src/data-access/payment-model';
import { Service } from '../src/service';
import { eventually } from './support/eventually';
import { FakeStripe } from './support/fake-stripe';
import {
  natsServer, NatsTarget, newId, OrdersPublisher, PaymentCreatedSpy, serviceConfig, sessionCookie, startTestService, unique,
} from './support/harness';

/**
 * Every currency charged as Stripe counts it (Stripe, "Supported currencies"):
 * one service per STRIPE_CURRENCY pays an order, and the amount Stripe receives,
 * the 201 body, the payment document and payment:created all carry the same integer.
 */
const ZERO_DECIMAL = ['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf'];
const THREE_DECIMAL = ['bhd', 'jod', 'kwd', 'omr', 'tnd'];

const cases: Array<[currency: string, price: number, amount: number]> = [
  ...ZERO_DECIMAL.map((currency): [string, number, number] => [currency, 1500.4, 1500]),
  ...THREE_DECIMAL.map((currency): [string, number, number] => [currency, 18.6, 18_600]),
  ['kwd', 5.124, 5_120],
  ['usd', 19.99, 1999],
  ['eur', 0.5, 50],
  ['gbp', 4.35, 435],
  ['inr', 1.1, 110],
  ['idr', 15_000, 1_500_000],
  ['huf', 175.5, 17_550],
  ['twd', 30.05, 3005],
  ['isk', 40.1, 4000],
];

let nats: NatsTarget;
let stripe: FakeStripe;
let orders: OrdersPublisher;
let spy: PaymentCreatedSpy;
let service: Service | undefined;

beforeAll(async () => {
  nats = await natsServer();
  stripe = await FakeStripe.start();
  orders = await OrdersPublisher.connect(nats);
  spy = await PaymentCreatedSpy.connect(nats);
});

afterEach(async () => {
  await service?.stop();
  service = undefined;
});

afterAll(async () => {
  await spy?.close();
  await orders?.close();
  await stripe?.stop();
  await nats?.stop();
});

test.each(cases)('when orders are priced in %s and one costs %p, then Stripe is asked for %p and every record says the same', async (currency, price, amount) => {
  const config = serviceConfig({ database: unique(`currency-${currency}`), nats, stripeUrl: stripe.url, extra: { STRIPE_CURRENCY: currency.toUpperCase() } });
  service = await startTestService(config, { queueGroup: unique('payments-service') });
  const order = { id: newId(), userId: newId(), price };
  await orders.created(order);
  await eventually(async () => expect(await orderModel(service!.connection).findById(order.id).lean()).not.toBeNull());

  const res = await request(service.server)
    .post('/api/payments')
    .set('Cookie', sessionCookie({ id: order.userId }))
    .send({ token: 'tok_visa', orderId: order.id });

  expect(res.status).toBe(201);
  expect(stripe.chargesFor(order.id)).toMatchObject([{ amount, currency }]);
  expect(res.body).toMatchObject({ amount, currency });
  expect(await paymentModel(service.connection).findOne({ orderId: order.id }).lean()).toMatchObject({ amount, currency });
  await eventually(() => expect(spy.forOrder(order.id)).toMatchObject([{ amount, currency }]));
});

test('when the price is below what Stripe charges in the currency, then it answers 400 before Stripe is called', async () => {
  service = await startTestService(
    serviceConfig({ database: unique('currency-min'), nats, stripeUrl: stripe.url, extra: { STRIPE_CURRENCY: 'gbp' } }),
    { queueGroup: unique('payments-service') },
  );
  const order = { id: newId(), userId: newId(), price: 0.29 };
  await orders.created(order);
  await eventually(async () => expect(await orderModel(service!.connection).findById(order.id).lean()).not.toBeNull());
  const res = await request(service.server).post('/api/payments').set('Cookie', sessionCookie({ id: order.userId })).send({ token: 'tok_visa', orderId: order.id });
  expect(res.status).toBe(400);
  expect(res.body.errors[0].message).toMatch(/minimum.*GBP/);
  expect(stripe.requestsFor(order.id)).toHaveLength(0);
});
