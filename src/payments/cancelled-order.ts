import { ChargeAttempts } from './charge-attempt';
import { PaymentState } from './payment';
import { PaymentRefunds } from './refund-payment';
import { PaymentClaimStore } from './stores';

/**
 * What a cancelled order means for its payment (CONTRACT.md, "Money" and Additions
 * 2026-12-05): a charged one owes its refund; one waiting for the customer's 3-D
 * Secure has its PaymentIntent cancelled at Stripe, so no money moves. A charge in
 * flight is left to finish: if it succeeds, the outbox finds the order cancelled and
 * owes the refund instead of announcing it.
 */
export class CancelledOrders {
  constructor(
    private readonly claims: PaymentClaimStore,
    private readonly attempts: ChargeAttempts,
    private readonly refunds: PaymentRefunds,
  ) {}

  /** Called for every cancel of a stored order, redeliveries too; throws only what the database throws. */
  async settle(orderId: string): Promise<void> {
    // By the order's lock (one unique key), not by {orderId, state}: docs/ferretdb.md says why.
    const holder = await this.claims.findByOrder(orderId);
    if (holder?.state === PaymentState.Succeeded) {
      await this.refunds.oweFor(holder);
    } else if (holder?.state === PaymentState.Charging && holder.actionRequiredAt) {
      // Null: a request or recovery is asking Stripe right now, and will see the order cancelled.
      const claim = await this.claims.takeOverForEvent(holder._id);
      if (claim) await this.attempts.run(claim);
    }
  }
}
