import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { OneAtATime } from '../orders/one-at-a-time';
import { Payment, Refund, RefundState } from './payment';
import { PaymentProvider } from './payment-provider';
import { PaymentClaimStore, RefundStore } from './stores';

/** Refunds that hold money back from the charge: accepted by Stripe (pending or succeeded), or asked and not yet answered. */
const HOLDING = new Set<string>([RefundState.Owed, RefundState.Refunded]);

/**
 * This service's copy of a charge's refunds, with Stripe as the ledger (CONTRACT.md,
 * Additions 2026-12-05): every refund Stripe lists for the charge is recorded once,
 * wherever it was made, and its status followed forward; each new or changed one owes
 * its event in the same write (`payment:refunded`, `payment:refund_failed`).
 */
export class RefundLedger {
  /** The syncs of one payment, one at a time in this process (one-at-a-time.ts says why). */
  private readonly perPayment = new OneAtATime();

  constructor(
    private readonly deps: {
      claims: PaymentClaimStore;
      refunds: RefundStore;
      provider: PaymentProvider;
      /** Told of each refund that now owes an event, so it is relayed at once. */
      onOwed: (refund: Refund) => void;
      /** How long the reader holds a new event before the outbox sweep may take it, in ms. */
      eventLeaseMs: number;
      metrics: Metrics;
      logger: Logger;
    },
  ) {}

  /**
   * Reads the charge's refunds from Stripe and records what changed. Answers this
   * service's refunds of the payment afterwards, or null when Stripe did not answer.
   */
  sync(payment: Payment): Promise<Refund[] | null> {
    return this.perPayment.run(String(payment._id), () => this.read(payment));
  }

  private async read(payment: Payment): Promise<Refund[] | null> {
    const { provider, refunds, metrics } = this.deps;
    if (!payment.stripeId) return [];
    const listed = await provider.refundsOf(payment.stripeId);
    if (listed.kind !== 'listed') {
      this.deps.logger.warn({ orderId: payment.orderId, reason: listed.message }, 'refunds not read from Stripe; will read again');
      return null;
    }
    for (const seen of listed.refunds) {
      const observed = await refunds.observe(payment, seen, this.deps.eventLeaseMs);
      if (observed.kind === 'same') continue;
      const { refund } = observed;
      const log = { orderId: refund.orderId, paymentId: String(refund.paymentId), refundId: refund.refundId, amount: refund.amount, currency: refund.currency, source: refund.source };
      if (refund.state === RefundState.Failed || refund.state === RefundState.Canceled) {
        metrics.refundsFailed.inc({ reason: refund.failureReason ?? refund.state });
        this.deps.logger.error({ ...log, status: refund.stripeStatus, reason: refund.failureReason }, 'a refund failed at Stripe: the money is not back; an operator must look');
      } else {
        this.deps.logger.info({ ...log, status: refund.stripeStatus }, observed.kind === 'new' ? 'refund found at Stripe: recorded' : 'refund status changed at Stripe');
      }
      if (refund.owesEvents) this.deps.onOwed(refund);
    }
    return refunds.listByPayment(payment._id);
  }

  /** Re-reads the refunds still pending at Stripe (a webhook about them may never come), at most `limit` a pass. */
  async settlePending(limit: number): Promise<void> {
    const done = new Set<string>();
    for (const refund of await this.deps.refunds.unsettled(limit)) {
      if (done.has(String(refund.paymentId))) continue;
      done.add(String(refund.paymentId));
      const payment = await this.deps.claims.findById(refund.paymentId);
      if (payment) await this.sync(payment);
    }
  }
}

/** What remains to refund of a payment, in minor units, by this service's copy of its refunds (`except` left out). */
export function remainingOf(payment: Payment, refunds: Refund[], except?: Refund): number {
  const held = refunds.filter((refund) => HOLDING.has(refund.state) && String(refund._id) !== String(except?._id));
  return payment.amount - held.reduce((sum, refund) => sum + refund.amount, 0);
}
