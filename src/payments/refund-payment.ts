import { randomUUID } from 'node:crypto';
import { AppError } from '../errors';
import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { retryDelayMs } from './charge-attempt';
import { CrashSwitch } from './crash-points';
import { refundIdempotencyKey } from './keys';
import { Payment, PaymentState, Refund, RefundSource, RefundState, step } from './payment';
import { PaymentProvider, RefundOutcome } from './payment-provider';
import { RefundLedger, remainingOf } from './refund-ledger';
import { PaymentClaimStore, RefundStore } from './stores';

export interface PaymentRefundsDeps {
  claims: PaymentClaimStore;
  refunds: RefundStore;
  provider: PaymentProvider;
  ledger: RefundLedger;
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

/** An operator's refund (the CLI): `amount` in minor units, what remains when absent. */
export interface OperatorRefund {
  orderId: string;
  amount?: number;
  reason: string;
  operator: string;
}

/**
 * Gives money back, durably like the charge: a refund document is inserted before
 * Stripe is called, called under a lease with its own idempotency key, retried after
 * crashes or unanswered calls until Stripe answers, and recorded with the
 * `payment:refunded` it owes in one write. A cancelled order's refund gives back
 * what remains unrefunded; an operator's, any amount up to that (CONTRACT.md,
 * Additions 2026-12-05).
 */
export class PaymentRefunds {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly deps: PaymentRefundsDeps) {}

  /**
   * Owes the refund of a charged payment whose order is cancelled (a cancel, or the
   * outbox finding the order cancelled) and starts it: what remains by the refunds
   * known here (Stripe corrects it, below). Null when one is owed already or nothing remains.
   */
  async oweFor(charged: Payment): Promise<Refund | null> {
    if (!charged.stripeId) return null;
    const remaining = remainingOf(charged, await this.deps.refunds.listByPayment(charged._id));
    if (remaining <= 0) return null;
    const refund = await this.owe(charged, { source: 'cancel', reason: 'order_cancelled', amount: remaining, idempotencyKey: refundIdempotencyKey(charged._id), step: 'order cancelled' });
    // Null: owed already (a redelivered cancel, or the recorder and the cancel both saw it).
    if (!refund) return null;
    this.deps.logger.warn(
      { orderId: charged.orderId, paymentId: String(charged._id), amount: refund.amount, currency: refund.currency },
      'order cancelled after it was charged: refund owed',
    );
    this.deps.crash('after-refund-owed');
    this.background(this.run(refund));
    return refund;
  }

  /**
   * An operator's refund, made at once: Stripe's list of the charge's refunds is read
   * first, so the amount is checked against what really remains.
   * @throws AppError 404 no charged payment for the order; 400 nothing left, or an
   *   amount above what remains; 503 Stripe did not answer (nothing was done).
   */
  async refundByOperator({ orderId, amount, reason, operator }: OperatorRefund): Promise<{ refund: Refund; outcome: RefundOutcome }> {
    const payment = await this.deps.claims.findByOrder(orderId);
    if (!payment || payment.state !== PaymentState.Succeeded || !payment.stripeId) throw new AppError(404, `No charged payment for order ${orderId}`);
    const known = await this.deps.ledger.sync(payment);
    if (!known) throw new AppError(503, 'Stripe did not answer; nothing was refunded');
    const remaining = remainingOf(payment, known);
    if (remaining <= 0) throw new AppError(400, `Nothing left to refund: ${payment.amount} ${payment.currency} charged, all of it refunded or being refunded`);
    const wanted = amount ?? remaining;
    if (!Number.isInteger(wanted) || wanted <= 0 || wanted > remaining) {
      throw new AppError(400, `The amount (${wanted} minor units) must be more than 0 and at most what remains: ${remaining} ${payment.currency}`, 'amount');
    }
    const refund = await this.owe(payment, { source: 'operator', reason, operator, amount: wanted, idempotencyKey: `refund-${String(payment._id)}-op-${randomUUID()}`, step: `asked by ${operator}: ${reason}` });
    if (!refund) throw new Error('an operator refund collided with another on a fresh key');
    this.deps.crash('after-refund-owed');
    const outcome = await this.run(refund);
    return { refund: (await this.deps.refunds.findById(refund._id)) ?? refund, outcome };
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
      metadata: { orderId: refund.orderId, paymentId: String(refund.paymentId), refundKey: refund.idempotencyKey },
    });
    metrics.refunds.inc({ outcome: outcome.kind });

    switch (outcome.kind) {
      case 'refunded': {
        crash('after-refund');
        const recorded = await refunds.recordRefunded(refund, outcome, this.deps.eventLeaseMs);
        log.info({ refundId: outcome.refundId, status: outcome.status, amount: refund.amount, currency: refund.currency }, 'refund recorded');
        // Null: recorded first from Stripe's list (its answer was lost, or another instance); that write owes the event.
        if (recorded) this.deps.onRefunded(recorded);
        return outcome;
      }
      case 'refused':
        await refunds.recordRefused(refund, { code: outcome.code, message: outcome.message });
        if (refund.source !== 'operator' && (await this.refundWhatRemains(refund))) return outcome;
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

  /**
   * A cancel's refund Stripe refused: when refunds made elsewhere (the Dashboard) explain
   * it, what remains is refunded under a key of its own, or nothing if nothing remains.
   * False when they do not (a dispute, say): the refusal stands.
   */
  private async refundWhatRemains(refused: Refund): Promise<boolean> {
    const payment = await this.deps.claims.findById(refused.paymentId);
    const known = payment && (await this.deps.ledger.sync(payment));
    if (!payment || !known) return false;
    const remaining = remainingOf(payment, known, refused);
    if (remaining >= refused.amount) return false;
    const log = { orderId: refused.orderId, paymentId: String(refused.paymentId), asked: refused.amount, remaining };
    if (remaining <= 0) {
      this.deps.logger.info(log, 'refund not needed: the charge was refunded elsewhere already');
      return true;
    }
    const next = await this.owe(payment, { source: 'cancel', reason: refused.reason, amount: remaining, idempotencyKey: `${refused.idempotencyKey}-${remaining}`, step: `what remains after refunds made elsewhere` });
    this.deps.logger.warn(log, 'part of the charge was refunded elsewhere: refunding what remains');
    if (next) await this.run(next);
    return true;
  }

  private owe(payment: Payment, refund: { source: RefundSource; reason: string; operator?: string; amount: number; idempotencyKey: string; step: string }): Promise<Refund | null> {
    return this.deps.refunds.insert({
      paymentId: payment._id,
      orderId: payment.orderId,
      stripeId: payment.stripeId!,
      amount: refund.amount,
      currency: payment.currency,
      source: refund.source,
      reason: refund.reason,
      ...(refund.operator ? { operator: refund.operator } : {}),
      idempotencyKey: refund.idempotencyKey,
      state: RefundState.Owed,
      leaseUntil: new Date(Date.now() + this.deps.leaseMs),
      attempts: 1,
      history: [step('owed', refund.step)],
    });
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
