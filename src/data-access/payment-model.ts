import { Connection, Model, Schema } from 'mongoose';
import { Payment, PaymentState } from '../payments/payment';

/** A document's `history` (payments/payment.ts, HistoryStep). */
export const historySchema = { type: [{ _id: false, at: Date, step: String, detail: String }], default: [] };

/**
 * One document per payment attempt that reached the point of charging: a
 * request that found its order payable inserts it, and it is carried through
 * every step, so a crash at any point leaves a record to resume from:
 *
 *   charging  - claimed; the charge may or may not have reached Stripe. Whoever
 *               holds `leaseUntil` may call Stripe with `idempotencyKey` and
 *               `token` (the card token or PaymentMethod id, as `method` says;
 *               kept only until the outcome is known: Stripe replays an
 *               idempotent request only when its parameters are the same).
 *               `paymentIntentId` once Stripe named it; `actionRequiredAt` while
 *               the customer is asked for 3-D Secure.
 *   succeeded - charged (`stripeId`). A refund, if the order is cancelled, is a
 *               document of its own (`refunds`, see refund-model.ts).
 *   failed    - nothing was charged (declined, rejected, abandoned, or Stripe
 *               said for certain that nothing exists): `failure` says why. The
 *               order is free for another attempt; this one stays as its record
 *               and as one of the user's attempts (below).
 *
 * Two unique keys, both taken by the one insert that claims the order, so no
 * read-modify-write is needed and the stand-in's non-atomic updates do not matter:
 *   `orderLock`   - the order id while the attempt holds the order (charging or
 *                   succeeded): one holder per order, across instances. A failed
 *                   attempt gives it up (`released:<paymentId>`).
 *   `attemptSlot` - `<userId>:<window start ms>:<k>`, k < the attempt limit: at
 *                   most that many attempts per user in a window (attempt-limit.ts).
 *
 * The outbox lives in the same document: `eventsOwed` lists the subjects still to
 * publish, `owesEvents` says whether there are any (an explicit, indexed flag:
 * the sweep finds only the documents that owe something) and `eventsDueAt` when
 * the outbox may take them (it is also the publisher's lease).
 *
 * Only one writer at a time touches a payment: the holder of `leaseUntil` while
 * it is charging, then the holder of `eventsDueAt`. (Per-document atomicity is
 * MongoDB's; the FerretDB stand-in loses one of two concurrent updates of a
 * document, so no design here may rely on two writers meeting in one document.)
 */
const paymentSchema = new Schema<Payment>(
  {
    orderId: { type: String, required: true },
    userId: { type: String, required: true },
    orderLock: { type: String, required: true },
    attemptSlot: { type: String, required: true },
    token: { type: String },
    method: { type: String, enum: ['token', 'paymentMethodId'], default: 'token' },
    tokenHash: { type: String, required: true },
    idempotencyKey: { type: String, required: true },
    amount: { type: Number, required: true },
    currency: { type: String, required: true },
    state: { type: String, required: true, enum: Object.values(PaymentState) },
    leaseUntil: { type: Date, required: true },
    chargeAttempts: { type: Number, required: true, default: 0 },
    stripeId: { type: String },
    paymentIntentId: { type: String },
    actionRequiredAt: { type: Date },
    storedFailureAt: { type: Date },
    awaitingCustomer: { type: Boolean },
    chargedAt: { type: Date },
    failure: { type: { _id: false, kind: String, message: String }, default: undefined },
    failedAt: { type: Date },
    eventsOwed: { type: [String], default: [] },
    owesEvents: { type: Boolean, required: true, default: false },
    eventsDueAt: { type: Date, default: null },
    history: historySchema,
  },
  { collection: 'payments', versionKey: false, timestamps: true },
);

// Every filter below is an equality the database answers from an index (FerretDB's
// PostgreSQL backend pushes equalities down, not ranges or nulls): the sweeps cost
// what is due, not what is stored.
paymentSchema.index({ orderLock: 1 }, { unique: true });
paymentSchema.index({ attemptSlot: 1 }, { unique: true });
paymentSchema.index({ orderId: 1 });
paymentSchema.index({ state: 1, leaseUntil: 1 });
paymentSchema.index({ owesEvents: 1, eventsDueAt: 1 });
paymentSchema.index({ paymentIntentId: 1 });
paymentSchema.index({ stripeId: 1 });

export type PaymentModel = Model<Payment>;

export function paymentModel(connection: Connection): PaymentModel {
  return connection.model<Payment>('Payment', paymentSchema);
}

/**
 * Brings payments written before the attempt slots and the outbox flag to the
 * current shape, then builds the indexes: the unique `orderLock` and
 * `attemptSlot` cannot be built while older documents lack them. Idempotent, so
 * every instance runs it at start; a no-op on a database that is current.
 */
export async function preparePayments(payments: PaymentModel): Promise<void> {
  const indexes: Array<{ name?: string; unique?: boolean }> = await payments.collection.indexes().catch(() => []);
  // Once `orderLock` is indexed every document has it: the scan below runs on the first start after the upgrade only.
  if (!indexes.some((index) => index.name === 'orderLock_1')) {
    const older = await payments.find({ orderLock: { $exists: false } }, { orderId: 1, eventsOwed: 1 }).lean();
    if (older.length > 0) {
      await payments.bulkWrite(
        older.map((doc) => ({
          updateOne: {
            filter: { _id: doc._id, orderLock: { $exists: false } },
            update: { $set: { orderLock: doc.orderId, attemptSlot: `before-limits:${String(doc._id)}`, owesEvents: (doc.eventsOwed ?? []).length > 0 } },
          },
        })),
        { ordered: false },
      );
    }
    // The first versions made `orderId` unique; failed attempts now share it with the one that holds the order.
    if (indexes.some((index) => index.name === 'orderId_1' && index.unique)) {
      await payments.collection.dropIndex('orderId_1').catch(() => undefined);
    }
  }
  await payments.createIndexes();
}
