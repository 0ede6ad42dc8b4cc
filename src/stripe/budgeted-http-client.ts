import Stripe from 'stripe';
import { Metrics } from '../metrics';
import { endpointOf, StripeCallBudget } from './call-budget';

/**
 * The SDK's HTTP client with every request to Stripe passing the call budget first
 * (call-budget.ts): the SDK's retries and list pages too, which no caller sees. Counts
 * each request by endpoint and status, times it, and tells the budget of Stripe's 429.
 */
export function budgetedHttpClient(budget: StripeCallBudget | undefined, metrics: Metrics | undefined, inner: Stripe.HttpClient = Stripe.createNodeHttpClient()): Stripe.HttpClient {
  return {
    getClientName: () => inner.getClientName(),
    async makeRequest(host, port, path, method, headers, requestData, protocol, timeout) {
      const endpoint = endpointOf(method, path);
      await budget?.beforeCall(endpoint);
      const stopTimer = metrics?.stripeSeconds.startTimer({ stripe_endpoint: endpoint });
      try {
        const response = await inner.makeRequest(host, port, path, method, headers, requestData, protocol, timeout);
        const status = response.getStatusCode();
        metrics?.stripeRequests.inc({ stripe_endpoint: endpoint, status: String(status) });
        if (status === 429) void budget?.rateLimited(endpoint).catch(() => undefined);
        return response;
      } catch (err) {
        metrics?.stripeRequests.inc({ stripe_endpoint: endpoint, status: 'error' });
        throw err;
      } finally {
        stopTimer?.();
      }
    },
  };
}
