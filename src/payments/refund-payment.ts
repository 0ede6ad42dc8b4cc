import { Types } from 'mongoose';
import { isDuplicateKey } from '../data-access/db-errors';
import { Subjects } from '../events/contracts';
import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { retryDelayMs } from './charge-attempt';
import { CrashSwitch } from './crash-points';
import { findLockHolder, Payment, PaymentModel, PaymentState, step } from '../data-access/payment-model';
import { Refund, RefundModel, RefundState } from '../data-access/refund-model';
import { RefundOutcome, StripeRefunds } from '../stripe/refunds';

/** One refund per payment: every retry of it is the same request to Stripe, so Stripe refunds once. */
export function refundIdempotencyKey(paymentId: Types.ObjectId | string): string {
  return `refund-${String(paymentId)}`;
}

export interface PaymentRefundsDeps {
  payments: PaymentModel;
  refunds: RefundModel;
  stripe: StripeRefunds;
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
   * The order is cancelled: if its payment was charged, owe the refund and start
   * it at once in the background. Resolves once the debt is stored; idempotent
   * (a payment owes one refund). Answers the refund owed now, or null when there
   * was nothing to owe or it was owed before.
   */
  async oweForOrder(orderId: string): Promise<Refund | null> {
    // By the order's lock (one unique key). A filter `{orderId, state: 'succeeded'}` made the
    // stand-in intersect the `state` index too, whose 'succeeded' entries grow with every
    // payment (2.4 ms a find at 20,000 payments against 1.2 by the lock).
    const holder = await findLockHolder(this.deps.payments, orderId);
    return holder?.state === PaymentState.Succeeded ? this.oweFor(holder) : null;
  }

  /**
   * The same for a charged payment the caller holds already (the outbox, which
   * found its order cancelled): owes its refund and starts it, with no lookup.
   */
  async oweFor(charged: Payment): Promise<Refund | null> {
    const { refunds, leaseMs, crash } = this.deps;
    if (!charged.stripeId) return null;
    const { orderId } = charged;
    let refund: Refund;
    try {
      const created = await refunds.create({
        paymentId: charged._id,
        orderId,
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
      refund = created.toObject();
    } catch (err) {
      if (isDuplicateKey(err)) return null; // owed already (a redelivered cancel, or the recorder and the cancel both saw it)
      throw err;
    }
    this.deps.logger.warn(
      { orderId, paymentId: String(charged._id), amount: refund.amount, currency: refund.currency },
      'order cancelled after it was charged: refund owed',
    );
    crash('after-refund-owed');
    this.background(this.run(refund));
    return refund;
  }

  /** Refunds left by a crash or an unanswered call, oldest first. */
  expired(limit: number): Promise<Refund[]> {
    return this.deps.refunds
      .find({ state: RefundState.Owed, leaseUntil: { $lte: new Date() } })
      .sort({ leaseUntil: 1 })
      .limit(limit)
      .lean<Refund[]>();
  }

  /** Takes over a refund whose lease ran out (its holder crashed, or Stripe did not answer). */
  takeOver(refundId: Types.ObjectId): Promise<Refund | null> {
    const now = new Date();
    return this.deps.refunds
      .findOneAndUpdate(
        { _id: refundId, state: RefundState.Owed, leaseUntil: { $lte: now } },
        {
          $set: { leaseUntil: new Date(now.getTime() + this.deps.leaseMs) },
          $inc: { attempts: 1 },
          $push: { history: step('taken over') },
        },
        { returnDocument: 'after' },
      )
      .lean<Refund>();
  }

  /**
   * One call to Stripe for a refund this instance holds the lease of; whatever
   * Stripe answers is saved before this returns.
   */
  async run(refund: Refund): Promise<RefundOutcome> {
    const { refunds, stripe, metrics, crash } = this.deps;
    const log = this.deps.logger.child({ orderId: refund.orderId, paymentId: String(refund.paymentId), stripeId: refund.stripeId });
    const outcome = await stripe.refund({
      charge: refund.stripeId,
      amount: refund.amount,
      idempotencyKey: refund.idempotencyKey,
      metadata: { orderId: refund.orderId, paymentId: String(refund.paymentId) },
    });
    metrics.refunds.inc({ outcome: outcome.kind });
    const holding = { _id: refund._id, state: RefundState.Owed, attempts: refund.attempts };

    switch (outcome.kind) {
      case 'refunded': {
        crash('after-refund');
        const recorded = await refunds
          .findOneAndUpdate(
            { _id: refund._id, state: RefundState.Owed },
            {
              $set: {
                state: RefundState.Refunded,
                refundId: outcome.refundId,
                refundedAt: new Date(),
                eventsOwed: [Subjects.PaymentRefunded],
                owesEvents: true,
                eventsDueAt: new Date(Date.now() + this.deps.eventLeaseMs),
              },
              $push: { history: step('refunded', outcome.refundId) },
            },
            { returnDocument: 'after' },
          )
          .lean<Refund>();
        log.info({ refundId: outcome.refundId, status: outcome.status, amount: refund.amount, currency: refund.currency }, 'refund recorded');
        // Null: another instance recorded the same refund first (same key, same refund); it publishes.
        if (recorded) this.deps.onRefunded(recorded);
        return outcome;
      }
      case 'refused':
        await refunds.updateOne(holding, {
          $set: { state: RefundState.Refused, failure: { code: outcome.code, message: outcome.message } },
          $push: { history: step('refused', outcome.code) },
        });
        log.error({ code: outcome.code, reason: outcome.message, amount: refund.amount }, 'Stripe refused the refund: an operator must look');
        return outcome;
      case 'unavailable':
      case 'unknown': {
        const retryInMs = retryDelayMs(refund.attempts, this.deps.retryBaseMs);
        await refunds.updateOne(holding, {
          $set: { leaseUntil: new Date(Date.now() + retryInMs) },
          $push: { history: step('outcome unknown', `retry in ${retryInMs} ms`) },
        });
        log.warn({ reason: outcome.message, attempt: refund.attempts, retryInMs }, 'refund outcome unknown; will ask Stripe again');
        return outcome;
      }
    }
  }

  /** How many refunds are owed and not yet confirmed by Stripe. */
  owed(): Promise<number> {
    return this.deps.refunds.countDocuments({ state: RefundState.Owed });
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
