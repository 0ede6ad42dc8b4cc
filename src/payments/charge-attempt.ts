import { doublingDelayMs } from '../backoff';
import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { CrashSwitch } from './crash-points';
import { Payment } from './payment';
import { ChargeOutcome, ChargeRequest, LookupOutcome, PaymentProvider } from './payment-provider';
import { ChargeOutcomeStore } from './stores';

export type AttemptResult =
  /** Charged and recorded (if the order was cancelled meanwhile, the outbox owes the refund instead of announcing it). */
  | { kind: 'paid'; payment: Payment }
  /** The customer must authenticate (3-D Secure); the claim is kept until Stripe says how it ended. */
  | { kind: 'requires_action'; payment: Payment; paymentIntentId: string; clientSecret: string }
  /** Stripe said for certain that nothing exists for this claim (its stored failure, or an idempotency error): the order is free again. */
  | { kind: 'nothing'; message: string }
  | Exclude<ChargeOutcome, { kind: 'charged' | 'requires_action' | 'idempotency_conflict' }>;

/** How long to wait before asking Stripe again about an unanswered charge or refund, in ms: doubling, at most 10 minutes. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  return doublingDelayMs(attempt, baseMs, 10 * 60_000);
}

export interface ChargeAttemptsDeps {
  outcomes: ChargeOutcomeStore;
  provider: PaymentProvider;
  /** Told of each recorded payment, so its event can be relayed at once. */
  onPaid: (payment: Payment) => void;
  /** How long the recorder holds the new payment's event before the outbox sweep may take it. */
  eventLeaseMs: number;
  /** First wait before asking Stripe again about an unanswered charge; doubles each time. */
  retryBaseMs: number;
  /** How long a customer may take to authenticate (3-D Secure) before the PaymentIntent is cancelled and the order freed, in ms. */
  actionTimeoutMs: number;
  metrics: Metrics;
  logger: Logger;
  crash: CrashSwitch;
}

/**
 * One try at charging a claimed order, used by the request that claimed it and
 * by recovery alike. Whatever Stripe answers is saved before this returns:
 * charged is recorded with its event owed, a definite failure releases the
 * order, and anything undecided keeps the claim for recovery.
 *
 * The first try creates the PaymentIntent. A later try (recovery, a client
 * resending the same card) first asks Stripe what exists for the claim
 * (retrieve, or list by the claim's metadata) and follows it; only when Stripe
 * lists nothing is the same request sent again under the same key, and a
 * replayed stored failure or an idempotency error then proves that nothing was
 * charged: the order is released, and the next claim uses a new key.
 */
export class ChargeAttempts {
  constructor(private readonly deps: ChargeAttemptsDeps) {}

  async run(claim: Payment): Promise<AttemptResult> {
    const { provider, metrics, crash } = this.deps;
    crash('after-claim');
    const stopTimer = metrics.chargeSeconds.startTimer();
    let outcome: ChargeOutcome | LookupOutcome;
    if (claim.chargeAttempts <= 1) {
      outcome = await provider.charge(this.request(claim));
    } else {
      outcome = await provider.lookup({ paymentId: String(claim._id), paymentIntentId: claim.paymentIntentId, since: claim.createdAt });
      if (outcome.kind === 'none') outcome = await provider.charge(this.request(claim));
      if (outcome.kind === 'requires_action' && this.abandoned(claim)) outcome = await provider.cancel(outcome.paymentIntentId);
      // The customer, who holds the client secret, could confirm a failed 3-D Secure PaymentIntent again
      // (Stripe.js) after the order is freed: cancel it first, so the release is final (or find it succeeded).
      if (outcome.kind === 'declined' && outcome.paymentIntentId && !outcome.canceled && claim.actionRequiredAt) {
        const { message } = outcome;
        outcome = await provider.cancel(outcome.paymentIntentId);
        // Cancelled as planned: the attempt failed for Stripe's reason (say, authentication failed), not for our cancel.
        if (outcome.kind === 'declined' && outcome.canceled) outcome = { ...outcome, message };
      }
    }
    const result = outcome.kind === 'charged' ? 'paid' : outcome.kind;
    stopTimer({ outcome: result });
    metrics.charges.inc({ outcome: result });
    return this.settle(claim, outcome);
  }

