import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { PaymentClaims } from './claims';
import { CrashSwitch } from './crash-points';
import { Payment } from './payment-model';
import { ChargeOutcome, StripeCharges } from './stripe-charges';

export type AttemptResult =
  /** Charged; `cancelled`: the order was cancelled meanwhile and the refund is owed. */
  | { kind: 'paid'; payment: Payment; cancelled: boolean }
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
export interface ChargeAttemptsDeps {
  claims: PaymentClaims;
  charges: StripeCharges;
  /** Told of each recorded payment, so its event can be relayed at once. */
  onPaid: (payment: Payment) => void;
  /** How long the recorder holds the new payment's event before the outbox sweep may take it. */
  eventLeaseMs: number;
  /** First wait before asking Stripe again about an unanswered charge; doubles each time. */
  retryBaseMs: number;
  metrics: Metrics;
  logger: Logger;
  crash: CrashSwitch;
}

export class ChargeAttempts {
  constructor(private readonly deps: ChargeAttemptsDeps) {}

  async run(claim: Payment): Promise<AttemptResult> {
    const { claims, charges, metrics, crash } = this.deps;
    const log = this.deps.logger.child({ orderId: claim.orderId, paymentId: String(claim._id) });
    if (!claim.token) throw new Error(`payment ${String(claim._id)} is charging without a token`);
    crash('after-claim');
    const stopTimer = metrics.chargeSeconds.startTimer();
    const outcome = await charges.charge({
      amount: claim.amount,
      currency: claim.currency,
      source: claim.token,
      idempotencyKey: claim.idempotencyKey,
      metadata: { orderId: claim.orderId },
    });
    const result = outcome.kind === 'charged' ? 'paid' : outcome.kind;
    stopTimer({ outcome: result });
    metrics.charges.inc({ outcome: result });

    switch (outcome.kind) {
      case 'charged': {
        crash('after-charge');
        const { payment, cancelled } = await claims.record(claim, outcome.stripeId, this.deps.eventLeaseMs);
        log.info({ stripeId: outcome.stripeId, amount: claim.amount, currency: claim.currency, orderCancelled: cancelled }, 'payment recorded');
        crash('after-record');
        this.deps.onPaid(payment);
        return { kind: 'paid', payment, cancelled };
      }
      case 'declined':
      case 'rejected':
        await claims.release(claim);
        log.info({ outcome: outcome.kind, reason: outcome.message }, 'charge failed; order released');
        return outcome;
      case 'unavailable':
      case 'unknown': {
        const retryInMs = retryDelayMs(claim.chargeAttempts, this.deps.retryBaseMs);
        await claims.defer(claim, retryInMs);
        log.warn({ reason: outcome.message, attempt: claim.chargeAttempts, retryInMs }, 'charge outcome unknown; will ask Stripe again');
        return outcome;
      }
    }
  }
}
