import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import mongoose, { Connection } from 'mongoose';
import { Config } from './config';
import { isDatabaseUnavailable } from './data-access/db-errors';
import { DeadLetters } from './events/dead-letters';
import { EventBus } from './events/bus';
import { Subjects } from './events/contracts';
import { EventOutcome } from './events/delivery';
import { createApp } from './entry-points/http/app';
import { createLogger, Logger } from './logger';
import { Metrics } from './metrics';
import { listenToOrders } from './entry-points/order-listeners';
import { orderModel } from './data-access/order-model';
import { OrderReplica } from './orders/replicate-order';
import { ChargeAttempts } from './payments/charge-attempt';
import { AttemptLimit } from './payments/attempt-limit';
import { PaymentClaims } from './data-access/payment-claims';
import { crashSwitch } from './payments/crash-points';
import { PaymentOutbox } from './payments/outbox';
import { OrderPayments } from './payments/pay-order';
import { paymentModel, preparePayments } from './data-access/payment-model';
import { PaymentReads } from './payments/read-payment';
import { stripeEventModel, StripeWebhooks } from './payments/apply-stripe-event';
import { prepareRefunds, refundModel } from './data-access/refund-model';
import { PaymentRecovery } from './payments/recovery';
import { PaymentRefunds } from './payments/refund-payment';
import { createStripe, StripeCharges } from './stripe/charges';
import { StripeRefunds } from './stripe/refunds';

export const QUEUE_GROUP = 'payments-service';

/** Knobs that are not configuration but that tests turn to make time pass faster. */
export interface ServiceOptions {
  logger?: Logger;
  queueGroup?: string;
  /** How often the outbox and recovery look for work. */
  sweepIntervalMs?: number;
  stripeMaxNetworkRetries?: number;
  /** First wait before asking Stripe again about an unanswered charge or refund; doubles each time. */
  chargeRetryBaseMs?: number;
  /** First wait before retrying an event that could not be applied; doubles each time. */
  eventRetryBaseMs?: number;
  natsPingIntervalMs?: number;
  natsMaxPingsOut?: number;
  /** The attempt limit's window (a minute, aligned to the clock). */
  attemptWindowMs?: number;
  /** How long a customer may take over 3-D Secure before the PaymentIntent is cancelled and the order freed (default 15 min). */
  actionTimeoutMs?: number;
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
    // socketTimeoutMS bounds every operation, also on a connection that is open but no longer
    // answers (the driver 7 that mongoose 9 ships ignores timeoutMS).
    .createConnection(config.mongoUri, {
      serverSelectionTimeoutMS: Math.min(5_000, config.requestTimeoutMs),
      socketTimeoutMS: config.requestTimeoutMs,
      connectTimeoutMS: config.requestTimeoutMs,
      bufferCommands: false,
      // A read retried after its socket timed out would run past the request's deadline: the caller decides instead.
      retryReads: false,
    })
    .asPromise();
  const orders = orderModel(connection);
  const payments = paymentModel(connection);
  const refundDocs = refundModel(connection);
  const stripeEvents = stripeEventModel(connection);
  const attemptLimit = new AttemptLimit(config.attemptsPerMinute, options.attemptWindowMs);
  // The gauges read the database when scraped, by which time everything below exists.
  const metrics: Metrics = new Metrics({
    outboxBacklog: () => outbox.backlog(),
    refundsOwed: () => refunds.owed(),
    eventsParked: () => deadLetters.parked(),
  });
  const deadLetters = new DeadLetters(
    connection,
    {
      maxDeliveries: config.eventMaxDeliveries,
      retryBaseMs: options.eventRetryBaseMs ?? 1_000,
      onOutcome: (subject, outcome) => metrics.deadLetters.inc({ subject, outcome }),
    },
    logger.child({ component: 'dead-letters' }),
  );
  await whileDatabaseSlow(
    () => Promise.all([orders.createIndexes(), preparePayments(payments), prepareRefunds(refundDocs), stripeEvents.createIndexes(), deadLetters.createIndexes()]),
    logger,
  );

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
  const crash = crashSwitch(config.testCrashAt);
  const outbox = new PaymentOutbox(
    { payments, refunds: refundDocs, orders, oweRefund: (payment) => refunds.oweFor(payment) },
    bus,
    { leaseMs: 7_000, retryMs: 1_000 },
    logger.child({ component: 'outbox' }),
    crash,
  );
  const refunds: PaymentRefunds = new PaymentRefunds({
    payments,
    refunds: refundDocs,
    stripe: new StripeRefunds(stripe),
    leaseMs: claimLeaseMs,
    eventLeaseMs: outbox.leaseMs,
    retryBaseMs: options.chargeRetryBaseMs ?? 5_000,
    onRefunded: (refund) => void outbox.publishRefund(refund),
    metrics,
    logger: logger.child({ component: 'refunds' }),
    crash,
  });
  const claims = new PaymentClaims(payments, claimLeaseMs, attemptLimit);
  const attempts = new ChargeAttempts({
    claims,
    charges: new StripeCharges(stripe),
    onPaid: (payment) => void outbox.publishPayment(payment),
    eventLeaseMs: outbox.leaseMs,
    retryBaseMs: options.chargeRetryBaseMs ?? 5_000,
    actionTimeoutMs: options.actionTimeoutMs ?? 15 * 60_000,
    metrics,
    logger: logger.child({ component: 'charges' }),
    crash,
  });
  const recovery = new PaymentRecovery(claims, attempts, refunds, logger.child({ component: 'recovery' }));
  const orderPayments = new OrderPayments(orders, claims, attempts, config.stripe.currency);

