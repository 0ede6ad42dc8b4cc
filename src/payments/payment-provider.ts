/**
 * What the use cases need from the payment provider; src/stripe/ implements it
 * with Stripe's PaymentIntents and Refunds. Amounts are minor units of `currency`.
 */
export interface PaymentProvider {
  /**
   * Room for one charge's calls within the provider's rate budget (STRIPE_MAX_RPS), asked
   * before the order is claimed: admitted, `run` the claim and the charge inside it;
   * refused, nothing is held and the buyer comes back in `retryAfterMs`.
   * @throws the database's error when the budget cannot be read.
   */
  admitCharge(method: 'token' | 'paymentMethodId'): Promise<ChargeAdmission>;
  /** Creates and confirms a PaymentIntent (a card token first becomes a PaymentMethod). Never throws. */
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /**
   * What exists for a claim, at a cost independent of the account's size: its PaymentIntent
   * when known, else the one whose `metadata.paymentId` is the claim's. `none` is not certain
   * (one created in the last minute or so may be missing), but it is enough to send the
   * create again under the claim's idempotency key. Never throws.
   */
  lookup(claim: { paymentId: string; paymentIntentId?: string }): Promise<LookupOutcome>;
  /** The claim's PaymentIntent among those created between `from` and `to`; here `none` is certain. Never throws. */
  findCreated(claim: { paymentId: string; from: Date; to: Date }): Promise<LookupOutcome>;
  /** Cancels a PaymentIntent nobody completed; one that succeeded meanwhile answers with what it is. Never throws. */
  cancel(paymentIntentId: string): Promise<LookupOutcome>;
  /** Refunds a charge. Never throws. */
  refund(request: RefundRequest): Promise<RefundOutcome>;
  /** Every refund of a charge, wherever it was made (this service, an operator, Stripe's Dashboard). Never throws. */
  refundsOf(chargeId: string): Promise<{ kind: 'listed'; refunds: ProviderRefund[] } | NoAnswer>;
  /** A dispute as Stripe holds it now. Never throws. */
  dispute(disputeId: string): Promise<{ kind: 'found'; dispute: ProviderDispute } | NoAnswer>;
  /**
   * The events of the types this service acts on created from `since` to `until` (Stripe
   * keeps 30 days), oldest first; `complete` is false when more were there than one call
   * reads: then the newest ones are answered. Never throws.
   */
  eventsBetween(since: Date, until?: Date): Promise<{ kind: 'listed'; events: ProviderEvent[]; complete: boolean } | NoAnswer>;
}

/** Whether a charge may call the provider now (PaymentProvider.admitCharge). */
export type ChargeAdmission = { admitted: true; run<T>(work: () => Promise<T>): Promise<T> } | { admitted: false; retryAfterMs: number };

/** A read that got no answer: nothing is known. */
export type NoAnswer = { kind: 'unavailable' | 'unknown'; message: string };

/**
 * A refund as Stripe holds it (API "The Refund object"). `status`: `pending`,
 * `requires_action`, `succeeded`, `failed` or `canceled`; a `succeeded` refund can
 * still fail later. `refundKey`: the key this service created it under
 * (`metadata.refundKey`), absent for one made elsewhere (the Dashboard).
 */
export interface ProviderRefund {
  refundId: string;
  chargeId: string;
  /** Minor units of `currency`. */
  amount: number;
  currency: string;
  status: string;
  failureReason?: string;
  refundKey?: string;
}

/**
 * A dispute (chargeback) as Stripe holds it (API "The Dispute object"); amounts in
 * minor units; `fundsWithdrawn` and `fundsReinstated` add up its balance transactions.
 */
export interface ProviderDispute {
  disputeId: string;
  chargeId: string;
  amount: number;
  currency: string;
  reason: string;
  status: string;
  fundsWithdrawn: number;
  fundsReinstated: number;
}

/** What the customer pays with: a card token (`tok_…`, the course client) or a PaymentMethod (`pm_…`, Stripe.js Elements). */
export type PaymentMethodRef = { token: string } | { paymentMethodId: string };

