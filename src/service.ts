import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import mongoose, { Connection } from 'mongoose';
import { Config } from './config';
import { EventBus } from './events/bus';
import { Subjects } from './events/contracts';
import { EventOutcome } from './events/delivery';
import { JetStreamBus } from './events/jetstream-bus';
import { NatsStreamingBus } from './events/nats-bus';
import { createApp } from './http/app';
import { createLogger, Logger } from './logger';
import { Metrics } from './metrics';
import { listenToOrders } from './orders/order-listeners';
import { orderModel } from './orders/order-model';
import { OrderReplica } from './orders/replicate-order';
import { ChargeAttempts } from './payments/charge-attempt';
import { AttemptLimit } from './payments/attempt-limit';
import { PaymentClaims } from './payments/claims';
import { crashSwitch } from './payments/crash-points';
import { PaymentOutbox } from './payments/outbox';
import { OrderPayments } from './payments/pay-order';
import { paymentModel } from './payments/payment-model';
import { PaymentRecovery } from './payments/recovery';
import { createStripe, StripeCharges } from './payments/stripe-charges';

export const QUEUE_GROUP = 'payments-service';

/** Knobs that are not configuration but that tests turn to make time pass faster. */
export interface ServiceOptions {
  logger?: Logger;
  queueGroup?: string;
  /** How often the outbox and recovery look for work. */
  sweepIntervalMs?: number;
  stripeMaxNetworkRetries?: number;
  /** First wait before asking Stripe again about an unanswered charge; doubles each time. */
  chargeRetryBaseMs?: number;
  natsPingIntervalMs?: number;
  natsMaxPingsOut?: number;
}

export interface Service {
  server: Server;
  port: number;
  connection: Connection;
  stop(): Promise<void>;
}

/** The composition root: connects Mongo, NATS and Stripe and wires the service from config. */
export async function startService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const connection = await mongoose
    // No buffering: while the database is away, requests fail fast with 503 and events stay unacked.
    .createConnection(config.mongoUri, { serverSelectionTimeoutMS: 5_000, bufferCommands: false })
    .asPromise();
  const orders = orderModel(connection);
  const payments = paymentModel(connection);
  const attemptLimit = new AttemptLimit(connection, config.attemptsPerMinute);
  await Promise.all([orders.createIndexes(), payments.createIndexes(), attemptLimit.createIndexes()]);

  // The backlog gauge reads the outbox when scraped, by which time it exists.
  const metrics = new Metrics(() => outbox.backlog());
  const bus = await connectBus(config, {
    onHandled: (subject, outcome) => metrics.events.inc({ subject, outcome }),
    queueGroup: options.queueGroup ?? QUEUE_GROUP,
    pingIntervalMs: options.natsPingIntervalMs,
    maxPingsOut: options.natsMaxPingsOut,
  }, logger);

  const sdkRetries = options.stripeMaxNetworkRetries ?? 1;
  const stripe = createStripe({
    key: config.stripe.key,
    apiUrl: config.stripe.apiUrl,
    timeoutMs: config.stripe.timeoutMs,
    maxNetworkRetries: sdkRetries,
  });
  // Longer than the holder can spend calling Stripe; the idempotency key covers the rest.
  const claimLeaseMs = config.stripe.timeoutMs * (sdkRetries + 1) + 2_000;
  const claims = new PaymentClaims(payments, orders, claimLeaseMs, (payment) =>
    logger.error({ orderId: payment.orderId, paymentId: String(payment._id), stripeId: payment.stripeId }, 'charged an order that is no longer payable: refund it'),
  );
  const crash = crashSwitch(config.testCrashAt);
  const outbox = new PaymentOutbox(payments, bus, { leaseMs: 7_000, retryMs: 1_000 }, logger.child({ component: 'outbox' }), crash);
  const attempts = new ChargeAttempts({
    claims,
    charges: new StripeCharges(stripe),
    onPaid: (payment) => void outbox.publishRecorded(payment),
    eventLeaseMs: outbox.leaseMs,
    retryBaseMs: options.chargeRetryBaseMs ?? 5_000,
    metrics,
    logger: logger.child({ component: 'charges' }),
    crash,
  });
  const recovery = new PaymentRecovery(claims, attempts, logger.child({ component: 'recovery' }));
  const orderPayments = new OrderPayments(orders, claims, attempts, attemptLimit, config.stripe.currency);

  listenToOrders(bus, new OrderReplica(orders, logger.child({ component: 'orders' })));

  const readiness = async () => ({
    mongo: await answers(() => connection.db!.admin().ping(), 1000),
    nats: bus.ready,
  });
  const app = createApp({ jwtKey: config.jwtKey, payments: orderPayments, logger, readiness, metrics });
  const server = await listen(app, config.port);
  const port = (server.address() as AddressInfo).port;

  let sweeping: Promise<void> | undefined;
  const sweep = () => {
    if (sweeping) return; // the last one is still running
    sweeping = (async () => {
      await recovery.run().catch((err) => logger.warn({ err }, 'recovery sweep failed'));
      await outbox.flush();
      await attemptLimit.prune().catch((err) => logger.warn({ err }, 'could not prune attempt windows'));
    })().finally(() => {
      sweeping = undefined;
    });
  };
  sweep();
  const timer = setInterval(sweep, options.sweepIntervalMs ?? 2_000);
  timer.unref();

  logger.info({ port }, 'payments service started');

  return {
    server,
    port,
    connection,
    /** Stops taking requests, lets those in flight finish, publishes what is owed, then closes. */
    async stop() {
      clearInterval(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets would go on carrying new requests: close each as soon as it is idle.
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      server.closeIdleConnections();
      await closed;
      clearInterval(idle);
      await sweeping;
      await outbox.drain();
      await bus.close();
      await connection.close();
      logger.info('payments service stopped');
    },
  };
}

/** The one place that knows which broker runs (EVENT_BUS). */
function connectBus(
  config: Config,
  common: { onHandled: (subject: string, outcome: EventOutcome) => void; queueGroup: string; pingIntervalMs?: number; maxPingsOut?: number },
  logger: Logger,
): Promise<EventBus> {
  if (config.eventBus === 'jetstream') {
    const { url, clientId, ackWaitMs } = config.nats;
    const { stream: name, maxAgeMs, duplicateWindowMs } = config.jetstream;
    const stream = { name, subjects: Object.values(Subjects), maxAgeMs, duplicateWindowMs };
    return JetStreamBus.connect({ ...common, url, clientId, ackWaitMs, stream }, logger);
  }
  return NatsStreamingBus.connect({ ...config.nats, ...common }, logger);
}

async function answers(check: () => Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const result = check().then(() => true, () => false);
  const ok = await Promise.race([result, timeout]);
  clearTimeout(timer);
  return ok;
}

function listen(app: ReturnType<typeof createApp>, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, (err?: Error) => (err ? reject(err) : resolve(server)));
  });
}
