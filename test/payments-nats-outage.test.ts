import { eventually } from './support/eventually';
import { LocalNats, natsServer, PaymentCreatedSpy } from './support/harness';
import { PaymentsFixture } from './support/payments-fixture';

// The broker keeps its state in files here, so a restart keeps channels (streams) and durable subscriptions (consumers).
const fx = new PaymentsFixture();
beforeAll(() => fx.start({ stripe: 'fake', nats: { store: 'file', own: true } }));
afterAll(() => fx.stop());

test('when NATS is down during a payment, then the payment answers 201 and payment:created is published once NATS returns', async () => {
  const order = await fx.order();
  const nats = fx.nats as LocalNats;
  await fx.spy.close();
  await nats.stop();

  const res = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
  expect(res.status).toBe(201);
  expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
  await eventually(() => expect(fx.logs.find({ msg: 'outbox relay paused; will retry' }).length).toBeGreaterThan(0));
  expect((await fx.payments(order.id))[0].eventsOwed).toEqual(['payment:created']);

  fx.nats = await natsServer({ port: nats.port, dir: nats.dir, store: 'file' });
  fx.spy = await PaymentCreatedSpy.connect(fx.nats);
  await eventually(() => expect(fx.spy.forOrder(order.id)).toEqual([{ id: res.body.id, orderId: order.id, stripeId: res.body.stripeId, paymentIntentId: res.body.paymentIntentId, amount: res.body.amount, currency: 'usd' }]), 30_000);
  await eventually(async () => expect((await fx.payments(order.id))[0]).toMatchObject({ eventsOwed: [], eventsDueAt: null }));
  expect(fx.stripe!.chargesFor(order.id)).toHaveLength(1);
});
