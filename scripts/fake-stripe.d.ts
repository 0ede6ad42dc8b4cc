/** Types of `fake-stripe.js` (the stateful fake Stripe of the tests and the local stack); see its header. */
export type FakeStripeMode = 'normal' | 'error500' | 'storedError500' | 'rateLimited' | 'hang' | 'chargeThenDrop' | 'idempotencyError';

/**
 * `normal`: delivered at once, retried until answered 2xx; `failing`: every attempt fails and is retried; `held`: kept in `held`;
 * `lost`: only kept in `events`, never delivered (not after a switch back to `normal` either), a delivery being retried given up.
 */
export type FakeWebhookMode = 'normal' | 'failing' | 'held' | 'lost';

/** A refund's status (Stripe API, "The Refund object"); `failed` and `canceled` give the amount back to refund. */
export type FakeRefundStatus = 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';

/** A dispute's status (Stripe API, "The Dispute object"); `won`, `lost` and `warning_closed` close it. */
export type FakeDisputeStatus =
  | 'warning_needs_response'
  | 'warning_under_review'
  | 'warning_closed'
  | 'needs_response'
  | 'under_review'
  | 'won'
  | 'lost'
  | 'prevented'
  | 'appeal_needs_response'
  | 'appeal_under_review';

/** A PaymentIntent as the fake keeps it (Stripe API, "The PaymentIntent object"). */
export interface FakeIntent {
  id: string;
  amount: number;
  currency: string;
  status: 'requires_payment_method' | 'requires_action' | 'processing' | 'succeeded' | 'canceled';
  paymentMethod: string;
  /** What the customer paid with, as the request named it (a token or a pm_ id). */
  source: string;
  metadata: Record<string, string>;
  latestCharge: string | null;
  clientSecret: string;
  created: number;
  lastError?: string;
  cancellationReason?: string;
  idempotencyKey?: string;
}

export interface FakeCharge {
  id: string;
  amount: number;
  currency: string;
  source: string;
  metadata: Record<string, string>;
  idempotencyKey?: string;
  /** Unix seconds. */
  created?: number;
}

/** A charge as GET /v1/charges/:id answers it (Stripe API, "The Charge object", the fields the fake keeps). */
export interface FakeChargeBody {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  /** What its refunds not `failed`/`canceled` give back. */
  amount_refunded: number;
  captured: true;
  created: number | null;
  currency: string;
  disputed: boolean;
  livemode: false;
  metadata: Record<string, string>;
  paid: true;
  payment_intent: string | null;
  /** Refunded in full. */
  refunded: boolean;
  status: 'succeeded';
}

/** A refund as the fake keeps it: Stripe's Refund object (what the API answers) and the Idempotency-Key it was made under. */
export interface FakeRefund {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  /** Unix seconds. */
  created: number;
  currency: string;
  /** Why it failed (`expired_or_canceled_card`, `lost_or_stolen_card`, `unknown`…); null unless `failed`. */
  failure_reason: string | null;
  metadata: Record<string, string>;
  /** The charge's PaymentIntent, if it was made by one. */
  payment_intent: string | null;
  reason: string | null;
  status: FakeRefundStatus;
  idempotencyKey?: string;
}

/** One movement of a dispute's funds (Stripe API, "The Balance Transaction object", the fields the fake keeps). */
export interface FakeBalanceTransaction {
  id: string;
  object: 'balance_transaction';
  /** -the dispute's amount when withdrawn, +it when reinstated. */
  amount: number;
  currency: string;
  created: number;
  reporting_category: 'dispute' | 'dispute_reversal';
  type: 'adjustment';
}

/** A dispute as the fake keeps it and the API answers it (Stripe API, "The Dispute object", the fields the fake keeps). */
export interface FakeDispute {
  id: string;
  object: 'dispute';
  amount: number;
  balance_transactions: FakeBalanceTransaction[];
  charge: string;
  created: number;
  currency: string;
  is_charge_refundable: false;
  livemode: false;
  metadata: Record<string, string>;
  payment_intent: string | null;
  reason: string;
  status: FakeDisputeStatus;
}

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey?: string;
  params: Record<string, string>;
  /** When it arrived (ms since the epoch). */
  at: number;
  /** Refused by `rateLimits` (429): nothing was done. */
  rateLimited?: true;
}

/** A Stripe event (API "The Event object") as the fake makes it. */
export interface FakeEvent extends Record<string, unknown> {
  id: string;
  object: 'event';
  type: string;
  api_version: string;
  /** Unix seconds. */
  created: number;
  livemode: false;
  /** 1 while its delivery to the webhook endpoint is pending, else 0 (no endpoint, delivered, `lost`). */
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null } | null;
  data: { object: { id: string } & Record<string, unknown>; previous_attributes?: Record<string, unknown> };
}

/** A page of a list (Stripe API, "Pagination"), newest first. */
export interface FakeList<T> {
  object: 'list';
  url: string;
  has_more: boolean;
  data: T[];
}

/** One event sent to the webhook endpoint: its attempts and the status each got (0: not reached). */
export interface FakeDelivery {
  event: FakeEvent;
  attempts: number;
  delivered: boolean;
  statuses: number[];
  /** Given up when a retry came while `webhookMode` was `lost`. */
  abandoned?: boolean;
}

