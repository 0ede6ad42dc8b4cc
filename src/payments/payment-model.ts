import { Connection, Model, Schema, Types } from 'mongoose';

/**
 * One document per order, created when a request claims the order and carried
 * through every step, so a crash at any point leaves a record to resume from:
 *
 *   charging      - claimed; the charge may or may not have reached Stripe. Whoever
 *                   holds `leaseUntil` may call Stripe with `idempotencyKey` and
 *                   `token` (kept only until the outcome is known: Stripe replays
 *                   an idempotent request only when its parameters are the same).
 *   succeeded     - charged (`stripeId`).
 *   refunding     - charged for an order that is cancelled: a refund of the whole
 *                   amount is owed (`refund`). Whoever holds `leaseUntil` may call
 *                   Stripe's Refunds API with `refund.idempotencyKey`.
 *   refunded      - Stripe refunded it (`refund.id`).
 *   refund_failed - Stripe refused the refund for good (already refunded, disputed):
 *                   `refund.failure` says why; an operator takes it from there.
 *
 * A declined card deletes the claim, so the order can be paid with another card.
 *
 * The outbox lives in the same document: `eventsOwed` lists the subjects still to
 * publish, in order, and `eventsDueAt` says when the outbox may take them (it is
 * also the publisher's lease; null when nothing is owed).
 */
export const PaymentState = {
  Charging: 'charging',
  Succeeded: 'succeeded',
  Refunding: 'refunding',
  Refunded: 'refunded',
  RefundFailed: 'refund_failed',
} as const;
export type PaymentState = (typeof PaymentState)[keyof typeof PaymentState];

/** States in which the holder of `leaseUntil` has a Stripe call to make. */
export const LEASED_STATES: readonly PaymentState[] = [PaymentState.Charging, PaymentState.Refunding];

export interface Refund {
  /** Why the money is given back: the order was cancelled before or while it was charged. */
  reason: 'order_cancelled';
  /** Minor units: always the whole charged amount. */
  amount: number;
  /** Derived from the payment, so every retry of this refund is the same request to Stripe. */
  idempotencyKey: string;
  /** Calls to Stripe so far, the one in flight included. */
  attempts: number;
  owedAt: Date;
  /** Stripe's refund id (`re_…`) once Stripe confirmed it. */
  id?: string;
  refundedAt?: Date;
  /** Stripe's definite refusal: its error code and message. */
  failure?: { code: string; message: string };
}

/** One step in a payment's life, for operators (`npm run payments -- show`). */
export interface PaymentStep {
  at: Date;
  step: string;
  detail?: string;
}

export interface Payment {
  _id: Types.ObjectId;
  orderId: string;
  userId: string;
  token?: string;
  tokenHash: string;
  idempotencyKey: string;
  /** Minor units of `currency`, as Stripe was asked to charge. */
  amount: number;
  currency: string;
  state: PaymentState;
  leaseUntil: Date;
  chargeAttempts: number;
  stripeId?: string;
  chargedAt?: Date;
  refund?: Refund;
  eventsOwed: string[];
  eventsDueAt: Date | null;
  history: PaymentStep[];
  createdAt: Date;
  updatedAt: Date;
}

const refundSchema = new Schema<Refund>(
  {
    reason: { type: String, required: true },
    amount: { type: Number, required: true },
    idempotencyKey: { type: String, required: true },
    attempts: { type: Number, required: true },
    owedAt: { type: Date, required: true },
    id: { type: String },
    refundedAt: { type: Date },
    failure: { type: { code: String, message: String }, default: undefined },
  },
  { _id: false },
);

const paymentSchema = new Schema<Payment>(
  {
    orderId: { type: String, required: true },
    userId: { type: String, required: true },
    token: { type: String },
    tokenHash: { type: String, required: true },
    idempotencyKey: { type: String, required: true },
    amount: { type: Number, required: true },
    currency: { type: String, required: true },
    state: { type: String, required: true, enum: Object.values(PaymentState) },
    leaseUntil: { type: Date, required: true },
    chargeAttempts: { type: Number, required: true, default: 0 },
    stripeId: { type: String },
    chargedAt: { type: Date },
    refund: { type: refundSchema, default: undefined },
    eventsOwed: { type: [String], default: [] },
    eventsDueAt: { type: Date, default: null },
    history: { type: [{ _id: false, at: Date, step: String, detail: String }], default: [] },
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
export function step(name: string, detail?: string): PaymentStep {
  return detail === undefined ? { at: new Date(), step: name } : { at: new Date(), step: name, detail };
}
