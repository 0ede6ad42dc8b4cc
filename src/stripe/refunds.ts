import Stripe from 'stripe';
import { noDefiniteAnswer } from './errors';

export interface RefundRequest {
  /** The charge to refund (`ch_…`). */
  charge: string;
  /** Minor units: the whole charged amount. */
  amount: number;
  idempotencyKey: string;
  /** The same on every attempt: Stripe refuses a key reused with other parameters. */
  metadata: { orderId: string; paymentId: string };
}

/**
 * What Stripe said about a refund (Stripe API, "Create a refund"):
 * - `refunded`: Stripe holds the refund (`re_…`); its status may still be pending.
 * - `refused`: a definite no about this charge (already refunded, disputed, not
 *   refundable): retrying cannot change it.
 * - `unavailable` (rate limited, our key refused) and `unknown` (network failure,
 *   timeout, Stripe 5xx): the refund may or may not exist; retried with the same key.
 */
export type RefundOutcome =
  | { kind: 'refunded'; refundId: string; status: string }
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'unavailable'; message: string }
  | { kind: 'unknown'; message: string };

/** Refunds charges through Stripe's Refunds API; errors are told apart by class and code, never by message text. */
export class StripeRefunds {
  constructor(private readonly stripe: Stripe) {}

  async refund(request: RefundRequest): Promise<RefundOutcome> {
    try {
      const refund = await this.stripe.refunds.create(
        { charge: request.charge, amount: request.amount, reason: 'requested_by_customer', metadata: request.metadata },
        { idempotencyKey: request.idempotencyKey },
      );
      return { kind: 'refunded', refundId: refund.id, status: refund.status ?? 'pending' };
    } catch (err) {
      return classify(err);
    }
  }
}

function classify(err: unknown): RefundOutcome {
  const { errors } = Stripe;
  if (err instanceof errors.StripeInvalidRequestError || err instanceof errors.StripeCardError) {
    return { kind: 'refused', code: err.code ?? err.type, message: err.message };
  }
  // The refund may exist: asked again with the same key.
  return noDefiniteAnswer(err);
}
