import Stripe from 'stripe';
import { ChargeRequest, PaymentProvider, RefundRequest } from '../payments/payment-provider';
import { StripeCharges } from './charges';
import { StripeRefunds } from './refunds';

/** The payment provider the use cases call (payments/payment-provider.ts), made of Stripe's PaymentIntents and Refunds. */
export class StripePaymentProvider implements PaymentProvider {
  private readonly charges: StripeCharges;
  private readonly refunds: StripeRefunds;

  constructor(stripe: Stripe) {
    this.charges = new StripeCharges(stripe);
    this.refunds = new StripeRefunds(stripe);
  }

  charge(request: ChargeRequest) {
    return this.charges.charge(request);
  }

  lookup(claim: { paymentId: string; paymentIntentId?: string }) {
    return this.charges.lookup(claim);
  }

  findCreated(claim: { paymentId: string; from: Date; to: Date }) {
    return this.charges.findCreated(claim);
  }

  cancel(paymentIntentId: string) {
    return this.charges.cancel(paymentIntentId);
  }

  refund(request: RefundRequest) {
    return this.refunds.refund(request);
  }
}
