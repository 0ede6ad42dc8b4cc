import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { retryDelayMs } from './charge-attempt';
import { CrashSwitch } from './crash-points';
import { refundIdempotencyKey } from './keys';
import { Payment, Refund, RefundState, step } from './payment';
import { PaymentProvider, RefundOutcome } from './payment-provider';
import { PaymentClaimStore, RefundStore } from './stores';

export interface PaymentRefundsDeps {
  claims: PaymentClaimStore;
  refunds: RefundStore;
  provider: PaymentProvider;
  /** How long the holder may spend asking Stripe, in milliseconds (as for a charge). */
  leaseMs: number;
  /** How long the recorder holds the new `payment:refunded` before the outbox sweep may take it. */
  eventLeaseMs: number;
  /** First wait before asking Stripe again about an unanswered refund; doubles each time. */
  retryBaseMs: number;
  /** Told of each refund recorded, so its event can be relayed at once. */
  onRefunded: (refund: Refund) => void;
  metrics: Metrics;
  logger: Logger;
  crash: CrashSwitch;
}

/**
 * Gives back the money taken for an order that is cancelled, once. The refund is
 * a durable step like the charge: a refund document is inserted (one per
 * payment) before Stripe is called, called under a lease with a key derived from
 * the payment, retried after crashes or unanswered calls until Stripe answers,
 * and recorded with the `payment:refunded` it owes in one write.
 */
export class PaymentRefunds {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly deps: PaymentRefundsDeps) {}

  /**
   * Owes the refund of a charged payment whose order is cancelled (a cancel, or the
   * outbox finding the order cancelled) and starts it; null when one is owed already.
   */
  async oweFor(charged: Payment): Promise<Refund | null> {
    const { refunds, leaseMs, crash } = this.deps;
    if (!charged.stripeId) return null;
    const refund = await refunds.insert({
      paymentId: charged._id,
      orderId: charged.orderId,
      stripeId: charged.stripeId,
      amount: charged.amount,
      currency: charged.currency,
      reason: 'order_cancelled',
      idempotencyKey: refundIdempotencyKey(charged._id),
      state: RefundState.Owed,
      leaseUntil: new Date(Date.now() + leaseMs),
      attempts: 1,
      history: [step('owed', 'order cancelled')],
    });
    // Null: owed already (a redelivered cancel, or the recorder and the cancel both saw it).
    if (!refund) return null;
    this.deps.logger.warn(
      { orderId: charged.orderId, paymentId: String(charged._id), amount: refund.amount, currency: refund.currency },
      'order cancelled after it was charged: refund owed',
    );
    crash('after-refund-owed');
    this.background(this.run(refund));
    return refund;
  }

  /**
   * One call to Stripe for a refund this instance holds the lease of; whatever
   * Stripe answers is saved before this returns.
   */
  async run(refund: Refund): Promise<RefundOutcome> {
    const { refunds, provider, metrics, crash } = this.deps;
    const log = this.deps.logger.child({ orderId: refund.orderId, paymentId: String(refund.paymentId), stripeId: refund.stripeId });
    const outcome = await provider.refund({
      charge: refund.stripeId,
      amount: refund.amount,
      idempotencyKey: refund.idempotencyKey,
      metadata: { orderId: refund.orderId, paymentId: String(refund.paymentId) },
    });
    metrics.refunds.inc({ outcome: outcome.kind });

    switch (outcome.kind) {
      case 'refunded': {
        crash('after-refund');
        const recorded = await refunds.recordRefunded(refund, outcome.refundId, this.deps.eventLeaseMs);
        log.info({ refundId: outcome.refundId, status: outcome.status, amount: refund.amount, currency: refund.currency }, 'refund recorded');
        // Null: another instance recorded the same refund first (same key, same refund); it publishes.
        if (recorded) this.deps.onRefunded(recorded);
        return outcome;
      }
      case 'refused':
        await refunds.recordRefused(refund, { code: outcome.code, message: outcome.message });
        log.error({ code: outcome.code, reason: outcome.message, amount: refund.amount }, 'Stripe refused the refund: an operator must look');
        return outcome;
      case 'unavailable':
      case 'unknown': {
        const retryInMs = retryDelayMs(refund.attempts, this.deps.retryBaseMs);
        await refunds.defer(refund, retryInMs);
        log.warn({ reason: outcome.message, attempt: refund.attempts, retryInMs }, 'refund outcome unknown; will ask Stripe again');
        return outcome;
      }
    }
  }

  /** Waits for the refunds started in the background: for shutdown. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private background(work: Promise<unknown>): void {
    const tracked = work
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'refund attempt failed; recovery will retry it'))
      .finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }
}