  listenToOrders(
    bus,
    deadLetters,
    new OrderReplica(orders, logger.child({ component: 'orders' }), async (orderId) => void (await refunds.oweForOrder(orderId))),
  );

  const readiness = async () => ({
    mongo: await answers(() => connection.db!.admin().ping(), 1000),
    nats: bus.ready,
  });
  const webhooks = new StripeWebhooks(stripeEvents, payments, claims, attempts, logger.child({ component: 'webhooks' }));
  const reads = new PaymentReads(payments, refundDocs, claims, attempts, webhooks);
  const webhookSecret = config.stripe.webhookSecret;
  const app = createApp({
    jwtKey: config.jwtKey,
    payments: orderPayments,
    reads,
    // Stripe's default tolerance (300 s) for the signature's timestamp.
    webhooks: webhookSecret ? { webhooks, verify: (payload, signature) => stripe.webhooks.constructEvent(payload, signature, webhookSecret) } : undefined,
    logger,
    readiness,
    metrics,
    deadlineMs: config.requestTimeoutMs,
  });
  const server = await listen(app, config.port, config.host);
  const { port, address: host } = server.address() as AddressInfo;

  let sweeping: Promise<void> | undefined;
  const sweep = () => {
    if (sweeping) return; // the last one is still running
    sweeping = (async () => {
      await recovery.run().catch((err) => logger.warn({ err }, 'recovery sweep failed'));
      await outbox.flush();
      await deadLetters.retryDue().catch((err) => logger.warn({ err }, 'dead-letter retry sweep failed'));
    })().finally(() => {
      sweeping = undefined;
    });
  };
  sweep();
  const timer = setInterval(sweep, options.sweepIntervalMs ?? 2_000);
  timer.unref();

  logger.info({ host, port }, 'payments service started');

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
      await refunds.drain();
      await outbox.drain();
      await bus.close();
      await connection.close();
      logger.info('payments service stopped');
    },
  };
}

/**
 * The one place that knows which broker runs (EVENT_BUS). Only that broker's
 * client is loaded: the other one (its module, its protocol library) would be
 * code kept in memory and never run.
 */
async function connectBus(
  config: Config,
  common: { onHandled: (subject: string, outcome: EventOutcome) => void; queueGroup: string; pingIntervalMs?: number; maxPingsOut?: number },
  logger: Logger,
): Promise<EventBus> {
  if (config.eventBus === 'jetstream') {
    const { JetStreamBus } = await import('./events/jetstream-bus');
    const { url, clientId, ackWaitMs } = config.nats;
    const { stream: name, maxAgeMs, duplicateWindowMs } = config.jetstream;
    const stream = { name, subjects: Object.values(Subjects), maxAgeMs, duplicateWindowMs };
    return JetStreamBus.connect({ ...common, url, clientId, ackWaitMs, stream }, logger);
  }
  const { NatsStreamingBus } = await import('./events/nats-bus');
  return NatsStreamingBus.connect({ ...config.nats, ...common }, logger);
}

/**
 * Start-up work on the database (collections and indexes: slow on a fresh FerretDB,
 * longer than one operation's deadline when several instances start at once) is
 * tried again while the database does not answer in time: 5 tries, 1 s, 2 s, 4 s,
 * 8 s apart. Any other error, or the fifth timeout, is thrown: the start fails.
 */
async function whileDatabaseSlow<T>(work: () => Promise<T>, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= 5 || !isDatabaseUnavailable(err)) throw err;
      const waitMs = 1000 * 2 ** (attempt - 1);
      logger.warn({ err, attempt, waitMs }, 'database slow at start-up; trying again');
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
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

function listen(app: ReturnType<typeof createApp>, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => (err ? reject(err) : resolve(server));
    const server = host ? app.listen(port, host, done) : app.listen(port, done);
  });
}
