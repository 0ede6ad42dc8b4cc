import { doublingDelayMs } from '../backoff';
import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { CrashSwitch } from './crash-points';
import { Payment } from './payment';
import { ChargeOutcome, ChargeRequest, LookupOutcome, PaymentProvider } from './payment-provider';
import { ChargeOutcomeStore, OrderReader } from './stores';
import { OrderStatus } from '../orders/order';

export type AttemptResult =
  /** Charged and recorded (if the order was cancelled meanwhile, the outbox owes the refund instead of announcing it). */
  | { kind: 'paid'; payment: Payment }
  /** The customer must authenticate (3-D Secure); the claim is kept until Stripe says how it ended. */
  | { kind: 'requires_action'; payment: Payment; paymentIntentId: string; clientSecret: string }
  /** Stripe said for certain that nothing exists for this claim (its stored failure, or an idempotency error): the order is free again. */
  | { kind: 'nothing'; message: string }
  /** No answer: the claim is kept, and asked about again (recovery) in `retryAfterMs`. */
  | (Extract<ChargeOutcome, { kind: 'unavailable' | 'unknown' }> & { retryAfterMs: number })
  | Exclude<ChargeOutcome, { kind: 'charged' | 'requires_action' | 'idempotency_conflict' | 'unavailable' | 'unknown' }>;

/** How long to wait before asking Stripe again about an unanswered charge or refund, in ms: doubling, at most 10 minutes. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  return doublingDelayMs(attempt, baseMs, 10 * 60_000);
}

export interface ChargeAttemptsDeps {
  outcomes: ChargeOutcomeStore;
  provider: PaymentProvider;
  /** The order's status, read when the customer is still authenticating: a cancelled order's PaymentIntent is cancelled. */
  orders: OrderReader;
  /** Told of each recorded payment, so its event can be relayed at once. */
  onPaid: (payment: Payment) => void;
  /** How long the recorder holds the new payment's event before the outbox sweep may take it. */
  eventLeaseMs: number;
  /** First wait before asking Stripe again about an unanswered charge; doubles each time. */
  retryBaseMs: number;
  /** How long a customer may take to authenticate (3-D Secure) before the PaymentIntent is cancelled and the order freed, in ms. */
  actionTimeoutMs: number;
  /**
   * How long after an object is made Search is taken to show it, in ms: Stripe's "Search"
   * guide ("Data freshness") says within about a minute in normal conditions; 5 minutes by default.
   */
  searchSettledMs?: number;
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
 * resending the same card, a Stripe event) first asks Stripe what exists for the
 * claim (retrieve, or search by the claim's metadata) and follows it; when Search
 * finds nothing the same request is sent again under the same key. An
 * idempotency error, or a replayed stored failure confirmed by a listing of what
 * was created, proves that nothing was charged: the order is released, and the
 * next claim uses a new key.
 */
export class ChargeAttempts {
  constructor(private readonly deps: ChargeAttemptsDeps) {}

  async run(claim: Payment): Promise<AttemptResult> {
    const { provider, metrics, crash } = this.deps;
    crash('after-claim');
    const stopTimer = metrics.chargeSeconds.startTimer();
    const outcome = claim.chargeAttempts <= 1 ? await provider.charge(this.request(claim)) : await this.followUp(claim);
    const result = outcome.kind === 'charged' ? 'paid' : outcome.kind;
    stopTimer({ outcome: result });
    metrics.charges.inc({ outcome: result });
    return this.settle(claim, outcome);
  }

  /**
   * A later try: what exists for the claim, at a cost independent of the account's size.
   * When Search finds nothing, the create is sent again under the claim's key: safe, since
   * a PaymentIntent made under it is either searchable by now or younger than the key
   * (Stripe keeps keys at least 24 hours: API "Idempotent requests"), and then replayed.
   * After Stripe replayed a stored failure, `none` must be certain: Search's own answer once
   * the failure is older than Search's lag (what could exist was made before it), else a
   * listing of what was created up to then, which gives up on a busy account (then: later).
   */
  private async followUp(claim: Payment): Promise<ChargeOutcome | LookupOutcome> {
    const { provider } = this.deps;
    const paymentId = String(claim._id);
    let outcome: ChargeOutcome | LookupOutcome = await provider.lookup({ paymentId, paymentIntentId: claim.paymentIntentId });
    if (outcome.kind === 'none' && claim.storedFailureAt) {
      // Search's none is certain once the failure is older than Search's lag; before that, list.
      const settled = Date.now() - new Date(claim.storedFailureAt).getTime() >= (this.deps.searchSettledMs ?? 5 * 60_000);
      if (!settled) outcome = await provider.findCreated({ paymentId, from: claim.createdAt, to: claim.storedFailureAt });
    } else if (outcome.kind === 'none') {
      outcome = await provider.charge(this.request(claim));
    }
    if (outcome.kind === 'requires_action' && (this.abandoned(claim) || (await this.orderCancelled(claim)))) {
      outcome = await provider.cancel(outcome.paymentIntentId);
    }
    // The customer, who holds the client secret, could confirm a failed 3-D Secure PaymentIntent again
    // (Stripe.js) after the order is freed: cancel it first, so the release is final (or find it succeeded).
    if (outcome.kind === 'declined' && outcome.paymentIntentId && !outcome.canceled && claim.actionRequiredAt) {
      const { message } = outcome;
      outcome = await provider.cancel(outcome.paymentIntentId);
      // Cancelled as planned: the attempt failed for Stripe's reason (say, authentication failed), not for our cancel.
      if (outcome.kind === 'declined' && outcome.canceled) outcome = { ...outcome, message };
    }
    return outcome;
  }

  /** An order cancelled while its customer authenticates is never charged: its PaymentIntent is cancelled (CONTRACT.md, Additions 2026-12-05). */
  private async orderCancelled(claim: Payment): Promise<boolean> {
    return (await this.deps.orders.statusOf(claim.orderId)) === OrderStatus.Cancelled;
  }

  /**
   * The client secret a customer needs to finish 3-D Secure (Stripe.js), read from
   * Stripe (never stored: Stripe's guide says not to keep or log it); null unless the
   * PaymentIntent still requires action within the time allowed. Read-only, never throws.
   */
  async clientSecretOf(payment: Payment): Promise<string | null> {
    if (!payment.actionRequiredAt || !payment.paymentIntentId || this.abandoned(payment)) return null;
    const outcome = await this.deps.provider.lookup({ paymentId: String(payment._id), paymentIntentId: payment.paymentIntentId });
    return outcome.kind === 'requires_action' ? outcome.clientSecret : null;
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
        // `none` leaves followUp() only from the certain listing after a stored failure. Stripe ran nothing under this key.
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
        const storedFailure = outcome.kind === 'unknown' && outcome.replayed ? (true as const) : undefined;
        const retryInMs = retryDelayMs(claim.chargeAttempts, this.deps.retryBaseMs);
        // A replayed stored failure: the next try lists what was created until now, and then knows.
        await outcomes.defer(claim, retryInMs, storedFailure ? 'Stripe replayed a stored failure' : 'charge outcome unknown', { storedFailure });
        log.warn({ reason: outcome.message, attempt: claim.chargeAttempts, retryInMs, storedFailure }, 'charge outcome unknown; will ask Stripe again');
        return { ...outcome, retryAfterMs: retryInMs };
      }
    }
  }
}
