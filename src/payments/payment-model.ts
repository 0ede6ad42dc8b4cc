import { Connection, Model, Schema, Types } from 'mongoose';

/**
 * One document per order, created when a request claims the order and carried
 * through every step, so a crash at any point leaves a record to resume from:
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
 *
 * A declined card deletes the claim, so the order can be paid with another card.
 *
 * The outbox lives in the same document: `eventsOwed` lists the subjects still to
 * publish and `eventsDueAt` says when the outbox may take them (it is also the
 * publisher's lease; null when nothing is owed).
 *
 * Only one writer at a time touches a payment: the holder of `leaseUntil` while
 * it is charging, then the holder of `eventsDueAt`. (Per-document atomicity is
 * MongoDB's; the FerretDB stand-in loses one of two concurrent updates of a
 * document, so no design here may rely on two writers meeting in one document.)
 */
export const PaymentState = { Charging: 'charging', Succeeded: 'succeeded' } as const;
export type PaymentState = (typeof PaymentState)[keyof typeof PaymentState];

/** One step in a payment's or a refund's life, for operators (`npm run payments -- show`). */
export interface HistoryStep {
  at: Date;
  step: string;
  detail?: string;
}

export interface Payment {
  _id: Types.ObjectId;
  orderId: string;
  userId: string;
  /** The card token or PaymentMethod id, until the outcome is known. */
  token?: string;
  /** Which of the two `token` holds. */
  method: 'token' | 'paymentMethodId';
  tokenHash: string;
  idempotencyKey: string;
  /** Minor units of `currency`, as Stripe was asked to charge. */
  amount: number;
  currency: string;
  state: PaymentState;
  leaseUntil: Date;
  chargeAttempts: number;
  /** The Charge (`ch_…`, the PaymentIntent's `latest_charge`). */
  stripeId?: string;
  paymentIntentId?: string;
  /** When Stripe first answered `requires_action` (3-D Secure) for this claim. */
  actionRequiredAt?: Date;
  /** True while nobody calls Stripe for it and the customer authenticates: a webhook may take it over before its lease ends. */
  awaitingCustomer?: boolean;
  chargedAt?: Date;
  eventsOwed: string[];
  eventsDueAt: Date | null;
  history: HistoryStep[];
  createdAt: Date;
  updatedAt: Date;
}

export const historySchema = { type: [{ _id: false, at: Date, step: String, detail: String }], default: [] };

const paymentSchema = new Schema<Payment>(
  {
    orderId: { type: String, required: true },
    userId: { type: String, required: true },
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
    awaitingCustomer: { type: Boolean },
    chargedAt: { type: Date },
    eventsOwed: { type: [String], default: [] },
    eventsDueAt: { type: Date, default: null },
    history: historySchema,
  },
  { collection: 'payments', versionKey: false, timestamps: true },
);

paymentSchema.index({ orderId: 1 }, { unique: true });
paymentSchema.index({ state: 1, leaseUntil: 1 });
paymentSchema.index({ eventsDueAt: 1 });

export type PaymentModel = Model<Payment>;

export function paymentModel(connection: Connection): PaymentModel {
  return connection.model<Payment>('Payment', paymentSchema);
}

/** A history entry for `$push`. */
export function step(name: string, detail?: string): HistoryStep {
  return detail === undefined ? { at: new Date(), step: name } : { at: new Date(), step: name, detail };
}
