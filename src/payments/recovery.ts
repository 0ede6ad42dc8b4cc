import { Logger } from '../logger';
import { ChargeAttempts } from './charge-attempt';
import { PaymentClaims } from './claims';

const BATCH = 20;

/**
 * Finishes charges that nobody is working on: their holder crashed mid-way, or
 * Stripe did not answer. Stripe is asked again with the stored idempotency key,
 * so a charge that did happen is found, never made twice.
 */
export class PaymentRecovery {
  constructor(
    private readonly claims: PaymentClaims,
    private readonly attempts: ChargeAttempts,
    private readonly logger: Logger,
  ) {}

  /** Resolves every expired claim once. */
  async run(): Promise<void> {
    const expired = await this.claims.expired(BATCH);
    for (const stale of expired) {
      const claim = await this.claims.takeOver(stale._id);
      if (!claim) continue; // another instance or a client retry took it
      const result = await this.attempts.run(claim);
      this.logger.info({ orderId: claim.orderId, attempt: claim.chargeAttempts, result: result.kind }, 'recovered a charge');
    }
  }
}
