import { Connection, Model, Schema, Types } from 'mongoose';
import { HistoryStep, historySchema } from './payment-model';

/**
 * The refund of a payment whose order is cancelled: at most one per payment
 * (unique on `paymentId`), inserted before Stripe is called, so the debt survives
 * any crash:
 *
 *   owed     - Stripe has not confirmed it yet. Whoever holds `leaseUntil` may
 *              call Stripe's Refunds API with `idempotencyKey`.
 *   refunded - Stripe holds it (`refundId`); `payment:refunded` is owed in the
 *              same write (`eventsOwed`/`eventsDueAt`, as in a payment).
 *   refused  - Stripe refused it for good (`failure`: already refunded, disputed);
 *              an operator takes it from there.
 *
 * Written by one holder at a time: whoever inserted it or holds its lease, then
 * the outbox. The cancel handler and the payment recorder only ever insert it.
 */
export const RefundState = { Owed: 'owed', Refunded: 'refunded', Refused: 'refused' } as const;
export type RefundState = (typeof RefundState)[keyof typeof RefundState];

export interface Refund {
  _id: Types.ObjectId;
  paymentId: Types.ObjectId;
  orderId: string;
  /** The charge refunded (`ch_…`). */
  stripeId: string;
  /** Minor units of `currency`: always the whole charged amount. */
  amount: number;
  currency: string;
  /** Why the money is given back: the order was cancelled before or while it was charged. */
  reason: 'order_cancelled';
  /** `refund-<paymentId>`: every retry of this refund is the same request to Stripe. */
  idempotencyKey: string;
  state: RefundState;
  leaseUntil: Date;
  /** Calls to Stripe so far, the one in flight included. */
  attempts: number;
  /** Stripe's refund id (`re_…`) once Stripe confirmed it. */
  refundId?: string;
  refundedAt?: Date;
  /** Stripe's definite refusal: its error code and message. */
  failure?: { code: string; message: string };
  eventsOwed: string[];
  /** True while `eventsOwed` is not empty: the indexed flag the outbox sweep looks for. */
  owesEvents: boolean;
  eventsDueAt: Date | null;
  history: HistoryStep[];
  createdAt: Date;
  updatedAt: Date;
}

const refundSchema = new Schema<Refund>(
  {
    paymentId: { type: Schema.Types.ObjectId, required: true },
    orderId: { type: String, required: true },
    stripeId: { type: String, required: true },
    amount: { type: Number, required: true },
    currency: { type: String, required: true },
    reason: { type: String, required: true },
    idempotencyKey: { type: String, required: true },
    state: { type: String, required: true, enum: Object.values(RefundState) },
    leaseUntil: { type: Date, required: true },
    attempts: { type: Number, required: true },
    refundId: { type: String },
    refundedAt: { type: Date },
    failure: { type: { code: String, message: String }, default: undefined },
    eventsOwed: { type: [String], default: [] },
    owesEvents: { type: Boolean, required: true, default: false },
    eventsDueAt: { type: Date, default: null },
    history: historySchema,
  },
  { collection: 'refunds', versionKey: false, timestamps: true },
);

refundSchema.index({ paymentId: 1 }, { unique: true });
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
  await refunds.createIndexes();
}
