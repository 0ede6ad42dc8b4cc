import { Logger } from '../logger';
import { ChargeAttempts } from './charge-attempt';
import { PaymentRefunds } from './refund-payment';
import { PaymentClaimStore, RefundStore } from './stores';

const BATCH = 20;

/**
 * Finishes Stripe calls that nobody is working on: their holder crashed mid-way,
 * or Stripe did not answer. Charges and refunds alike are asked again with their
 * stored idempotency key, so one that did happen is found, never made twice.
 */
export class PaymentRecovery {
  constructor(
    private readonly stores: { claims: PaymentClaimStore; refunds: RefundStore },
    private readonly attempts: ChargeAttempts,
    private readonly refunds: PaymentRefunds,
    private readonly logger: Logger,
  ) {}

  /** Resolves every expired charge and refund once. */
  async run(): Promise<void> {
    const { claims, refunds } = this.stores;
    for (const stale of await refunds.expired(BATCH)) {
      const refund = await refunds.takeOver(stale._id);
      if (!refund) continue; // another instance took it
      const result = await this.refunds.run(refund);
      this.logger.info({ orderId: refund.orderId, attempt: refund.attempts, result: result.kind }, 'recovered a refund');
    }
    for (const stale of await claims.expired(BATCH)) {
      const claim = await claims.takeOver(stale._id);
      if (!claim) continue; // another instance or a client retry took it
      const result = await this.attempts.run(claim);
      this.logger.info({ orderId: claim.orderId, attempt: claim.chargeAttempts, result: result.kind }, 'recovered a charge');
    }
  }
}
