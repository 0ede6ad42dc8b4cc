import Stripe from 'stripe';

export interface ChargeRequest {
  amount: number;
  currency: string;
  source: string;
  idempotencyKey: string;
  /** Only what is the same on every attempt: Stripe refuses a key reused with other parameters. */
  metadata: { orderId: string };
}

/**
 * What Stripe said about a charge. `declined` and `rejected` are Stripe's stored
 * answer for the idempotency key, so no charge exists under it. `unavailable`
 * (rate limited, our key refused) and `unknown` (network failure, timeout,
 * Stripe 5xx) say nothing about an earlier try under the same key, which may
 * have charged: such an attempt is kept and retried with the same key.
 */
export type ChargeOutcome =
  | { kind: 'charged'; stripeId: string }
  | { kind: 'declined'; message: string }
  | { kind: 'rejected'; message: string; field?: 'token'; amount?: true }
  | { kind: 'unavailable'; message: string }
  | { kind: 'unknown'; message: string };

export interface StripeOptions {
  key: string;
  apiUrl?: URL;
  timeoutMs: number;
  /** The SDK's own retries; safe because every call carries our idempotency key. */
  maxNetworkRetries: number;
}

export function createStripe({ key, apiUrl, timeoutMs, maxNetworkRetries }: StripeOptions): Stripe {
  const target = apiUrl
    ? {
        host: apiUrl.hostname,
        port: apiUrl.port || (apiUrl.protocol === 'https:' ? 443 : 80),
        protocol: apiUrl.protocol.replace(':', '') as 'http' | 'https',
      }
    : {};
  return new Stripe(key, { ...target, timeout: timeoutMs, maxNetworkRetries, telemetry: false });
}

/** Charges a card token; Stripe's errors are told apart by class, never by message text. */
export class StripeCharges {
  constructor(private readonly stripe: Stripe) {}

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    try {
      const charge = await this.stripe.charges.create(
        {
          amount: request.amount,
          currency: request.currency,
          source: request.source,
          metadata: request.metadata,
          description: `Order ${request.metadata.orderId}`,
        },
        { idempotencyKey: request.idempotencyKey },
      );
      if (charge.status === 'failed') {
        return { kind: 'declined', message: charge.failure_message ?? 'Your card was declined.' };
      }
      return { kind: 'charged', stripeId: charge.id };
    } catch (err) {
      return classify(err);
    }
  }
}

function classify(err: unknown): ChargeOutcome {
  const { errors } = Stripe;
  if (err instanceof errors.StripeCardError) {
    return { kind: 'declined', message: err.message };
  }
  if (err instanceof errors.StripeInvalidRequestError) {
    const aboutToken = err.param === 'source' || err.code === 'resource_missing' || err.code === 'token_already_used';
    if (aboutToken) return { kind: 'rejected', message: 'The card token is invalid, expired or already used', field: 'token' };
    // Stripe's own minimum (the equivalent of 0.50 USD) or maximum for a currency it documents no fixed limit for.
    if (err.code === 'amount_too_small' || err.code === 'amount_too_large' || err.code === 'invalid_charge_amount') {
      return { kind: 'rejected', message: 'The order amount cannot be charged in this currency', amount: true };
    }
    return { kind: 'rejected', message: 'The payment provider rejected the charge' };
  }
  if (
    err instanceof errors.StripeAuthenticationError ||
    err instanceof errors.StripePermissionError ||
    err instanceof errors.StripeRateLimitError
  ) {
    return { kind: 'unavailable', message: err.constructor.name };
  }
  // Connection errors, timeouts, Stripe 5xx, idempotency conflicts while the first
  // request still runs: the charge may exist.
  return { kind: 'unknown', message: err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err) };
}
