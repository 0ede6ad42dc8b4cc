import { Subjects } from '../events/contracts';
import { DocumentId, Refund, RefundState, step } from '../payments/payment';
import { RefundStore } from '../payments/stores';
import { isDuplicateKey } from './db-errors';
import { expiredLeases } from './leases';
import { RefundModel } from './refund-model';

/** Refunds over the refunds collection (refund-model.ts); each step one write guarded by the state and lease held. */
export class MongoRefunds implements RefundStore {
  constructor(
    private readonly refunds: RefundModel,
    /** How long a takeover holds a refund, in ms (as for a charge). */
    private readonly leaseMs: number,
  ) {}

  async insert(refund: Parameters<RefundStore['insert']>[0]): Promise<Refund | null> {
    try {
      return (await this.refunds.create(refund)).toObject();
    } catch (err) {
      if (isDuplicateKey(err)) return null;
      throw err;
    }
  }

  findByPayment(paymentId: DocumentId): Promise<Refund | null> {
    return this.refunds.findOne({ paymentId }).lean<Refund>();
  }

  expired(limit: number): Promise<Refund[]> {
    return expiredLeases<Refund>(this.refunds, RefundState.Owed, limit);
  }

  takeOver(id: DocumentId): Promise<Refund | null> {
    const now = new Date();
    return this.refunds
      .findOneAndUpdate(
        { _id: id, state: RefundState.Owed, leaseUntil: { $lte: now } },
        { $set: { leaseUntil: new Date(now.getTime() + this.leaseMs) }, $inc: { attempts: 1 }, $push: { history: step('taken over') } },
        { returnDocument: 'after' },
      )
      .lean<Refund>();
  }

  recordRefunded(refund: Refund, refundId: string, eventLeaseMs: number): Promise<Refund | null> {
    return this.refunds
      .findOneAndUpdate(
        { _id: refund._id, state: RefundState.Owed },
        {
          $set: {
            state: RefundState.Refunded,
            refundId,
            refundedAt: new Date(),
            eventsOwed: [Subjects.PaymentRefunded],
            owesEvents: true,
            eventsDueAt: new Date(Date.now() + eventLeaseMs),
          },
          $push: { history: step('refunded', refundId) },
        },
        { returnDocument: 'after' },
      )
      .lean<Refund>();
  }

  async recordRefused(refund: Refund, failure: { code: string; message: string }): Promise<void> {
    await this.refunds.updateOne(this.held(refund), {
      $set: { state: RefundState.Refused, failure },
      $push: { history: step('refused', failure.code) },
    });
  }

  async defer(refund: Refund, retryInMs: number): Promise<void> {
    await this.refunds.updateOne(this.held(refund), {
      $set: { leaseUntil: new Date(Date.now() + retryInMs) },
      $push: { history: step('outcome unknown', `retry in ${retryInMs} ms`) },
    });
  }

  countOwed(): Promise<number> {
    return this.refunds.countDocuments({ state: RefundState.Owed });
  }

  /** Only while the caller's attempt still holds it. */
  private held(refund: Refund) {
    return { _id: refund._id, state: RefundState.Owed, attempts: refund.attempts };
  }
}
