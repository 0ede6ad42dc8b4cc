import { Connection, Model, Schema, Types } from 'mongoose';

/**
 * One document per order, created when a request claims the order and carried
 * through every step, so a crash at any point leaves a record to resume from:
 *
 *   charging  - claimed; the charge may or may not have reached Stripe. Whoever
 *               holds `leaseUntil` may call Stripe with `idempotencyKey` and
 *               `token` (kept only until the outcome is known: Stripe replays
 *               an idempotent request only when its parameters are the same).
 *   succeeded - charged (`stripeId`); `payment:created` is owed until
 *               `eventPublishedAt` is set (the outbox lives in this document).
 *
 * A declined card deletes the claim, so the order can be paid with another card.
 */
export const PaymentState = { Charging: 'charging', Succeeded: 'succeeded' } as const;
export type PaymentState = (typeof PaymentState)[keyof typeof PaymentState];

export interface Payment {
  _id: Types.ObjectId;
  orderId: string;
  userId: string;
  token?: string;
  tokenHash: string;
  idempotencyKey: string;
  amount: number;
  currency: string;
  state: PaymentState;
  leaseUntil: Date;
  chargeAttempts: number;
  stripeId?: string;
  chargedAt?: Date;
  eventPublishedAt?: Date | null;
  eventLeaseUntil?: Date;
  createdAt: Date;
  updatedAt: Date;
}

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
    eventPublishedAt: { type: Date, default: null },
    eventLeaseUntil: { type: Date },
  },
  { collection: 'payments', versionKey: false, timestamps: true },
);

paymentSchema.index({ orderId: 1 }, { unique: true });
paymentSchema.index({ state: 1, leaseUntil: 1 });
paymentSchema.index({ eventPublishedAt: 1, state: 1 });

export type PaymentModel = Model<Payment>;

export function paymentModel(connection: Connection): PaymentModel {
  return connection.model<Payment>('Payment', paymentSchema);
}
