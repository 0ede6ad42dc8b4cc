import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Stripe's refund `failure_reason` values (API reference, "The Refund object"), and the
 * refund states recorded when Stripe gives no reason: the reasons exported at 0 from the start.
 */
const STRIPE_REFUND_FAILURE_REASONS = [
  'charge_for_pending_refund_disputed',
  'declined',
  'expired_or_canceled_card',
  'insufficient_funds',
  'lost_or_stolen_card',
  'merchant_request',
  'unknown',
  'failed',
  'canceled',
];

/** The service's Prometheus metrics, in a registry of its own (one per service instance). */
export class Metrics {
  readonly registry = new Registry();

  readonly charges = new Counter({
    name: 'payments_charge_attempts_total',
    help: 'Charge attempts by outcome: paid, declined, rejected, unavailable, unknown',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly chargeSeconds = new Histogram({
    name: 'payments_charge_duration_seconds',
    help: 'Time Stripe took to answer a charge, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20],
    registers: [this.registry],
  });

  readonly refunds = new Counter({
    name: 'payments_refund_attempts_total',
    help: 'Refund attempts by outcome: refunded, refused, unavailable, unknown',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly refundsFailed = new Counter({
    name: 'payments_refunds_failed_total',
    help: 'Refunds Stripe accepted and then reported failed or canceled, by Stripe failure_reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly disputes = new Counter({
    name: 'payments_disputes_total',
    help: 'Disputes opened or changed at Stripe, by their new status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'payments_events_set_aside_total',
    help: 'Events the service could not apply, by subject and outcome: retrying (set aside), applied (on a retry), parked (for an operator)',
    labelNames: ['subject', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'payments_events_handled_total',
    help: 'Events received, by subject and outcome: acked (applied or set aside), malformed, failed (left for redelivery)',
    labelNames: ['subject', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly httpSeconds = new Histogram({
    name: 'payments_http_request_duration_seconds',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly stripeRequests = new Counter({
    name: 'payments_stripe_requests_total',
    help: 'Requests sent to Stripe (the SDK\'s retries included), by endpoint (method and path, ids left out) and HTTP status; status "error" when no answer came',
    labelNames: ['stripe_endpoint', 'status'] as const,
    registers: [this.registry],
  });

  readonly stripeSeconds = new Histogram({
    name: 'payments_stripe_request_duration_seconds',
    help: 'Time Stripe took to answer one request, by endpoint',
    labelNames: ['stripe_endpoint'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20],
    registers: [this.registry],
  });

  readonly stripeBudgetWait = new Histogram({
    name: 'payments_stripe_budget_wait_seconds',
    help: 'Time a Stripe request waited for its slot of the STRIPE_MAX_RPS budget, by priority: buyer (a payment) or background',
    labelNames: ['priority'] as const,
    buckets: [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });

  readonly paymentsRefused = new Counter({
    name: 'payments_stripe_budget_refusals_total',
    help: 'Payments refused before any claim because no Stripe call slot was free within the queue time (answered 503 with Retry-After)',
    registers: [this.registry],
  });

  readonly webhookSignatureFailures = new Counter({
    name: 'payments_webhook_signature_failures_total',
    help: 'Stripe webhook deliveries refused with 400: reason missing (no Stripe-Signature header) or mismatch (signature or timestamp does not verify)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly eventLagSeconds = new Histogram({
    name: 'payments_event_lag_seconds',
    help: "Replication lag: seconds from the broker's timestamp of an incoming event (when it was published) to the end of its handling here, by subject, for events acked",
    labelNames: ['subject'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Series the alert rules watch with increase(), exported at 0 from the start: a labelled
    // counter otherwise appears at its first increment, which increase() cannot see.
    this.refunds.inc({ outcome: 'refused' }, 0);
    for (const reason of STRIPE_REFUND_FAILURE_REASONS) this.refundsFailed.inc({ reason }, 0);
    for (const status of ['warning_needs_response', 'needs_response']) this.disputes.inc({ status }, 0);
    for (const reason of ['missing', 'mismatch']) this.webhookSignatureFailures.inc({ reason }, 0);
    this.paymentsRefused.inc(0);
    // The payment endpoints' 429s and failures, so that PaymentsStripeRateLimited and PaymentsStripeErrors see the first one.
    for (const stripe_endpoint of ['POST /v1/payment_methods', 'POST /v1/payment_intents']) {
      for (const status of ['200', '429', 'error']) this.stripeRequests.inc({ stripe_endpoint, status }, 0);
    }
  }

  /**
   * Gauges that read the database when scraped (NaN when it cannot); registered once what they read exists.
   * Each reader resolves to a count of documents.
   */
  observe(gauges: {
    outboxBacklog: () => Promise<number>;
    refundsOwed: () => Promise<number>;
    eventsParked: () => Promise<number>;
    chargingStale: () => Promise<number>;
  }): void {
    const gauge = (name: string, help: string, read: () => Promise<number>) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          this.set(await read().catch(() => Number.NaN));
        },
      });
    gauge('payments_outbox_backlog', 'Payments with a payment:created or payment:refunded not yet published', gauges.outboxBacklog);
    gauge('payments_refunds_owed', 'Refunds owed and not yet confirmed by Stripe', gauges.refundsOwed);
    gauge('payments_events_parked', 'Events parked for an operator after their last retry', gauges.eventsParked);
    gauge(
      'payments_charging_stale',
      'Payments still charging past their time: claimed over 5 min ago, or over the 3-D Secure action timeout plus 5 min ago when the customer was asked to authenticate',
      gauges.chargingStale,
    );
  }
}