export interface ChargeRequest {
  amount: number;
  currency: string;
  method: PaymentMethodRef;
  /** One per claim: every retry of one claim is the same request to Stripe. */
  idempotencyKey: string;
  /** Only what is the same on every attempt: Stripe refuses a key reused with other parameters. */
  metadata: { orderId: string; paymentId: string };
}

/**
 * What Stripe said about a payment (API "The PaymentIntent object", `status`):
 * - `charged`: succeeded; `stripeId` is the Charge (`latest_charge`).
 * - `requires_action`: the customer must authenticate (3-D Secure) with `clientSecret`.
 * - `processing`: Stripe has not decided yet.
 * - `declined` (card error, or the intent back at `requires_payment_method`/`canceled`)
 *   and `rejected` (an invalid request): nothing was charged.
 * - `unavailable` (rate limited, our key refused) and `unknown` (network failure,
 *   timeout, Stripe 5xx) say nothing about what exists. `replayed`: the answer is
 *   Stripe's stored one for the idempotency key (its `Idempotent-Replayed` header).
 * - `idempotency_conflict`: Stripe refused the key as used with other parameters
 *   (a definite answer: this request ran nothing).
 */
export type ChargeOutcome =
  | { kind: 'charged'; stripeId: string; paymentIntentId: string }
  | { kind: 'requires_action'; paymentIntentId: string; clientSecret: string }
  | { kind: 'processing'; paymentIntentId: string }
  | { kind: 'declined'; message: string; paymentIntentId?: string; /** The PaymentIntent is cancelled: nobody can confirm it any more. */ canceled?: true }
  | { kind: 'rejected'; message: string; field?: 'token' | 'paymentMethodId'; amount?: true }
  | { kind: 'unavailable'; message: string }
  | { kind: 'unknown'; message: string; replayed?: boolean }
  | { kind: 'idempotency_conflict'; message: string };

/** A lookup: what Stripe holds for one claim, or `none` (a definite answer: Stripe lists no PaymentIntent for it). */
export type LookupOutcome =
  | Extract<ChargeOutcome, { kind: 'charged' | 'requires_action' | 'processing' | 'declined' | 'unavailable' | 'unknown' }>
  | { kind: 'none' };

export interface RefundRequest {
  /** The charge to refund (`ch_…`). */
  charge: string;
  /** Minor units: at most what remains unrefunded of the charge. */
  amount: number;
  idempotencyKey: string;
  /** The same on every attempt: Stripe refuses a key reused with other parameters. `refundKey` finds it again among a charge's refunds. */
  metadata: { orderId: string; paymentId: string; refundKey: string };
}

/**
 * What Stripe said about a refund (API "Create a refund"):
 * - `refunded`: Stripe holds the refund (`re_…`); its status may still be pending.
 * - `refused`: a definite no about this charge (already refunded, disputed): retrying cannot change it.
 * - `unavailable` and `unknown`: the refund may or may not exist; retried with the same key.
 */
export type RefundOutcome =
  | { kind: 'refunded'; refundId: string; status: string; failureReason?: string }
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'unavailable'; message: string }
  | { kind: 'unknown'; message: string };

/**
 * An event from the provider, from a webhook (its signature checked) or its events
 * list (src/stripe/webhook-events.ts). Only what the service acts on is mapped; the
 * state is never taken from it, but read again from Stripe.
 */
export type ProviderEvent = { id: string; type: string; objectId: string; /** When Stripe made it. */ createdAt?: Date } & (
  | { kind: 'payment_intent'; paymentIntentId: string; paymentId?: string; succeeded: boolean }
  | { kind: 'refund'; chargeId: string }
  | { kind: 'dispute'; disputeId: string; chargeId?: string }
  | { kind: 'other' }
);

/** Checks a delivery's signature against the raw body and maps it; throws when it is missing, wrong or too old. */
export type VerifyProviderEvent = (payload: Buffer, signature: string) => ProviderEvent;
