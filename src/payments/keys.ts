import { createHash } from 'node:crypto';
import { DocumentId } from './payment';

/** How a payment remembers its card without keeping it: a client resending the same card is recognised by this. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * One idempotency key per claim: every retry of one claim is the same request, so
 * Stripe answers it with the first PaymentIntent; a new claim (after Stripe said for
 * certain that nothing exists) is a new request, never the replay of a stored failure.
 */
export function idempotencyKey(orderId: string, token: string, paymentId: DocumentId): string {
  return `order-${orderId}-${createHash('sha256').update(`${orderId}:${token}:${paymentId.toHexString()}`).digest('hex').slice(0, 40)}`;
}

/** One refund per payment: every retry of it is the same request to Stripe, so Stripe refunds once. */
export function refundIdempotencyKey(paymentId: DocumentId): string {
  return `refund-${paymentId.toHexString()}`;
}