export declare const DECLINED_TOKEN = 'tok_chargeDeclined';
export declare const INVALID_TOKEN = 'tok_doesNotExist';
/** Stripe's test PaymentMethods (docs "Testing": pm_card_visa, pm_card_chargeDeclined, pm_card_threeDSecure2Required). */
export declare const VISA_PM = 'pm_card_visa';
export declare const DECLINED_PM = 'pm_card_chargeDeclined';
export declare const THREE_D_SECURE_PM = 'pm_card_threeDSecure2Required';
export declare const THREE_D_SECURE_TOKEN = 'tok_threeDSecure2Required';

export declare class FakeStripe {
  mode: FakeStripeMode;
  refundMode: FakeStripeMode;
  /** The status a new refund gets; `succeeded` by default. */
  refundStatus: FakeRefundStatus;
  /** Answers charges this much later, as a slow Stripe would. */
  delayMs: number;
  readonly charges: FakeCharge[];
  readonly refunds: FakeRefund[];
  readonly intents: FakeIntent[];
  /** Disputes opened, oldest first. */
  readonly disputes: FakeDispute[];
  /** Every event made (whatever `webhookMode`), oldest first: the events list (GET /v1/events). */
  readonly events: FakeEvent[];
  /** Charges with a dispute opened on them: Stripe refuses to refund those. */
  readonly disputed: Set<string>;
  readonly requests: RecordedRequest[];
  /**
   * Stripe's rate limiter: token buckets of `perEndpoint` (each endpoint: method and path, ids left out)
   * and `global` (the account) requests a second, each holding one second's worth; a request over
   * either is answered 429 `rate_limit` and does nothing. Off (undefined) by default.
   */
  rateLimits?: { perEndpoint?: number; global?: number };
  /** Where events are sent; none: no event is sent. */
  webhooks?: { url: string; secret: string };
  webhookMode: FakeWebhookMode;
  /** First wait before a failed delivery is tried again; doubles, at most 30 s. */
  webhookRetryMs: number;
  readonly deliveries: FakeDelivery[];
  /** Events kept while `webhookMode` is `held`. */
  readonly held: FakeEvent[];
  /** Told of each delivery attempt. */
  log?: (line: string) => void;
  private constructor();
  /** Listens on `host:port` (127.0.0.1, a free port by default). */
  static start(options?: { port?: number; host?: string }): Promise<FakeStripe>;
  get url(): string;
  /** How long a new PaymentIntent stays invisible to Search, in ms (Stripe's "Data freshness"); 0 by default. */
  searchLagMs: number;
  /** `count` succeeded PaymentIntents of other orders, created now: the rest of a busy account. */
  createOtherIntents(count: number): void;
  intentsFor(orderId: string): FakeIntent[];
  /** The customer finishes (or fails) 3-D Secure for a PaymentIntent in `requires_action`; the event is sent. */
  completeAction(intentId: string, outcome: 'succeeded' | 'failed'): FakeIntent;
  /**
   * A Stripe event about one of the fake's objects as it is now (a PaymentIntent, charge, refund or dispute),
   * neither kept in `events` nor sent; `charge.dispute.created` for a charge makes a dispute on it (no event sent).
   */
  event(type: string, objectId: string, previousAttributes?: Record<string, unknown>): FakeEvent;
  /** Makes the event, keeps it in `events` and sends it as `webhookMode` says. */
  emit(type: string, objectId: string, previousAttributes?: Record<string, unknown>): void;
  /** Delivers an event to a webhook endpoint as Stripe does, signed with `secret`. */
  deliver(
    url: string,
    event: Record<string, unknown>,
    secret: string,
    options?: { timestamp?: number; signature?: string | null },
  ): Promise<{ status: number; body: unknown }>;
  /** The card token a PaymentMethod was made from; a test PaymentMethod (`pm_card_visa`) or an unknown id is itself. */
  tokenOf(paymentMethodId: string): string;
  chargesFor(orderId: string): FakeCharge[];
  refundsFor(orderId: string): FakeRefund[];
  disputesFor(orderId: string): FakeDispute[];
  requestsFor(orderId: string): RecordedRequest[];
  /** What is refunded of a charge: its refunds not `failed`/`canceled`. */
  refundedOf(chargeId: string): number;
  /** The charge as GET /v1/charges/:id answers it. */
  chargeBody(charge: FakeCharge): FakeChargeBody;
  /**
   * Stripe changes a refund's status (`failure_reason`, `unknown` unless given, when `failed`); sends
   * `charge.refund.updated`, `refund.updated`, and `refund.failed` when failed. Throws on an unknown refund,
   * status, or a refund already `failed`/`canceled`. As POST /_test/refunds/:id/status?status=…&failure_reason=….
   */
  setRefundStatus(refundId: string, status: FakeRefundStatus, failureReason?: string): FakeRefund;
  /**
   * The customer's bank disputes a charge (`needs_response`); the charge is disputed (refunds refused) and
   * `charge.dispute.created` sent. One dispute a charge. As POST /_test/charges/:id/dispute?reason=….
   */
  openDispute(chargeId: string, options?: { reason?: string; amount?: number }): FakeDispute;
  /** `charge.dispute.closed` for `won`, `lost`, `warning_closed` (final), else `charge.dispute.updated`. As POST /_test/disputes/:id/status?status=…. */
  setDisputeStatus(disputeId: string, status: FakeDisputeStatus): FakeDispute;
  /**
   * The disputed amount is withdrawn (balance transaction -amount, `dispute`) or reinstated (+amount, `dispute_reversal`);
   * `charge.dispute.funds_withdrawn` / `funds_reinstated` sent. As POST /_test/disputes/:id/funds_withdrawn | funds_reinstated.
   */
  disputeFunds(disputeId: string, direction: 'withdrawn' | 'reinstated'): FakeDispute;
  stop(): Promise<void>;
}
