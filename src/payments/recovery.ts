import { Logger } from '../logger';
import { ChargeAttempts } from './charge-attempt';
import { PaymentClaims } from './claims';
import { PaymentState } from './payment-model';
import { PaymentRefunds } from './refunds';

const BATCH = 20;

/**
 * Finishes Stripe calls that nobody is working on: their holder crashed mid-way,
 * or Stripe did not answer. Charges and refunds alike are asked again with their
 * stored idempotency key, so one that did happen is found, never made twice.
 */
export class PaymentRecovery {
  constructor(
    private readonly claims: PaymentClaims,
    private readonly attempts: ChargeAttempts,
    private readonly refunds: PaymentRefunds,
    private readonly logger: Logger,
  ) {}

  /** Resolves every expired charge or refund once. */
  async run(): Promise<void> {
    const expired = await this.claims.expired(BATCH);
    for (const stale of expired) {
      if (stale.state === PaymentState.Refunding) {
        const payment = await this.refunds.takeOver(stale._id);
        if (!payment) continue; // another instance took it
        const result = await this.refunds.run(payment);
        this.logger.info({ orderId: payment.orderId, attempt: payment.refund?.attempts, result: result.kind }, 'recovered a refund');
        continue;
      }
      const claim = await this.claims.takeOver(stale._id);
      if (!claim) continue; // another instance or a client retry took it
      const result = await this.attempts.run(claim);
      this.logger.info({ orderId: claim.orderId, attempt: claim.chargeAttempts, result: result.kind }, 'recovered a charge');
    }
  }
}
