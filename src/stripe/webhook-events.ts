import Stripe from 'stripe';
import { ProviderEvent, VerifyProviderEvent } from '../payments/payment-provider';

const INTENT_EVENTS = new Set(['payment_intent.succeeded', 'payment_intent.payment_failed', 'payment_intent.canceled']);

/**
 * Checks a webhook delivery's `Stripe-Signature` against the raw body with the
 * endpoint's signing secret (Stripe, "Check the webhook signatures"; Stripe's
 * default tolerance of 300 s for the timestamp), then maps the event.
 * The verifier throws when the signature is missing, wrong or too old.
 */
export function stripeEventVerifier(stripe: Stripe, secret: string): VerifyProviderEvent {
  return (payload, signature) => toProviderEvent(stripe.webhooks.constructEvent(payload, signature, secret));
}

/** The part of a Stripe event the service acts on (payments/apply-stripe-event.ts). */
export function toProviderEvent(event: Stripe.Event): ProviderEvent {
  const object = event.data.object as { id: string; metadata?: Record<string, string> };
  const common = { id: event.id, type: event.type, objectId: object.id };
  if (INTENT_EVENTS.has(event.type)) {
    return { ...common, kind: 'payment_intent', paymentIntentId: object.id, paymentId: object.metadata?.paymentId, succeeded: event.type === 'payment_intent.succeeded' };
  }
  if (event.type === 'charge.refunded') return { ...common, kind: 'charge_refunded', chargeId: object.id };
  if (event.type === 'charge.dispute.created') {
    const dispute = event.data.object as Stripe.Dispute;
    const chargeId = typeof dispute.charge === 'string' ? dispute.charge : dispute.charge?.id;
    return { ...common, kind: 'dispute_created', chargeId, reason: dispute.reason, amount: dispute.amount, currency: dispute.currency };
  }
  return { ...common, kind: 'other' };
}
