import { Connection, Model, Schema } from 'mongoose';
import { Refund, RefundState } from '../payments/payment';
import { historySchema } from './payment-model';

/**
 * The refunds collection (payments/payment.ts, Refund, for the states): any number
 * per payment, one per request to Stripe (unique on `idempotencyKey`), inserted
 * before Stripe is called, so the debt survives any crash; one found at Stripe is
 * keyed `stripe-<refundId>`. Each write is guarded by the state it moves from.
 */
const refundSchema = new Schema<Refund>(
  {
    paymentId: { type: Schema.Types.ObjectId, required: true },
    orderId: { type: String, required: true },
    stripeId: { type: String, required: true },
    amount: { type: Number, required: true },
    currency: { type: String, required: true },
    source: { type: String, enum: ['cancel', 'operator', 'dashboard'] },
    reason: { type: String, required: true },
    operator: { type: String },
    idempotencyKey: { type: String, required: true },
    state: { type: String, required: true, enum: Object.values(RefundState) },
    leaseUntil: { type: Date, required: true },
    attempts: { type: Number, required: true },
    refundId: { type: String },
    stripeStatus: { type: String },
    failureReason: { type: String },
    refundedAt: { type: Date },
    failure: { type: { code: String, message: String }, default: undefined },
    eventsOwed: { type: [String], default: [] },
    owesEvents: { type: Boolean, required: true, default: false },
    eventsDueAt: { type: Date, default: null },
    history: historySchema,
  },
  { collection: 'refunds', versionKey: false, timestamps: true },
);

refundSchema.index({ idempotencyKey: 1 }, { unique: true });
refundSchema.index({ paymentId: 1 });
refundSchema.index({ refundId: 1 });
refundSchema.index({ stripeStatus: 1, updatedAt: 1 });
refundSchema.index({ orderId: 1 });
refundSchema.index({ state: 1, leaseUntil: 1 });
refundSchema.index({ owesEvents: 1, eventsDueAt: 1 });

export type RefundModel = Model<Refund>;

export function refundModel(connection: Connection): RefundModel {
  return connection.model<Refund>('Refund', refundSchema);
}

/**
 * Gives refunds written before the outbox flag their `owesEvents`, then builds
 * the indexes. Idempotent; the scan runs only while the flag's index is missing.
 */
export async function prepareRefunds(refunds: RefundModel): Promise<void> {
  const indexes: Array<{ name?: string }> = await refunds.collection.indexes().catch(() => []);
  if (!indexes.some((index) => index.name === 'owesEvents_1_eventsDueAt_1')) {
    await refunds.updateMany({ owesEvents: { $exists: false }, eventsDueAt: { $ne: null } }, { $set: { owesEvents: true } });
    await refunds.updateMany({ owesEvents: { $exists: false } }, { $set: { owesEvents: false } });
  }
  // Before 2026-12-05 a payment had one refund (unique on paymentId); now it has any number.
  if (indexes.some((index) => index.name === 'paymentId_1' && (index as { unique?: boolean }).unique)) await refunds.collection.dropIndex('paymentId_1');
  await refunds.createIndexes();
}
