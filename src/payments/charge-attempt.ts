import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { PaymentClaims } from './claims';
import { Payment } from './payment-model';
import { ChargeOutcome, StripeCharges } from './stripe-charges';

export type AttemptResult =
  | { kind: 'paid'; payment: Payment }
  | Exclude<ChargeOutcome, { kind: 'charged' }>;

/** How long to wait before asking Stripe again about an unanswered charge. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 10 * 60_000);
}

/**
 * One try at charging a claimed order, used by the request that claimed it and
 * by recovery alike. Whatever Stripe answers is saved before this returns:
 * charged is recorded with its event owed, a definite failure releases the
 * order, and no answer keeps the claim for a retry with the same key.
 */
export class ChargeAttempts {
  constructor(
    private readonly claims: PaymentClaims,
    private readonly charges: StripeCharges,
    private readonly onPaid: (payment: Payment) => void,
    private readonly retryBaseMs: number,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async run(claim: Payment): Promise<AttemptResult> {
    const log = this.logger.child({ orderId: claim.orderId, paymentId: String(claim._id) });
    if (!claim.token) throw new Error(`payment ${String(claim._id)} is charging without a token`);
    const stopTimer = this.metrics.chargeSeconds.startTimer();
    const outcome = await this.charges.charge({
      amount: claim.amount,
      currency: claim.currency,
      source: claim.token,
      idempotencyKey: claim.idempotencyKey,
      metadata: { orderId: claim.orderId, paymentId: String(claim._id) },
    });
    const result = outcome.kind === 'charged' ? 'paid' : outcome.kind;
    stopTimer({ outcome: result });
    this.metrics.charges.inc({ outcome: result });

    switch (outcome.kind) {
      case 'charged': {
        const payment = await this.claims.record(claim, outcome.stripeId);
        log.info({ stripeId: outcome.stripeId, amount: claim.amount, currency: claim.currency }, 'payment recorded');
        this.onPaid(payment);
        return { kind: 'paid', payment };
      }
      case 'declined':
      case 'rejected':
      case 'unavailable':
        await this.claims.release(claim);
        log.info({ outcome: outcome.kind, reason: outcome.message }, 'charge failed; order released');
        return outcome;
      case 'unknown': {
        const retryInMs = retryDelayMs(claim.chargeAttempts, this.retryBaseMs);
        await this.claims.defer(claim, retryInMs);
        log.warn({ reason: outcome.message, attempt: claim.chargeAttempts, retryInMs }, 'charge outcome unknown; will ask Stripe again');
        return outcome;
      }
    }
  }
}
