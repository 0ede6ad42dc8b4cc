import request from 'supertest';
import { orderModel, OrderModel } from '../../src/data-access/order-model';
import { paymentModel, PaymentModel } from '../../src/data-access/payment-model';
import { refundModel, RefundModel } from '../../src/data-access/refund-model';
import { Service, ServiceOptions } from '../../src/service';
import { eventually } from './eventually';
import { FakeStripe } from './fake-stripe';
import {
  natsServer, NatsTarget, newId, OrdersPublisher, PaymentCreatedSpy, serviceConfig, sessionCookie, startTestService, unique,
} from './harness';
import { LogCapture } from './log-capture';

/**
 * One payments service on the real servers, with the orders service played
 * through the broker (EVENT_BUS) and Stripe played by the fake (or stripe-mock).
 */
export class PaymentsFixture {
  nats!: NatsTarget;
  stripe?: FakeStripe;
  orders!: OrdersPublisher;
  spy!: PaymentCreatedSpy;
  service!: Service;
  orderModel!: OrderModel;
  paymentModel!: PaymentModel;
  refundModel!: RefundModel;
  readonly logs = new LogCapture();
  readonly database = unique('payments');
  readonly queueGroup = unique('payments-service');

  async start(options: {
    stripe: 'fake' | 'stripe-mock';
    nats?: Parameters<typeof natsServer>[0];
    service?: ServiceOptions;
    /** More environment for the service, read through the real config module. */
    env?: Record<string, string>;
  }) {
    this.nats = await natsServer(options.nats);
    if (options.stripe === 'fake') this.stripe = await FakeStripe.start();
    this.orders = await OrdersPublisher.connect(this.nats);
    this.spy = await PaymentCreatedSpy.connect(this.nats);
    this.env = options.env ?? {};
    this.serviceOptions = options.service ?? {};
    await this.startService();
  }

  private env: Record<string, string> = {};
  private serviceOptions: ServiceOptions = {};

  /** Starts (again) the service on the same database, NATS and Stripe, as a replacement instance would. */
  async startService(): Promise<void> {
    const config = serviceConfig({ database: this.database, nats: this.nats, stripeUrl: this.stripe?.url, extra: this.env });
    this.service = await startTestService(config, { queueGroup: this.queueGroup, logger: this.logs.logger, ...this.serviceOptions });
    this.orderModel = orderModel(this.service.connection);
    this.paymentModel = paymentModel(this.service.connection);
    this.refundModel = refundModel(this.service.connection);
  }

  async stop(): Promise<void> {
    await this.service?.stop();
    await this.spy?.close().catch(() => undefined);
    await this.orders?.close().catch(() => undefined);
    await this.stripe?.stop();
    await this.nats?.stop();
  }

  /** An order the orders service created, once this service has replicated it. */
  async order(fields: { userId?: string; price?: number; cancelled?: boolean } = {}) {
    const order = { id: newId(), userId: fields.userId ?? newId(), price: fields.price ?? 19.99 };
    await this.orders.created(order);
    if (fields.cancelled) await this.orders.cancelled({ id: order.id, version: 1 });
    const status = fields.cancelled ? 'cancelled' : 'created';
    // Both events, not just the cancel: a cancel handled first leaves a tombstone (cancelled, no user yet) that its order:created fills in.
    await eventually(async () => expect(await this.orderModel.findById(order.id).lean()).toMatchObject({ status, userId: order.userId, price: order.price }));
    return { ...order, cookie: sessionCookie({ id: order.userId }) };
  }

  pay(cookie: string | undefined, body: unknown) {
    const req = request(this.service.server).post('/api/payments');
    if (cookie) req.set('Cookie', cookie);
    return req.send(body as object);
  }

  /** The payment holding the order (charging or succeeded): at most one. */
  payments(orderId: string) {
    return this.paymentModel.find({ orderLock: orderId }).lean();
  }

  /** Every attempt that claimed the order, the failed ones (nothing charged) included, oldest first. */
  attempts(orderId: string) {
    return this.paymentModel.find({ orderId }).sort({ createdAt: 1 }).lean();
  }

  refunds(orderId: string) {
    return this.refundModel.find({ orderId }).lean();
  }
}
