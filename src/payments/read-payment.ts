import { AppError } from '../errors';
import { ChargeAttempts } from './charge-attempt';
import { Payment, PaymentState, Refund, RefundState } from './payment';
import { DisputeStore, PaymentClaimStore, RefundStore } from './stores';

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
  /** The cancelled order's refund (the field older clients read). */
  refund?: { state: string; refundId?: string; amount: number };
  /** Every refund of the charge, wherever it was made (CONTRACT.md, Additions 2026-12-05). */
  refunds?: Array<{ refundId?: string; amount: number; state: 'pending' | 'succeeded' | 'failed' | 'canceled'; source: string }>;
  /** The charge's dispute as last read from Stripe; funds in minor units. */
  dispute?: { disputeId: string; status: string; reason: string; amount: number; fundsWithdrawn: number; fundsReinstated: number };
}

/**
 * Reads a payment for its owner. A payment still charging whose lease nobody
 * holds is first resolved once through the same attempt recovery runs (Stripe
 * asked once, within the SDK's timeout; what it says is recorded).
 * Errors (AppError): 404 when the payment is unknown or not the user's.
 */
export class PaymentReads {
  constructor(
    private readonly stores: { claims: PaymentClaimStore; refunds: RefundStore; disputes: DisputeStore },
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
    const refunds = await this.stores.refunds.listByPayment(payment._id);
    const refund = refunds.find((one) => (one.source ?? 'cancel') === 'cancel');
    const atStripe = refunds.filter((one) => one.state !== RefundState.Refused);
    const dispute = await this.stores.disputes.findByPayment(payment._id);
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
      ...(atStripe.length ? { refunds: atStripe.map(refundView) } : {}),
      ...(dispute
        ? { dispute: { disputeId: dispute.disputeId, status: dispute.status, reason: dispute.reason, amount: dispute.amount, fundsWithdrawn: dispute.fundsWithdrawn, fundsReinstated: dispute.fundsReinstated } }
        : {}),
    };
  }
}

function status(payment: Payment): PaymentView['status'] {
  if (payment.state === PaymentState.Succeeded) return 'succeeded';
  if (payment.state === PaymentState.Failed) return 'failed';
  return payment.actionRequiredAt ? 'requires_action' : 'charging';
}

function refundView(refund: Refund): NonNullable<PaymentView['refunds']>[number] {
  if (refund.state === RefundState.Failed || refund.state === RefundState.Canceled) return view(refund, refund.state);
  // Refunds recorded before 2026-12-05 kept no status: Stripe had accepted them, and card refunds succeed at once.
  const settled = refund.state === RefundState.Refunded && !['pending', 'requires_action'].includes(refund.stripeStatus ?? 'succeeded');
  return view(refund, settled ? 'succeeded' : 'pending');
}

function view(refund: Refund, state: 'pending' | 'succeeded' | 'failed' | 'canceled'): NonNullable<PaymentView['refunds']>[number] {
  return { ...(refund.refundId ? { refundId: refund.refundId } : {}), amount: refund.amount, state, source: refund.source ?? 'cancel' };
}
