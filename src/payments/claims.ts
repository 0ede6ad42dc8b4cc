import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import { isDuplicateKey } from '../db-errors';
import { Subjects } from '../events/contracts';
import { Order, OrderModel, OrderStatus, PAYABLE_STATUSES } from '../orders/order-model';
import { LEASED_STATES, Payment, PaymentModel, PaymentState, step } from './payment-model';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Same order and same token give the same key, so Stripe answers a retry with the first charge. */
export function idempotencyKey(orderId: string, token: string): string {
  return `order-${orderId}-${createHash('sha256').update(`${orderId}:${token}`).digest('hex').slice(0, 40)}`;
}

/**
 * The payment document's steps, each one atomic on one document: claim the
 * order, hold a lease while calling Stripe, then record the charge (and owe its
 * event) or release the order. No multi-document transactions are needed.
 */
export class PaymentClaims {
  constructor(
    private readonly payments: PaymentModel,
    private readonly orders: OrderModel,
    private readonly leaseMs: number,
    /**
     * Told when a charge lands on an order that is cancelled: owes the refund and
     * answers the payment as it now stands (or null when someone else owed it first).
     */
    private readonly onChargedCancelled: (payment: Payment) => Promise<Payment | null> = async () => null,
  ) {}

  findByOrder(orderId: string): Promise<Payment | null> {
    return this.payments.findOne({ orderId }).lean<Payment>();
  }

  /** Inserts the claim; null when another request claimed the order first. */
  async claim(order: Order & { userId: string }, token: string, amount: number, currency: string): Promise<Payment | null> {
    const now = new Date();
    try {
      const created = await this.payments.create({
        _id: new Types.ObjectId(),
        orderId: order._id,
        userId: order.userId,
        history: [step('claimed', `${amount} ${currency}`)],
        token,
        tokenHash: hashToken(token),
        idempotencyKey: idempotencyKey(order._id, token),
        amount,
        currency,
        state: PaymentState.Charging,
        leaseUntil: new Date(now.getTime() + this.leaseMs),
        chargeAttempts: 1,
      });
      return created.toObject();
    } catch (err) {
      if (isDuplicateKey(err)) return null;
      throw err;
    }
  }

  /** Takes over a claim whose lease ran out (its holder crashed or deferred it). */
  takeOver(paymentId: Types.ObjectId): Promise<Payment | null> {
    const now = new Date();
    return this.payments
      .findOneAndUpdate(
        { _id: paymentId, state: PaymentState.Charging, leaseUntil: { $lte: now } },
        {
          $set: { leaseUntil: new Date(now.getTime() + this.leaseMs) },
          $inc: { chargeAttempts: 1 },
          $push: { history: step('charge taken over') },
        },
        { returnDocument: 'after' },
      )
      .lean<Payment>();
  }

  /** Payments with a Stripe call (charge or refund) left by a crash or an unanswered call, oldest first. */
  expired(limit: number): Promise<Payment[]> {
    return this.payments
      .find({ state: { $in: LEASED_STATES }, leaseUntil: { $lte: new Date() } })
      .sort({ leaseUntil: 1 })
      .limit(limit)
      .lean<Payment[]>();
  }

  /**
   * Stripe charged: the payment and the `payment:created` it owes are written in
   * one step. The recorder holds the event's lease for `eventLeaseMs` so it can
   * publish it at once; should it die first, the outbox sweep publishes it when
   * the lease ends. Then the order is marked complete; if it was cancelled
   * meanwhile, the refund is owed (and the unpublished `payment:created` dropped).
   * Answers the payment as it now stands: succeeded, or refunding.
   */
  async record(claim: Payment, stripeId: string, eventLeaseMs: number): Promise<Payment> {
    const recorded = await this.payments
      .findOneAndUpdate(
        { _id: claim._id, state: PaymentState.Charging },
        {
          $set: {
            state: PaymentState.Succeeded,
            stripeId,
            chargedAt: new Date(),
            eventsOwed: [Subjects.PaymentCreated],
            eventsDueAt: new Date(Date.now() + eventLeaseMs),
          },
          $unset: { token: 1 },
          $push: { history: step('charged', stripeId) },
        },
        { returnDocument: 'after' },
      )
      .lean<Payment>();
    // Null: another instance recorded the same charge first (same key, same charge id).
    const payment = recorded ?? (await this.payments.findById(claim._id).lean<Payment>());
    if (!payment) throw new Error(`payment ${String(claim._id)} vanished while being recorded`);
    // Written after the payment, read after the order by the cancel handler: one of the two sees the other.
    const marked = await this.orders.updateOne(
      { _id: claim.orderId, status: { $in: PAYABLE_STATUSES } },
      { $set: { status: OrderStatus.Complete } },
    );
    if (marked.matchedCount > 0) return payment;
    const order = await this.orders.findById(claim.orderId).lean();
    if (order?.status !== OrderStatus.Cancelled) return payment;
    return (await this.onChargedCancelled(payment)) ?? (await this.payments.findById(claim._id).lean<Payment>()) ?? payment;
  }

  /** Nothing was charged: free the order for another card. */
  async release(claim: Payment): Promise<void> {
    // Only while this attempt still holds it: a holder whose lease ran out must not free a claim recovery took over.
    await this.payments.deleteOne({ _id: claim._id, state: PaymentState.Charging, chargeAttempts: claim.chargeAttempts });
  }

  /** The outcome is unknown: keep the claim, and let recovery ask Stripe again after `retryInMs`. */
  async defer(claim: Payment, retryInMs: number): Promise<void> {
    await this.payments.updateOne(
      { _id: claim._id, state: PaymentState.Charging, chargeAttempts: claim.chargeAttempts },
      { $set: { leaseUntil: new Date(Date.now() + retryInMs) }, $push: { history: step('charge outcome unknown', `retry in ${retryInMs} ms`) } },
    );
  }
}
