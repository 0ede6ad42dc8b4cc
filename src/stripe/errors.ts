import Stripe from 'stripe';

/**
 * A Stripe call that got no definite answer about what Stripe did (API "Errors"):
 * `unavailable` when Stripe refused to look (rate limited, our key refused or
 * not allowed), `unknown` otherwise (network failure, timeout, Stripe 5xx, a
 * request under the same idempotency key still running). Either way the charge
 * or refund may exist, and the caller asks again with the same key.
 * Call it only for errors no other rule of the caller has classified.
 */
export function noDefiniteAnswer(err: unknown): { kind: 'unavailable' | 'unknown'; message: string } {
  const { errors } = Stripe;
  if (
    err instanceof errors.StripeAuthenticationError ||
    err instanceof errors.StripePermissionError ||
    err instanceof errors.StripeRateLimitError
  ) {
    return { kind: 'unavailable', message: err.constructor.name };
  }
  return { kind: 'unknown', message: err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err) };
}

