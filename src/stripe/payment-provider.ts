import Stripe from 'stripe';
import { ChargeAdmission, ChargeRequest, PaymentProvider, RefundRequest } from '../payments/payment-provider';
import { StripeCallBudget } from './call-budget';
import { StripeCharges } from './charges';
import { StripeLedgerReads } from './disputes-and-events';
import { StripeRefunds } from './refunds';

/** The payment provider the use cases call (payments/payment-provider.ts), made of Stripe's PaymentIntents, Refunds, Disputes and Events. */
export class StripePaymentProvider implements PaymentProvider {
  private readonly charges: StripeCharges;
  private readonly refunds: StripeRefunds;
  private readonly reads: StripeLedgerReads;

  /** `budget`: the one the client's requests pass (createStripe); none, every charge is admitted. */
  constructor(
    stripe: Stripe,
    private readonly budget?: StripeCallBudget,
  ) {
    this.charges = new StripeCharges(stripe);
    this.refunds = new StripeRefunds(stripe);
    this.reads = new StripeLedgerReads(stripe);
  }

  /** A token costs two calls (a PaymentMethod, then the PaymentIntent: charges.ts), a PaymentMethod id one. */
  admitCharge(method: 'token' | 'paymentMethodId'): Promise<ChargeAdmission> {
    if (!this.budget) return Promise.resolve({ admitted: true, run: (work) => work() });
    return this.budget.admit(method === 'token' ? ['POST /v1/payment_methods', 'POST /v1/payment_intents'] : ['POST /v1/payment_intents']);
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

  refundsOf(chargeId: string) {
    return this.refunds.refundsOf(chargeId);
  }

  dispute(disputeId: string) {
    return this.reads.dispute(disputeId);
  }

  eventsBetween(since: Date, until?: Date) {
    return this.reads.eventsBetween(since, until);
  }
}
