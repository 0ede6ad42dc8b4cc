import { AppError } from '../errors';
import { ChargeAttempts } from './charge-attempt';
import { Payment, PaymentState } from './payment';
import { HandledEventStore, PaymentClaimStore, RefundStore } from './stores';

/**
 * A payment as its owner reads it (contract 2026-11-29). `status`: `charging`
 * (Stripe has not said how it ended), `requires_action` (the customer must
 * finish 3-D Secure), `succeeded`, or `failed` (nothing was charged; `failure`
 * says why, and the order may be paid again). Amounts in minor units.
 */
export interface PaymentView {
  id: string;
  orderId: string;
  status: 'charging' | 'requires_action' | 'succeeded' | 'failed';
  /** Why nothing was charged (status failed): declined, rejected, nothing (Stripe holds nothing), with Stripe's message. */
  failure?: { reason: string; message: string };
  amount: number;
  currency: string;
  stripeId?: string;
  paymentIntentId?: string;
  /** While `status` is `requires_action`: what Stripe.js needs to finish 3-D Secure (CONTRACT.md, Additions 2026-12-05). */
  clientSecret?: string;
  refund?: { state: string; refundId?: string; amount: number };
  /** A dispute Stripe reported (`charge.dispute.created`): its id and Stripe's reason. */
  dispute?: { id: string; detail?: string };
}

/**
 * Reads a payment for its owner. A payment still charging whose lease nobody
 * holds is first resolved once through the same attempt recovery runs (Stripe
 * asked once, within the SDK's timeout; what it says is recorded).
 * Errors (AppError): 404 when the payment is unknown or not the user's.
 */
export class PaymentReads {
  constructor(
    private readonly stores: { claims: PaymentClaimStore; refunds: RefundStore; events: HandledEventStore },
    private readonly attempts: ChargeAttempts,
  ) {}

  async byId(userId: string, paymentId: string): Promise<PaymentView> {
    return this.view(userId, await this.stores.claims.findById(paymentId));
  }

  /** The attempt holding the order (charging or succeeded), else the order's latest failed one. */
  async byOrder(userId: string, orderId: string): Promise<PaymentView> {
    const { claims } = this.stores;
    return this.view(userId, (await claims.findByOrder(orderId)) ?? (await claims.latestForOrder(orderId)));
  }

  private async view(userId: string, found: Payment | null): Promise<PaymentView> {
    if (!found || found.userId !== userId) throw new AppError(404, 'Payment not found');
    let payment = found;
    if (payment.state === PaymentState.Charging && new Date(payment.leaseUntil).getTime() <= Date.now()) {
      const claim = await this.stores.claims.takeOver(payment._id);
      if (claim) await this.attempts.run(claim).catch(() => undefined);
      payment = (await this.stores.claims.findById(payment._id)) ?? payment;
    }
    const refund = await this.stores.refunds.findByPayment(payment._id);
    const dispute = await this.stores.events.dispute(payment._id);
    const clientSecret = status(payment) === 'requires_action' ? await this.attempts.clientSecretOf(payment) : null;
    return {
      id: String(payment._id),
      orderId: payment.orderId,
      status: status(payment),
      ...(payment.state === PaymentState.Failed && payment.failure ? { failure: { reason: payment.failure.kind, message: payment.failure.message } } : {}),
      amount: payment.amount,
      currency: payment.currency,
      ...(payment.stripeId ? { stripeId: payment.stripeId } : {}),
      ...(payment.paymentIntentId ? { paymentIntentId: payment.paymentIntentId } : {}),
      ...(clientSecret ? { clientSecret } : {}),
      ...(refund ? { refund: { state: refund.state, ...(refund.refundId ? { refundId: refund.refundId } : {}), amount: refund.amount } } : {}),
      ...(dispute ? { dispute: { id: dispute.objectId, detail: dispute.detail } } : {}),
    };
  }
}

function status(payment: Payment): PaymentView['status'] {
  if (payment.state === PaymentState.Succeeded) return 'succeeded';
  if (payment.state === PaymentState.Failed) return 'failed';
  return payment.actionRequiredAt ? 'requires_action' : 'charging';
}
