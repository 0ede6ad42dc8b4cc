/** Types of `fake-stripe.js` (the stateful fake Stripe of the tests and the local stack); see its header. */
export type FakeStripeMode = 'normal' | 'error500' | 'storedError500' | 'rateLimited' | 'hang' | 'chargeThenDrop' | 'idempotencyError';

/** `normal`: delivered at once, retried until answered 2xx; `failing`: every attempt fails and is retried; `held`: kept in `held`. */
export type FakeWebhookMode = 'normal' | 'failing' | 'held';

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
}

export interface FakeRefund {
  id: string;
  charge: string;
  amount: number;
  metadata: Record<string, string>;
  idempotencyKey?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey?: string;
  params: Record<string, string>;
}

/** A Stripe event (API "The Event object") as the fake makes it. */
export interface FakeEvent extends Record<string, unknown> {
  id: string;
  type: string;
  data: { object: { id: string } & Record<string, unknown> };
}

/** One event sent to the webhook endpoint: its attempts and the status each got (0: not reached). */
export interface FakeDelivery {
  event: FakeEvent;
  attempts: number;
  delivered: boolean;
  statuses: number[];
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
  /** Answers charges this much later, as a slow Stripe would. */
  delayMs: number;
  readonly charges: FakeCharge[];
  readonly refunds: FakeRefund[];
  readonly intents: FakeIntent[];
  /** Charges with a dispute opened on them: Stripe refuses to refund those. */
  readonly disputed: Set<string>;
  readonly requests: RecordedRequest[];
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
  /** A Stripe event about one of the fake's objects as it is now (`charge.dispute.created` makes a dispute). */
  event(type: string, objectId: string): FakeEvent;
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
  requestsFor(orderId: string): RecordedRequest[];
  stop(): Promise<void>;
}
