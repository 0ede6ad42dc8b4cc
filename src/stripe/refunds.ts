import Stripe from 'stripe';
import { NoAnswer, ProviderRefund, RefundOutcome, RefundRequest } from '../payments/payment-provider';
import { noDefiniteAnswer } from './errors';

/** How many refunds of one charge are read at most (Stripe lists them 100 a page). */
const REFUNDS_READ_LIMIT = 1000;

/** Refunds charges through Stripe's Refunds API; errors are told apart by class and code, never by message text. */
export class StripeRefunds {
  constructor(private readonly stripe: Stripe) {}

  async refund(request: RefundRequest): Promise<RefundOutcome> {
    try {
      const refund = await this.stripe.refunds.create(
        { charge: request.charge, amount: request.amount, reason: 'requested_by_customer', metadata: request.metadata },
        { idempotencyKey: request.idempotencyKey },
      );
      return { kind: 'refunded', refundId: refund.id, status: refund.status ?? 'pending', ...(refund.failure_reason ? { failureReason: refund.failure_reason } : {}) };
    } catch (err) {
      return classify(err);
    }
  }

  /** Every refund of a charge (API "List all refunds", `charge`), newest first. */
  async refundsOf(chargeId: string): Promise<{ kind: 'listed'; refunds: ProviderRefund[] } | NoAnswer> {
    try {
      const refunds: ProviderRefund[] = [];
      for await (const refund of this.stripe.refunds.list({ charge: chargeId, limit: 100 })) {
        refunds.push(toProviderRefund(refund, chargeId));
        if (refunds.length >= REFUNDS_READ_LIMIT) break;
      }
      return { kind: 'listed', refunds };
    } catch (err) {
      return noDefiniteAnswer(err); // a failed read says nothing about what exists
    }
  }
}

function toProviderRefund(refund: Stripe.Refund, chargeId: string): ProviderRefund {
  return {
    refundId: refund.id,
    chargeId: (typeof refund.charge === 'string' ? refund.charge : refund.charge?.id) ?? chargeId,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status ?? 'pending',
    ...(refund.failure_reason ? { failureReason: refund.failure_reason } : {}),
    ...(refund.metadata?.refundKey ? { refundKey: refund.metadata.refundKey } : {}),
  };
}

function classify(err: unknown): RefundOutcome {
  const { errors } = Stripe;
  if (err instanceof errors.StripeInvalidRequestError || err instanceof errors.StripeCardError) {
    return { kind: 'refused', code: err.code ?? err.type, message: err.message };
  }
  // The refund may exist: asked again with the same key.
  return noDefiniteAnswer(err);
}
