import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

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

  readonly events = new Counter({
    name: 'payments_events_handled_total',
    help: 'Events received, by subject and outcome: acked, malformed, retry, failed',
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

  constructor(outboxBacklog: () => Promise<number>) {
    new Gauge({
      name: 'payments_outbox_backlog',
      help: 'payment:created events recorded and not yet published',
      registers: [this.registry],
      async collect() {
        this.set(await outboxBacklog().catch(() => Number.NaN));
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }
}