  private request(claim: Payment): ChargeRequest {
    if (!claim.token) throw new Error(`payment ${String(claim._id)} is charging without a card`);
    return {
      amount: claim.amount,
      currency: claim.currency,
      method: claim.method === 'paymentMethodId' ? { paymentMethodId: claim.token } : { token: claim.token },
      idempotencyKey: claim.idempotencyKey,
      metadata: { orderId: claim.orderId, paymentId: String(claim._id) },
    };
  }

  private abandoned(claim: Payment): boolean {
    return claim.actionRequiredAt !== undefined && Date.now() - new Date(claim.actionRequiredAt).getTime() >= this.deps.actionTimeoutMs;
  }

  private async settle(claim: Payment, outcome: ChargeOutcome | LookupOutcome): Promise<AttemptResult> {
    const { outcomes, crash } = this.deps;
    const log = this.deps.logger.child({ orderId: claim.orderId, paymentId: String(claim._id) });
    switch (outcome.kind) {
      case 'charged': {
        crash('after-charge');
        const payment = await outcomes.record(claim, outcome, this.deps.eventLeaseMs);
        log.info({ stripeId: outcome.stripeId, paymentIntentId: outcome.paymentIntentId, amount: claim.amount, currency: claim.currency }, 'payment recorded');
        crash('after-record');
        this.deps.onPaid(payment);
        return { kind: 'paid', payment };
      }
      case 'declined':
      case 'rejected':
        await outcomes.release(claim, { kind: outcome.kind, message: outcome.message });
        log.info({ outcome: outcome.kind, reason: outcome.message }, 'charge failed; order released');
        return outcome;
      case 'idempotency_conflict':
      case 'none':
        // Only reached through a replay: `none` never leaves run(). Stripe ran nothing under this key.
        await outcomes.release(claim, { kind: 'nothing', message: outcome.kind === 'none' ? 'Stripe holds nothing for this attempt' : 'Stripe refused the key: an idempotency error' });
        log.warn({ reason: outcome.kind }, 'Stripe holds nothing for this claim; order released');
        return { kind: 'nothing', message: outcome.kind };
      case 'requires_action': {
        const retryInMs = Math.min(retryDelayMs(claim.chargeAttempts, this.deps.retryBaseMs), this.deps.actionTimeoutMs);
        await outcomes.defer(claim, retryInMs, 'customer authenticating', { paymentIntentId: outcome.paymentIntentId, actionRequired: true });
        log.info({ paymentIntentId: outcome.paymentIntentId }, 'card needs authentication; claim kept');
        return { kind: 'requires_action', payment: claim, paymentIntentId: outcome.paymentIntentId, clientSecret: outcome.clientSecret };
      }
      case 'processing': {
        const retryInMs = retryDelayMs(claim.chargeAttempts, this.deps.retryBaseMs);
        await outcomes.defer(claim, retryInMs, 'Stripe processing', { paymentIntentId: outcome.paymentIntentId });
        return outcome;
      }
      case 'unknown':
      case 'unavailable': {
        if (outcome.kind === 'unknown' && outcome.replayed && claim.chargeAttempts > 1) {
          // Stripe's stored answer for the key, and (asked just before) no PaymentIntent for the claim: nothing was charged.
          await outcomes.release(claim, { kind: 'nothing', message: `Stripe replayed a stored failure: ${outcome.message}` });
          log.warn({ reason: outcome.message }, 'Stripe replayed a stored failure and holds nothing for this claim; order released');
          return { kind: 'nothing', message: outcome.message };
        }
        const retryInMs = retryDelayMs(claim.chargeAttempts, this.deps.retryBaseMs);
        await outcomes.defer(claim, retryInMs, 'charge outcome unknown', {});
        log.warn({ reason: outcome.message, attempt: claim.chargeAttempts, retryInMs }, 'charge outcome unknown; will ask Stripe again');
        return outcome;
      }
    }
  }
}
