import Stripe from 'stripe';
import { RefundOutcome, RefundRequest } from '../payments/payment-provider';
import { noDefiniteAnswer } from './errors';

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
