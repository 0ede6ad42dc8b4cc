import { PaymentCreated, PaymentDisputed, PaymentRefunded, PaymentRefundFailed, Subjects } from '../events/contracts';
import { Dispute, Payment, Refund } from './payment';

/** The events this service publishes (events/contracts.ts), made from the documents that owe them. */
export type PaymentEvent = PaymentCreated | PaymentRefunded | PaymentRefundFailed | PaymentDisputed;

/** `payment:created` (docs/CONTRACT.md): the payment's id, its order, the charge and the amount in minor units. */
export function paymentCreated(subject: string, payment: Payment): PaymentCreated {
  if (subject !== Subjects.PaymentCreated) throw new Error(`a payment owes an unknown event ${subject}`);
  return {
    id: String(payment._id),
    orderId: payment.orderId,
    stripeId: payment.stripeId!,
    ...(payment.paymentIntentId ? { paymentIntentId: payment.paymentIntentId } : {}),
    amount: payment.amount,
    currency: payment.currency,
  };
}

/** `payment:refunded` (CONTRACT.md, 2026-11-29) and `payment:refund_failed` (2026-12-05): the payment's id, its order, the refund and its own amount. */
export function refundEvent(subject: string, refund: Refund): PaymentRefunded | PaymentRefundFailed {
  const common = { id: String(refund.paymentId), orderId: refund.orderId, refundId: refund.refundId!, amount: refund.amount, currency: refund.currency };
  if (subject === Subjects.PaymentRefunded) return { ...common, stripeId: refund.stripeId };
  if (subject === Subjects.PaymentRefundFailed) return { ...common, reason: refund.failureReason ?? refund.state };
  throw new Error(`a refund owes an unknown event ${subject}`);
}

/** `payment:disputed` (CONTRACT.md, 2026-12-05): the dispute as last read, with Stripe's status and reason. */
export function paymentDisputed(subject: string, dispute: Dispute): PaymentDisputed {
  if (subject !== Subjects.PaymentDisputed) throw new Error(`a dispute owes an unknown event ${subject}`);
  const { orderId, stripeId, disputeId, status, reason, amount, currency } = dispute;
  return { id: String(dispute.paymentId), orderId, stripeId, disputeId, status, reason, amount, currency };
}
