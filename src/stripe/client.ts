import Stripe from 'stripe';

export interface StripeOptions {
  key: string;
  /** Another Stripe API server (stripe-mock, the fake Stripe); Stripe's own when absent. */
  apiUrl?: URL;
  timeoutMs: number;
  /** The SDK's own retries; safe because every call carries our idempotency key. */
  maxNetworkRetries: number;
}

/** The Stripe SDK client, pointed at `apiUrl` when given (stripe-node's `host`, `port`, `protocol` options). */
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
