import Stripe from 'stripe';
import { ProviderEvent, VerifyProviderEvent } from '../payments/payment-provider';

const INTENT_EVENTS = ['payment_intent.succeeded', 'payment_intent.payment_failed', 'payment_intent.canceled'];
/** What moves a refund (API "Types of events"): made, and its status changing (pending, succeeded, failed, canceled). */
const REFUND_EVENTS = ['charge.refunded', 'charge.refund.updated', 'refund.created', 'refund.updated', 'refund.failed'];
/** A dispute's whole life: opened, changed, closed, and money withdrawn or reinstated. */
const DISPUTE_EVENTS = [
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'charge.dispute.funds_withdrawn',
  'charge.dispute.funds_reinstated',
];

/** The event types this service acts on: 13, within the 20 the events list takes in `types`. */
export const ACTED_ON: readonly string[] = [...INTENT_EVENTS, ...REFUND_EVENTS, ...DISPUTE_EVENTS];

/**
 * Checks a webhook delivery's `Stripe-Signature` against the raw body with the
 * endpoint's signing secret (Stripe, "Check the webhook signatures"; Stripe's
 * default tolerance of 300 s for the timestamp), then maps the event.
 * The verifier throws when the signature is missing, wrong or too old.
 */
export function stripeEventVerifier(stripe: Stripe, secret: string): VerifyProviderEvent {
  return (payload, signature) => toProviderEvent(stripe.webhooks.constructEvent(payload, signature, secret));
}

/** The part of a Stripe event the service acts on (payments/apply-stripe-event.ts): which object to read again. */
export function toProviderEvent(event: Stripe.Event): ProviderEvent {
  const object = event.data.object as { id: string; object?: string; metadata?: Record<string, string>; charge?: string | { id: string } | null };
  const common = { id: event.id, type: event.type, objectId: object.id };
  const charge = typeof object.charge === 'string' ? object.charge : object.charge?.id;
  if (INTENT_EVENTS.includes(event.type)) {
    return { ...common, kind: 'payment_intent', paymentIntentId: object.id, paymentId: object.metadata?.paymentId, succeeded: event.type === 'payment_intent.succeeded' };
  }
  if (REFUND_EVENTS.includes(event.type)) {
    // charge.refunded carries the charge; the others a refund, which names its charge.
    const chargeId = object.object === 'charge' || event.type === 'charge.refunded' ? object.id : charge;
    return chargeId ? { ...common, kind: 'refund', chargeId } : { ...common, kind: 'other' };
  }
  if (DISPUTE_EVENTS.includes(event.type)) return { ...common, kind: 'dispute', disputeId: object.id, chargeId: charge };
  return { ...common, kind: 'other' };
}
