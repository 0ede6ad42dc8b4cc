import { Connection, Model, Schema } from 'mongoose';
import { Subjects } from '../events/contracts';
import { Dispute, DocumentId, Payment, step } from '../payments/payment';
import { ProviderDispute } from '../payments/payment-provider';
import { DisputeStore } from '../payments/stores';
import { isDuplicateKey } from './db-errors';
import { historySchema } from './payment-model';

/** The disputes collection: one per Stripe dispute (unique `disputeId`), as last read from Stripe, with the events it owes. */
const disputeSchema = new Schema<Dispute>(
  {
    disputeId: { type: String, required: true },
    paymentId: { type: Schema.Types.ObjectId, required: true },
    orderId: { type: String, required: true },
    stripeId: { type: String, required: true },
    amount: { type: Number, required: true },
    currency: { type: String, required: true },
    reason: { type: String, required: true },
    status: { type: String, required: true },
    fundsWithdrawn: { type: Number, required: true, default: 0 },
    fundsReinstated: { type: Number, required: true, default: 0 },
    eventsOwed: { type: [String], default: [] },
    owesEvents: { type: Boolean, required: true, default: false },
    eventsDueAt: { type: Date, default: null },
    history: historySchema,
  },
  { collection: 'disputes', versionKey: false, timestamps: true },
);
disputeSchema.index({ disputeId: 1 }, { unique: true });
disputeSchema.index({ paymentId: 1 });
disputeSchema.index({ owesEvents: 1, eventsDueAt: 1 });

export type DisputeModel = Model<Dispute>;

export function disputeModel(connection: Connection): DisputeModel {
  return connection.model<Dispute>('Dispute', disputeSchema);
}

export class MongoDisputes implements DisputeStore {
  constructor(private readonly disputes: DisputeModel) {}

  async observe(payment: Payment, seen: ProviderDispute, eventLeaseMs: number): Promise<{ kind: 'new' | 'changed' | 'same'; dispute: Dispute }> {
    const { disputeId, status, amount, currency, reason, fundsWithdrawn, fundsReinstated } = seen;
    for (;;) {
      const known = await this.disputes.findOne({ disputeId }).lean<Dispute>();
      if (!known) {
        try {
          const created = await this.disputes.create({
            disputeId, paymentId: payment._id, orderId: payment.orderId, stripeId: seen.chargeId, amount, currency, reason, status, fundsWithdrawn, fundsReinstated,
            eventsOwed: [Subjects.PaymentDisputed], owesEvents: true, eventsDueAt: new Date(Date.now() + eventLeaseMs),
            history: [step(`dispute ${status}`, `${reason} ${amount} ${currency}`)],
          });
          return { kind: 'new', dispute: created.toObject() };
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          continue; // stored meanwhile by another reader
        }
      }
      const funds = fundsWithdrawn !== known.fundsWithdrawn || fundsReinstated !== known.fundsReinstated;
      if (status === known.status && !funds) return { kind: 'same', dispute: known };
      const changed = status !== known.status;
      const steps = [
        ...(changed ? [step(`dispute ${status}`, `was ${known.status}`)] : []),
        ...(fundsWithdrawn !== known.fundsWithdrawn ? [step('funds withdrawn', `${fundsWithdrawn} ${currency}`)] : []),
        ...(fundsReinstated !== known.fundsReinstated ? [step('funds reinstated', `${fundsReinstated} ${currency}`)] : []),
      ];
      // Guarded by what was read, so each change of status owes its one event.
      const moved = await this.disputes
        .findOneAndUpdate(
          { _id: known._id, status: known.status, fundsWithdrawn: known.fundsWithdrawn, fundsReinstated: known.fundsReinstated },
          {
            $set: { status, fundsWithdrawn, fundsReinstated, ...(changed ? { owesEvents: true, eventsDueAt: new Date(Date.now() + eventLeaseMs) } : {}) },
            $push: { history: { $each: steps }, ...(changed ? { eventsOwed: Subjects.PaymentDisputed } : {}) },
          },
          { returnDocument: 'after' },
        )
        .lean<Dispute>();
      if (moved) return { kind: changed ? 'changed' : 'same', dispute: moved };
    }
  }

  findByPayment(paymentId: DocumentId): Promise<Dispute | null> {
    return this.disputes.findOne({ paymentId }).sort({ createdAt: -1 }).lean<Dispute>();
  }
}
