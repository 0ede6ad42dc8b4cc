import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { OneAtATime } from '../orders/one-at-a-time';
import { ChargeAttempts } from './charge-attempt';
import { Dispute, Payment, PaymentState } from './payment';
import { PaymentProvider, ProviderEvent } from './payment-provider';
import { RefundLedger } from './refund-ledger';
import { DisputeStore, HandledEventStore, PaymentClaimStore } from './stores';

export interface StripeEventsDeps {
  events: HandledEventStore;
  claims: PaymentClaimStore;
  disputes: DisputeStore;
  provider: PaymentProvider;
  attempts: ChargeAttempts;
  ledger: RefundLedger;
  /** Told of each dispute that now owes `payment:disputed`, so it is relayed at once. */
  onDisputeOwed: (dispute: Dispute) => void;
  /** How long the reader holds a new event before the outbox sweep may take it, in ms. */
  eventLeaseMs: number;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Applies Stripe's events, from its webhooks or its events list, each event id once
 * (Stripe, "Receive Stripe events": events may arrive more than once and in any
 * order). The payload is never trusted for state: the object it names is read again
 * from Stripe, so events in any order, or twice, only ever move things forward.
 * A PaymentIntent event runs the payment's attempt as recovery does; a refund event
 * syncs the charge's refunds (refund-ledger.ts); a dispute event records the dispute
 * as Stripe holds it, owing `payment:disputed` when its status changed.
 */
export class StripeEvents {
  /** The reads of one dispute, one at a time in this process (orders/one-at-a-time.ts says why). */
  private readonly perDispute = new OneAtATime();

  constructor(private readonly deps: StripeEventsDeps) {}

  /**
   * `duplicate`: this event id was handled before and nothing was done.
   * Throws when the database fails, or when Stripe cannot be read for a refund or
   * dispute (the webhook then answers 5xx and Stripe redelivers; the events list reads it again).
   */
  async apply(event: ProviderEvent): Promise<'handled' | 'duplicate'> {
    const { events, claims } = this.deps;
    if (await events.seen(event.id)) return 'duplicate';
    const log = this.deps.logger.child({ eventId: event.id, type: event.type, objectId: event.objectId });
    let payment: Payment | null = null;

    switch (event.kind) {
      case 'payment_intent':
        payment = await claims.findByProviderIds({ paymentId: event.paymentId, paymentIntentId: event.paymentIntentId });
        if (payment?.state === PaymentState.Charging) {
          const claim = await claims.takeOverForEvent(payment._id);
          // Null: the request or recovery holding it is asking Stripe right now.
          if (claim) await this.deps.attempts.run(claim);
        } else if (event.succeeded && payment?.state !== PaymentState.Succeeded) {
          log.error({ paymentId: payment ? String(payment._id) : undefined, state: payment?.state }, 'a PaymentIntent succeeded for no charging payment of this service: an operator must look');
        }
        break;
      case 'refund':
        payment = await claims.findByProviderIds({ stripeId: event.chargeId });
        if (payment && !(await this.deps.ledger.sync(payment))) throw new Error(`the refunds of charge ${event.chargeId} could not be read from Stripe`);
        break;
      case 'dispute':
        payment = await this.perDispute.run(event.disputeId, () => this.followDispute(event.disputeId, log));
        break;
      case 'other':
        log.debug('Stripe event ignored');
    }

    // `duplicate`: another delivery of the same event was handled meanwhile.
    const recorded = await events.record({ _id: event.id, type: event.type, objectId: event.objectId, paymentId: payment?._id });
    return recorded === 'recorded' ? 'handled' : 'duplicate';
  }

  /** Records the dispute as Stripe holds it now; a dispute on a charge of no payment here is logged and left. */
  private async followDispute(disputeId: string, log: Logger): Promise<Payment | null> {
    const read = await this.deps.provider.dispute(disputeId);
    if (read.kind !== 'found') throw new Error(`dispute ${disputeId} could not be read from Stripe: ${read.message}`);
    const payment = await this.deps.claims.findByProviderIds({ stripeId: read.dispute.chargeId });
    if (!payment) {
      log.error({ disputeId, charge: read.dispute.chargeId }, 'a dispute on a charge of no payment of this service: an operator must look');
      return null;
    }
    const { kind, dispute } = await this.deps.disputes.observe(payment, read.dispute, this.deps.eventLeaseMs);
    if (kind === 'same') return payment;
    this.deps.metrics.disputes.inc({ status: dispute.status });
    log.error(
      { paymentId: String(payment._id), orderId: payment.orderId, disputeId, status: dispute.status, reason: dispute.reason, amount: dispute.amount, withdrawn: dispute.fundsWithdrawn, reinstated: dispute.fundsReinstated },
      kind === 'new' ? 'a charge is disputed: an operator must look' : 'a dispute changed',
    );
    if (dispute.owesEvents) this.deps.onDisputeOwed(dispute);
    return payment;
  }
}
