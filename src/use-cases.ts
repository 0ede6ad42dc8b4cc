import { Connection } from 'mongoose';
import { Config } from './config';
import { MongoCallSlots } from './data-access/call-slots';
import { MongoChargeOutcomes } from './data-access/charge-outcomes';
import { Collections } from './data-access/collections';
import { MongoDisputes } from './data-access/disputes';
import { MongoEventsCursor } from './data-access/events-cursor';
import { MongoOrders } from './data-access/order-store';
import { MongoOwedEvents } from './data-access/owed-events';
import { MongoPaymentClaims } from './data-access/payment-claims';
import { MongoRefunds } from './data-access/refund-store';
import { MongoHandledEvents } from './data-access/stripe-event-model';
import { EventBus } from './events/bus';
import { Logger } from './logger';
import { Metrics } from './metrics';
import { StripeEvents } from './payments/apply-stripe-event';
import { CancelledOrders } from './payments/cancelled-order';
import { ChargeAttempts } from './payments/charge-attempt';
import { CrashSwitch } from './payments/crash-points';
import { MissedEvents } from './payments/missed-events';
import { PaymentOutbox } from './payments/outbox';
import { PaymentProvider } from './payments/payment-provider';
import { PaymentReads } from './payments/read-payment';
import { PaymentRecovery } from './payments/recovery';
import { RefundLedger } from './payments/refund-ledger';
import { PaymentRefunds } from './payments/refund-payment';
import { Dispute, Payment, Refund } from './payments/payment';
import { StripeCallBudget } from './stripe/call-budget';
import { traced } from './tracing';
import {
  tracedBus, tracedClaims, tracedDisputes, tracedHandledEvents, tracedOrders, tracedOutcomes, tracedOwed, tracedProvider, tracedRefunds,
} from './traced-ports';

/** What the use cases are made of: the collections, the provider, the bus (none for the operator's CLI, whose events the service's outbox relays). */
export interface UseCaseParts<Bus extends EventBus | undefined> {
  connection: Connection;
  models: Collections;
  provider: PaymentProvider;
  bus: Bus;
  metrics: Metrics;
  log: (component: string) => Logger;
  crash: CrashSwitch;
  /** How long a holder may spend calling Stripe before recovery may take its charge or refund over, in ms. */
  leaseMs: number;
  /** First wait before asking Stripe again about an unanswered charge or refund, in ms; doubles each time. */
  retryBaseMs: number;
  /** How long a customer may take over 3-D Secure, in ms. */
  actionTimeoutMs: number;
  /** How long after an object is made Stripe's Search is taken to show it, in ms (charge-attempt.ts). */
  searchSettledMs?: number;
}

/**
 * The use cases wired to their stores and to one another, for the service and the
 * operator's CLI alike. The outbox and the refunds call each other: a payment found
 * cancelled owes its refund, a refund recorded is announced.
 */
export function composeUseCases<Bus extends EventBus | undefined>(parts: UseCaseParts<Bus>) {
  const { connection, models, metrics, log, crash, leaseMs, retryBaseMs, actionTimeoutMs, searchSettledMs } = parts;
  // The ports, each behind its tracing decorator (traced-ports.ts): one span per call, free when tracing is off.
  const provider = tracedProvider(parts.provider);
  const bus = tracedBus(parts.bus);
  const orders = tracedOrders(new MongoOrders(models.orders));
  const claims = tracedClaims(new MongoPaymentClaims(models.payments, leaseMs));
  const refundStore = tracedRefunds(new MongoRefunds(models.refunds, leaseMs));
  const disputes = tracedDisputes(new MongoDisputes(models.disputes));
  const handledEvents = tracedHandledEvents(new MongoHandledEvents(models.stripeEvents));
  const owed = {
    payments: tracedOwed(new MongoOwedEvents<Payment>(models.payments), 'payments'),
    refunds: tracedOwed(new MongoOwedEvents<Refund>(models.refunds), 'refunds'),
    disputes: tracedOwed(new MongoOwedEvents<Dispute>(models.disputes), 'disputes'),
  };
  const outbox = bus
    ? new PaymentOutbox(
        { ...owed, orders, oweRefund: (payment) => refunds.oweFor(payment) },
        bus,
        { leaseMs: 7_000, retryMs: 1_000 },
        log('outbox'),
        crash,
      )
    : undefined;
  const eventLeaseMs = outbox?.leaseMs ?? 0;
  const ledger = new RefundLedger({ claims, refunds: refundStore, provider, onOwed: (refund) => void outbox?.publishRefund(refund), eventLeaseMs, metrics, logger: log('refunds') });
  const refunds: PaymentRefunds = new PaymentRefunds({
    claims,
    refunds: refundStore,
    provider,
    ledger,
    leaseMs,
    eventLeaseMs,
    retryBaseMs,
    onRefunded: (refund) => void outbox?.publishRefund(refund),
    metrics,
    logger: log('refunds'),
    crash,
  });
  const attempts = new ChargeAttempts({
    outcomes: tracedOutcomes(new MongoChargeOutcomes(models.payments)),
    provider,
    orders,
    onPaid: (payment) => void outbox?.publishPayment(payment),
    eventLeaseMs,
    retryBaseMs,
    actionTimeoutMs,
    searchSettledMs,
    metrics,
    logger: log('charges'),
    crash,
  });
  // One span per Stripe event applied, from a webhook or from the events list.
  const stripeEvents = traced(new StripeEvents({
    events: handledEvents,
    claims,
    disputes,
    provider,
    attempts,
    ledger,
    onDisputeOwed: (dispute) => void outbox?.publishDispute(dispute),
    eventLeaseMs,
    metrics,
    logger: log('stripe-events'),
  }), 'stripe-events', {
    apply: {
      args: (event) => ({ 'stripe.event.id': event.id, 'stripe.event.type': event.type, 'stripe.object.id': event.objectId }),
      result: (outcome) => ({ 'stripe.event.outcome': outcome }),
    },
  });
  return {
    /** The provider as the use cases call it (traced). */
    provider,
    orders,
    claims,
    refundStore,
    outbox: outbox as Bus extends EventBus ? PaymentOutbox : undefined,
    refunds,
    attempts,
    stripeEvents,
    cancelledOrders: new CancelledOrders(claims, attempts, refunds),
    recovery: new PaymentRecovery({ claims, refunds: refundStore }, attempts, refunds, log('recovery')),
    missedEvents: new MissedEvents({ provider, cursor: new MongoEventsCursor(connection), events: stripeEvents, ledger, logger: log('stripe-events') }),
    reads: new PaymentReads({ claims, refunds: refundStore, disputes }, attempts),
  };
}

/**
 * The budget every instance's Stripe requests share (STRIPE_MAX_RPS): a payment waits at
 * most `queueMs` for its slot, so that the Stripe calls still fit the request deadline;
 * other calls wait 2 s for a slot no payment wants; an endpoint Stripe answered 429 rests 1 s.
 */
export function stripeCallBudget(connection: Connection, config: Config, metrics: Metrics, queueMs = Math.min(1_000, config.requestTimeoutMs / 5)): StripeCallBudget {
  return new StripeCallBudget(new MongoCallSlots(connection), {
    maxRps: config.stripe.maxRps,
    queueMs,
    patienceMs: 2_000,
    restMs: 1_000,
    onWait: (priority, waitMs) => metrics.stripeBudgetWait.observe({ priority }, waitMs / 1000),
    onRefused: () => metrics.paymentsRefused.inc(),
  });
}
