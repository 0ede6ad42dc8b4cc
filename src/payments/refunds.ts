import { Types } from 'mongoose';
import { Subjects } from '../events/contracts';
import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { retryDelayMs } from './charge-attempt';
import { CrashSwitch } from './crash-points';
import { Payment, PaymentModel, PaymentState, step } from './payment-model';
import { RefundOutcome, StripeRefunds } from './stripe-refunds';

/** One refund per payment: every retry of it is the same request to Stripe, so Stripe refunds once. */
export function refundIdempotencyKey(paymentId: Types.ObjectId | string): string {
  return `refund-${String(paymentId)}`;
}

export interface PaymentRefundsDeps {
  payments: PaymentModel;
  stripe: StripeRefunds;
  /** How long the holder may spend asking Stripe, in milliseconds (as for a charge). */
  leaseMs: number;
  /** How long the recorder holds the new `payment:refunded` before the outbox sweep may take it. */
  eventLeaseMs: number;
  /** First wait before asking Stripe again about an unanswered refund; doubles each time. */
  retryBaseMs: number;
  /** Told of each refund recorded, so its event can be relayed at once. */
  onRefunded: (payment: Payment) => void;
  metrics: Metrics;
  logger: Logger;
  crash: CrashSwitch;
}

/**
 * Gives back the money taken for an order that is cancelled, once. The refund is
 * a durable step like the charge: it is owed in the payment document before
 * Stripe is called, called under a lease with a key derived from the payment,
 * retried after crashes or unanswered calls until Stripe answers, and recorded
 * with the `payment:refunded` it owes in one write.
 */
export class PaymentRefunds {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly deps: PaymentRefundsDeps) {}

  /**
   * The order is cancelled: if its payment was charged, owe the refund (and drop a
   * `payment:created` not yet published) and start it at once in the background.
   * Resolves once the debt is stored; idempotent (a payment owes one refund).
   * Answers the payment that now owes it, or null when there was nothing to owe.
   */
  async oweForOrder(orderId: string): Promise<Payment | null> {
    const { payments, leaseMs, crash } = this.deps;
    const charged = await payments.findOne({ orderId, state: PaymentState.Succeeded }).lean<Payment>();
    if (!charged) return null;
    const payment = await payments
      .findOneAndUpdate(
        { _id: charged._id, state: PaymentState.Succeeded },
        {
          $set: {
            state: PaymentState.Refunding,
            leaseUntil: new Date(Date.now() + leaseMs),
            refund: {
              reason: 'order_cancelled',
              amount: charged.amount,
              idempotencyKey: refundIdempotencyKey(charged._id),
              attempts: 1,
              owedAt: new Date(),
            },
          },
          // What the orders service has not been told yet it need not hear: payment:refunded follows.
          $pull: { eventsOwed: Subjects.PaymentCreated },
          $push: { history: step('refund owed', 'order cancelled') },
        },
        { returnDocument: 'after' },
      )
      .lean<Payment>();
    if (!payment) return null; // another instance owed it first
    this.deps.logger.warn(
      { orderId, paymentId: String(payment._id), amount: payment.amount, currency: payment.currency },
      'order cancelled after it was charged: refund owed',
    );
    crash('after-refund-owed');
    this.background(this.run(payment));
    return payment;
  }

  /** Takes over a refund whose lease ran out (its holder crashed, or Stripe did not answer). */
  takeOver(paymentId: Types.ObjectId): Promise<Payment | null> {
    const now = new Date();
    return this.deps.payments
      .findOneAndUpdate(
        { _id: paymentId, state: PaymentState.Refunding, leaseUntil: { $lte: now } },
        {
          $set: { leaseUntil: new Date(now.getTime() + this.deps.leaseMs) },
          $inc: { 'refund.attempts': 1 },
          $push: { history: step('refund taken over') },
        },
        { returnDocument: 'after' },
      )
      .lean<Payment>();
  }

  /**
   * One call to Stripe for a refund this instance holds the lease of; whatever
   * Stripe answers is saved before this returns.
   */
  async run(payment: Payment): Promise<RefundOutcome> {
    const { payments, stripe, metrics, crash } = this.deps;
    const refund = payment.refund;
    if (!refund || !payment.stripeId) throw new Error(`payment ${String(payment._id)} is refunding without a refund or a charge`);
    const log = this.deps.logger.child({ orderId: payment.orderId, paymentId: String(payment._id), stripeId: payment.stripeId });
    const outcome = await stripe.refund({
      charge: payment.stripeId,
      amount: refund.amount,
      idempotencyKey: refund.idempotencyKey,
      metadata: { orderId: payment.orderId, paymentId: String(payment._id) },
    });
    metrics.refunds.inc({ outcome: outcome.kind });
    const holding = { _id: payment._id, state: PaymentState.Refunding, 'refund.attempts': refund.attempts };

    switch (outcome.kind) {
      case 'refunded': {
        crash('after-refund');
        const recorded = await payments
          .findOneAndUpdate(
            { _id: payment._id, state: PaymentState.Refunding },
            {
              $set: {
                state: PaymentState.Refunded,
                'refund.id': outcome.refundId,
                'refund.refundedAt': new Date(),
                eventsDueAt: new Date(Date.now() + this.deps.eventLeaseMs),
              },
              $push: { eventsOwed: Subjects.PaymentRefunded, history: step('refunded', outcome.refundId) },
            },
            { returnDocument: 'after' },
          )
          .lean<Payment>();
        log.info({ refundId: outcome.refundId, status: outcome.status, amount: refund.amount, currency: payment.currency }, 'refund recorded');
        // Null: another instance recorded the same refund first (same key, same refund); it publishes.
        if (recorded) this.deps.onRefunded(recorded);
        return outcome;
      }
      case 'refused':
        await payments.updateOne(holding, {
          $set: { state: PaymentState.RefundFailed, 'refund.failure': { code: outcome.code, message: outcome.message } },
          $push: { history: step('refund refused', outcome.code) },
        });
        log.error({ code: outcome.code, reason: outcome.message, amount: refund.amount }, 'Stripe refused the refund: an operator must look');
        return outcome;
      case 'unavailable':
      case 'unknown': {
        const retryInMs = retryDelayMs(refund.attempts, this.deps.retryBaseMs);
        await payments.updateOne(holding, {
          $set: { leaseUntil: new Date(Date.now() + retryInMs) },
          $push: { history: step('refund outcome unknown', `retry in ${retryInMs} ms`) },
        });
        log.warn({ reason: outcome.message, attempt: refund.attempts, retryInMs }, 'refund outcome unknown; will ask Stripe again');
        return outcome;
      }
    }
  }

  /** How many refunds are owed and not yet confirmed by Stripe. */
  owed(): Promise<number> {
    return this.deps.payments.countDocuments({ state: PaymentState.Refunding });
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
