import type { ProviderDispute } from './payment-provider';

/**
 * A payment attempt as the use cases see it; stored by data-access/payment-model.ts,
 * whose comment describes the states and the two unique keys.
 *
 *   charging  - claimed; whoever holds `leaseUntil` may call Stripe with `idempotencyKey`.
 *   succeeded - charged (`stripeId`); a refund is a document of its own.
 *   failed    - nothing was charged; `failure` says why, and the order is free again.
 */
export const PaymentState = { Charging: 'charging', Succeeded: 'succeeded', Failed: 'failed' } as const;
export type PaymentState = (typeof PaymentState)[keyof typeof PaymentState];

/** A stored document's id: MongoDB's ObjectId, of which the use cases only need the text. */
export interface DocumentId {
  toHexString(): string;
}

/** One step in a payment's or a refund's life, for operators (`npm run payments -- show`). */
export interface HistoryStep {
  at: Date;
  step: string;
  detail?: string;
}

/** Why an attempt ended with nothing charged: declined, rejected, nothing (Stripe holds nothing), canceled; with Stripe's message. */
export interface AttemptFailure {
  kind: string;
  message: string;
}

/** What a document that owes events keeps for the outbox (`payment:created`, `payment:refunded`). */
export interface OwesEvents {
  _id: DocumentId;
  eventsOwed: string[];
  /** True while `eventsOwed` is not empty: the indexed flag the outbox sweep looks for. */
  owesEvents: boolean;
  /** When the outbox may take them; also the publisher's lease. */
  eventsDueAt: Date | null;
  history: HistoryStep[];
}

export interface Payment extends OwesEvents {
  orderId: string;
  userId: string;
  /** The order id while this attempt holds the order; `released:<paymentId>` once it failed. Unique. */
  orderLock: string;
  /** The user's attempt-limit slot this attempt took (attempt-limit.ts). Unique. */
  attemptSlot: string;
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
  /**
   * When Stripe first replayed a stored failure under `idempotencyKey`: the request that
   * ran under the key ran before this, so a listing of what was created up to then is certain.
   */
  storedFailureAt?: Date;
  /** True while nobody calls Stripe for it and the customer authenticates: a webhook may take it over before its lease ends. */
  awaitingCustomer?: boolean;
  chargedAt?: Date;
  failure?: AttemptFailure;
  failedAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * One refund of a charge; a charge has any number, up to its amount (CONTRACT.md,
 * Additions 2026-12-05; Stripe is the ledger, this is its copy).
 *   owed     - asked of this service (a cancel, an operator) and not yet confirmed by Stripe;
 *              whoever holds `leaseUntil` may call Stripe with `idempotencyKey`.
 *   refunded - Stripe holds it (`refundId`; `stripeStatus` pending or succeeded); `payment:refunded` owed in the same write.
 *   failed, canceled - Stripe reports it failed or cancelled (`failureReason`): the money is not back; `payment:refund_failed` owed.
 *   refused  - Stripe refused the request (`failure`): nothing moved.
 */
export const RefundState = { Owed: 'owed', Refunded: 'refunded', Failed: 'failed', Canceled: 'canceled', Refused: 'refused' } as const;
export type RefundState = (typeof RefundState)[keyof typeof RefundState];

/** Where a refund was asked for: a cancelled order, an operator (the CLI), or Stripe's Dashboard (found at Stripe). */
export type RefundSource = 'cancel' | 'operator' | 'dashboard';

export interface Refund extends OwesEvents {
  paymentId: DocumentId;
  orderId: string;
  /** The charge refunded (`ch_…`). */
  stripeId: string;
  /** Minor units of `currency`. */
  amount: number;
  currency: string;
  /** Absent on refunds stored before 2026-12-05, all of them a cancel's. */
  source?: RefundSource;
  /** Why: `order_cancelled`, the operator's words, or `dashboard`. */
  reason: string;
  /** Who ran an operator refund. */
  operator?: string;
  /** Unique: every retry of this refund is the same request to Stripe; `stripe-<refundId>` for one found at Stripe. */
  idempotencyKey: string;
  state: RefundState;
  leaseUntil: Date;
  /** Calls to Stripe so far, the one in flight included. */
  attempts: number;
  /** Stripe's refund id (`re_…`) once Stripe confirmed it. Unique. */
  refundId?: string;
  /** Stripe's status when last read: pending, requires_action, succeeded, failed, canceled. */
  stripeStatus?: string;
  /** Stripe's `failure_reason` of a failed refund (`expired_or_canceled_card`, ...). */
  failureReason?: string;
  refundedAt?: Date;
  /** Stripe's definite refusal: its error code and message. */
  failure?: { code: string; message: string };
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A dispute (chargeback) of a charge as last read from Stripe (`disputeId` unique), with
 * its payment; `payment:disputed` is owed at each change of its status (CONTRACT.md,
 * Additions 2026-12-05). Amounts in minor units.
 */
export interface Dispute extends OwesEvents, Omit<ProviderDispute, 'chargeId'> {
  paymentId: DocumentId;
  orderId: string;
  /** The disputed charge (`ch_…`). */
  stripeId: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A history entry for `$push`. */
export function step(name: string, detail?: string): HistoryStep {
  return detail === undefined ? { at: new Date(), step: name } : { at: new Date(), step: name, detail };
}
