import Stripe from 'stripe';
import { Metrics } from '../metrics';
import { budgetedHttpClient } from './budgeted-http-client';
import { StripeCallBudget } from './call-budget';

export interface StripeOptions {
  key: string;
  /** Another Stripe API server (stripe-mock, the fake Stripe); Stripe's own when absent. */
  apiUrl?: URL;
  timeoutMs: number;
  /** The SDK's own retries; safe because every call carries our idempotency key. */
  maxNetworkRetries: number;
  /** The budget every request passes first (STRIPE_MAX_RPS); none: requests go at once. */
  budget?: StripeCallBudget;
  /** Where requests are counted and timed. */
  metrics?: Metrics;
}

/** The Stripe SDK client, pointed at `apiUrl` when given (stripe-node's `host`, `port`, `protocol` options). */
export function createStripe({ key, apiUrl, timeoutMs, maxNetworkRetries, budget, metrics }: StripeOptions): Stripe {
  const target = apiUrl
    ? {
        host: apiUrl.hostname,
        port: apiUrl.port || (apiUrl.protocol === 'https:' ? 443 : 80),
        protocol: apiUrl.protocol.replace(':', '') as 'http' | 'https',
      }
    : {};
  const httpClient = budgetedHttpClient(budget, metrics);
  return new Stripe(key, { ...target, timeout: timeoutMs, maxNetworkRetries, telemetry: false, httpClient });
}
