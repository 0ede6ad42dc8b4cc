import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Connection } from 'mongoose';
import { Config } from './config';
import { openCollections } from './data-access/collections';
import { connectDatabase, databaseAnswers } from './data-access/connection';
import { createApp } from './entry-points/http/app';
import { listenToOrders } from './entry-points/order-listeners';
import { startSweeps } from './entry-points/sweeps';
import { connectBus } from './events/connect-bus';
import { DeadLetters } from './events/dead-letters';
import { createLogger, Logger } from './logger';
import { Metrics } from './metrics';
import { OrderReplica } from './orders/replicate-order';
import { AttemptLimit } from './payments/attempt-limit';
import { OrderClaims } from './payments/claim-order';
import { crashSwitch } from './payments/crash-points';
import { OrderPayments } from './payments/pay-order';
import { MongoCallSlots } from './data-access/call-slots';
import { createStripe } from './stripe/client';
import { StripePaymentProvider } from './stripe/payment-provider';
import { stripeEventVerifier } from './stripe/webhook-events';
import { traceStripeRequests } from './traced-ports';
import { composeUseCases, stripeCallBudget } from './use-cases';

export const QUEUE_GROUP = 'payments-service';

/** A payment still `charging` this long after its claim (beyond the 3-D Secure action timeout when the customer was asked) counts in payments_charging_stale. */
export const STALE_CHARGING_MS = 5 * 60_000;

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
  /** How long after an object is made Stripe's Search is taken to show it (default 5 min). */
  searchSettledMs?: number;
  /** How long an admitted payment may wait for its Stripe call slot (default: a fifth of the request deadline, at most 1 s). */
  stripeQueueMs?: number;
}

export interface Service {
  server: Server;
  port: number;
  connection: Connection;
  stop(): Promise<void>;
}

/** The composition root: connects MongoDB, NATS and Stripe and wires the service from config. */
export async function startService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const log = (component: string) => logger.child({ component });
  const metrics = new Metrics();

  // Storage.
  const connection = await connectDatabase(config.mongoUri, config.requestTimeoutMs);
  const sdkRetries = options.stripeMaxNetworkRetries ?? 1;
  // Longer than the holder can spend calling Stripe; the idempotency key covers the rest.
  const leaseMs = config.stripe.timeoutMs * (sdkRetries + 1) + 2_000;
  const deadLetters = new DeadLetters(
    connection,
    {
      maxDeliveries: config.eventMaxDeliveries,
      retryBaseMs: options.eventRetryBaseMs ?? 1_000,
      onOutcome: (subject, outcome) => metrics.deadLetters.inc({ subject, outcome }),
    },
    log('dead-letters'),
  );
  const models = await openCollections(connection, logger, [() => deadLetters.createIndexes(), () => new MongoCallSlots(connection).createIndexes()]);

  // Events and Stripe.
  const bus = await connectBus(
    config,
    {
      onHandled: (subject, outcome, publishedAt) => {
        metrics.events.inc({ subject, outcome });
        if (outcome === 'acked' && publishedAt) metrics.eventLagSeconds.observe({ subject }, Math.max(0, Date.now() - publishedAt.getTime()) / 1000);
      },
      queueGroup: options.queueGroup ?? QUEUE_GROUP,
      pingIntervalMs: options.natsPingIntervalMs,
      maxPingsOut: options.natsMaxPingsOut,
    },
    logger,
  );
  const budget = stripeCallBudget(connection, config, metrics, options.stripeQueueMs);
  const stripe = createStripe({ key: config.stripe.key, apiUrl: config.stripe.apiUrl, timeoutMs: config.stripe.timeoutMs, maxNetworkRetries: sdkRetries, budget, metrics });
  traceStripeRequests(stripe);
  // The use cases.
  const { provider, orders, claims, refundStore, outbox, refunds, attempts, stripeEvents, cancelledOrders, recovery, missedEvents, reads } = composeUseCases({
    connection,
    models,
    provider: new StripePaymentProvider(stripe, budget),
    bus,
    metrics,
    log,
    crash: crashSwitch(config.testCrashAt),
    leaseMs,
    retryBaseMs: options.chargeRetryBaseMs ?? 5_000,
    actionTimeoutMs: options.actionTimeoutMs ?? 15 * 60_000,
    searchSettledMs: options.searchSettledMs,
  });
  const actionTimeoutMs = options.actionTimeoutMs ?? 15 * 60_000;
  metrics.observe({
    outboxBacklog: () => outbox.backlog(),
    refundsOwed: () => refundStore.countOwed(),
    eventsParked: () => deadLetters.parked(),
    chargingStale: () => {
      const now = Date.now();
      return claims.countStaleCharging({ claimedBefore: new Date(now - STALE_CHARGING_MS), actionClaimedBefore: new Date(now - actionTimeoutMs - STALE_CHARGING_MS) });
    },
  });
  const orderClaims = new OrderClaims(claims, new AttemptLimit(config.attemptsPerMinute, options.attemptWindowMs), leaseMs);

  // Entry points: events, HTTP, the timer.
  const replica = new OrderReplica(orders, log('orders'), (orderId) => cancelledOrders.settle(orderId));
  listenToOrders(bus, deadLetters, replica);
  const secret = config.stripe.webhookSecret;
  const app = createApp({
    jwtKey: config.jwtKey,
    payments: new OrderPayments(orders, orderClaims, claims, attempts, provider, config.stripe.currency, Math.min(2_000, config.requestTimeoutMs / 2)),
    reads,
    webhooks: secret
      ? { verify: stripeEventVerifier(stripe, secret), events: stripeEvents, onSignatureFailure: (reason) => metrics.webhookSignatureFailures.inc({ reason }) }
      : undefined,
    logger,
    readiness: async () => ({ mongo: await databaseAnswers(connection, 1000), nats: bus.ready }),
    metrics,
    deadlineMs: config.requestTimeoutMs,
  });
  const server = await listen(app, config.port, config.host);
  const { port, address: host } = server.address() as AddressInfo;
  const sweeps = startSweeps(
    [
      { name: 'recovery', run: () => recovery.run() },
      { name: 'outbox', run: () => outbox.flush() },
      { name: 'dead-letter retry', run: () => deadLetters.retryDue() },
      { name: "Stripe's events list", run: () => missedEvents.run(), everyMs: config.stripe.eventsPollMs },
    ],
    options.sweepIntervalMs ?? 2_000,
    logger,
  );
  logger.info({ host, port }, 'payments service started');

  return {
    server,
    port,
    connection,
    /** Stops taking requests, lets those in flight finish, publishes what is owed, then closes. */
    async stop() {
      const sweepsStopped = sweeps.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets would go on carrying new requests: close each as soon as it is idle.
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      server.closeIdleConnections();
      await closed;
      clearInterval(idle);
      await sweepsStopped;
      await refunds.drain();
      await outbox.drain();
      await bus.close();
      await connection.close();
      logger.info('payments service stopped');
    },
  };
}

function listen(app: ReturnType<typeof createApp>, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => (err ? reject(err) : resolve(server));
    const server = host ? app.listen(port, host, done) : app.listen(port, done);
  });
}
