/**
 * What the use cases need from the payment provider; src/stripe/ implements it
 * with Stripe's PaymentIntents and Refunds. Amounts are minor units of `currency`.
 */
export interface PaymentProvider {
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
  /** The whole charged amount. */
  amount: number;
  idempotencyKey: string;
  /** The same on every attempt: Stripe refuses a key reused with other parameters. */
  metadata: { orderId: string; paymentId: string };
}

/**
 * What Stripe said about a refund (API "Create a refund"):
 * - `refunded`: Stripe holds the refund (`re_…`); its status may still be pending.
 * - `refused`: a definite no about this charge (already refunded, disputed): retrying cannot change it.
 * - `unavailable` and `unknown`: the refund may or may not exist; retried with the same key.
 */
export type RefundOutcome =
  | { kind: 'refunded'; refundId: string; status: string }
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'unavailable'; message: string }
  | { kind: 'unknown'; message: string };

/**
 * A webhook event from the provider, its signature checked (src/stripe/webhook-events.ts).
 * Only what the service acts on is mapped; the state is never taken from it.
 */
export type ProviderEvent = { id: string; type: string; objectId: string } & (
  | { kind: 'payment_intent'; paymentIntentId: string; paymentId?: string; succeeded: boolean }
  | { kind: 'charge_refunded'; chargeId: string }
  | { kind: 'dispute_created'; chargeId?: string; reason: string; amount: number; currency: string }
  | { kind: 'other' }
);

/** Checks a delivery's signature against the raw body and maps it; throws when it is missing, wrong or too old. */
export type VerifyProviderEvent = (payload: Buffer, signature: string) => ProviderEvent;
