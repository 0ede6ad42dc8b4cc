import express, { Router } from 'express';
import { AppError } from '../../errors';
import { StripeEvents } from '../../payments/apply-stripe-event';
import { ProviderEvent, VerifyProviderEvent } from '../../payments/payment-provider';

/** The webhook endpoint's collaborators: the signature check and the use case. */
export interface WebhookHandling {
  verify: VerifyProviderEvent;
  events: StripeEvents;
  /** Told of each delivery refused for its signature: `missing` (no header) or `mismatch` (does not verify, or too old). */
  onSignatureFailure?: (reason: 'missing' | 'mismatch') => void;
}

/**
 * `POST /api/payments/webhooks/stripe` (contract 2026-11-29): Stripe's webhook
 * deliveries, no session. Mounted before the JSON parser: the signature is over
 * the raw bytes (Stripe, "Check the webhook signatures"). 503 when no signing
 * secret is configured, 400 on a missing or bad signature or a timestamp outside
 * Stripe's default tolerance (300 s), 200 once the event is durably handled.
 */
export function webhooksRouter(handling: WebhookHandling | undefined): Router {
  const router = Router();
  router.post('/api/payments/webhooks/stripe', express.raw({ type: () => true, limit: '512kb' }), async (req, res) => {
    if (!handling) throw new AppError(503, 'Stripe webhooks are not configured here');
    const signature = req.header('stripe-signature');
    if (!signature || !Buffer.isBuffer(req.body)) {
      handling.onSignatureFailure?.('missing');
      throw new AppError(400, 'The Stripe-Signature header is missing');
    }
    let event: ProviderEvent;
    try {
      event = handling.verify(req.body, signature);
    } catch {
      handling.onSignatureFailure?.('mismatch');
      throw new AppError(400, 'The Stripe signature does not match, or its timestamp is too old');
    }
    const outcome = await handling.events.apply(event);
    res.json({ received: true, duplicate: outcome === 'duplicate' });
  });
  return router;
}
