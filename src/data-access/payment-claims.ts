import { Types } from 'mongoose';
import { DocumentId, Payment, PaymentState, step } from '../payments/payment';
import { PaymentClaimStore } from '../payments/stores';
import { isDuplicateKey } from './db-errors';
import { driverCollection } from './driver-collection';
import { expiredLeases } from './leases';
import { PaymentModel } from './payment-model';

/**
 * Claims on orders over the payments collection (payment-model.ts): the insert
 * that takes an order's lock and an attempt slot, the lease takeovers, and the
 * reads around them.
 */
export class MongoPaymentClaims implements PaymentClaimStore {
  constructor(
    private readonly payments: PaymentModel,
    /** How long a takeover holds a claim, in ms: longer than its holder can spend calling Stripe. */
    private readonly leaseMs: number,
  ) {}

  newId(): DocumentId {
    return new Types.ObjectId();
  }

  async insert(claim: Payment): Promise<'inserted' | 'duplicate'> {
    try {
      // Straight to the driver, every field written out: the hot path skips building a mongoose document.
      await driverCollection<Payment>(this.payments).insertOne(claim);
      return 'inserted';
    } catch (err) {
      if (isDuplicateKey(err)) return 'duplicate';
      throw err;
    }
  }

  /** One unique key, straight to the driver: the request path and every cancel ask it. */
  findByOrder(orderId: string): Promise<Payment | null> {
    return driverCollection<Payment>(this.payments).findOne({ orderLock: orderId });
  }

  latestForOrder(orderId: string): Promise<Payment | null> {
    return this.payments.findOne({ orderId }).sort({ createdAt: -1 }).lean<Payment>();
  }

  /**
   * How many payments are still `charging` though they should have settled: those
   * claimed before `claimedBefore`, and, when the customer was asked for 3-D Secure
   * (`actionRequiredAt` set), those claimed before `actionClaimedBefore` (which
   * should allow for the action timeout). Rejects when the database does not answer.
   */
  countStaleCharging({ claimedBefore, actionClaimedBefore }: { claimedBefore: Date; actionClaimedBefore: Date }): Promise<number> {
    return this.payments.countDocuments({
      state: PaymentState.Charging,
      $or: [{ actionRequiredAt: null, createdAt: { $lt: claimedBefore } }, { createdAt: { $lt: actionClaimedBefore } }],
    });
  }

  findById(id: DocumentId | string): Promise<Payment | null> {
    return this.payments.findById(id).lean<Payment>();
  }

  async findByProviderIds({ paymentId, paymentIntentId, stripeId }: { paymentId?: string; paymentIntentId?: string; stripeId?: string }): Promise<Payment | null> {
    if (paymentId && Types.ObjectId.isValid(paymentId)) {
      const found = await this.findById(paymentId);
      if (found) return found;
    }
    const query = paymentIntentId ? { paymentIntentId } : stripeId ? { stripeId } : undefined;
    return query ? this.payments.findOne(query).lean<Payment>() : null;
  }

  takeOver(id: DocumentId): Promise<Payment | null> {
    return this.takeOverWhere(id, false, 'charge taken over');
  }

  /** Whoever takes it over clears `awaitingCustomer`, so a webhook and recovery do not both hold it. */
  takeOverForEvent(id: DocumentId): Promise<Payment | null> {
    return this.takeOverWhere(id, true, 'taken over for a Stripe event');
  }

  expired(limit: number): Promise<Payment[]> {
    return expiredLeases<Payment>(this.payments, PaymentState.Charging, limit);
  }

  private takeOverWhere(id: DocumentId, orAwaitingCustomer: boolean, what: string): Promise<Payment | null> {
    const now = new Date();
    const expired = { leaseUntil: { $lte: now } };
    return this.payments
      .findOneAndUpdate(
        { _id: id, state: PaymentState.Charging, ...(orAwaitingCustomer ? { $or: [expired, { awaitingCustomer: true }] } : expired) },
        {
          $set: { leaseUntil: new Date(now.getTime() + this.leaseMs) },
          $unset: { awaitingCustomer: 1 },
          $inc: { chargeAttempts: 1 },
          $push: { history: step(what) },
        },
        { returnDocument: 'after' },
      )
      .lean<Payment>();
  }
}
