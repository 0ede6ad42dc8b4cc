import { delay, doublingDelayMs } from '../backoff';
import { AppError } from '../errors';
import { Order, OrderStatus, PAYABLE_STATUSES } from '../orders/order';
import { AttemptResult, ChargeAttempts } from './charge-attempt';
import { OrderClaims } from './claim-order';
import { hashToken } from './keys';
import { toMinorUnits } from './money';
import { Payment, PaymentState } from './payment';
import { PaymentProvider } from './payment-provider';
import { OrderReader, PaymentClaimStore } from './stores';

/** A request to pay: exactly one of a card token (`tok_…`) or a PaymentMethod id (`pm_…`). */
export interface PayOrder {
  userId: string;
  orderId: string;
  token?: string;
  paymentMethodId?: string;
}

/** What a request to pay ends with: paid (201), or waiting for the customer's 3-D Secure (202). */
export type PayResult =
  | { kind: 'paid'; payment: Payment }
  | { kind: 'requires_action'; payment: Payment; clientSecret: string };

/**
 * The story of a payment: find the order, make sure this user may pay it, claim
 * it so no other request can charge it, charge it, and answer with the payment.
 */
export class OrderPayments {
  constructor(
    private readonly orders: OrderReader,
    private readonly orderClaims: OrderClaims,
    private readonly claims: PaymentClaimStore,
    private readonly attempts: ChargeAttempts,
    /** Asked for room at Stripe before a claim (STRIPE_MAX_RPS). */
    private readonly provider: Pick<PaymentProvider, 'admitCharge'>,
    private readonly currency: string,
    /** How long a payment waits for an order that has not replicated yet before it answers 404, in ms. */
    private readonly orderWaitMs = 2_000,
  ) {}

  /**
   * Four database commands on the way to a paid answer: read the order, take its
   * Stripe call slots (one per call), insert the claim (which also takes the user's
   * attempt slot), record the charge.
   * Announcing the payment follows the answer (outbox.ts). A paid order stays
   * payable in the replica (the orders service owns its status): a second
   * attempt loses the claim to the succeeded payment that holds the order's lock.
   *
   * Errors (AppError): 404 unknown order (after waiting up to `orderWaitMs` for it), 401 another user's, 400 cancelled or
   * paid or a card Stripe does not know (`field`), 402 declined (Stripe's
   * message), 409 another payment in progress, 429 too many attempts
   * (attempt-limit.ts), 503 with Retry-After when Stripe's call budget has no
   * room soon enough (before any claim: nothing is held), 502/503 with Retry-After
   * Stripe failing (the claim is kept and asked about then, or released when Stripe
   * says nothing exists).
   */
  async pay({ userId, orderId, token, paymentMethodId }: PayOrder): Promise<PayResult> {
    const card = token ?? paymentMethodId;
    if (card === undefined) throw new AppError(400, 'token or paymentMethodId is required', 'token');
    const method = token !== undefined ? 'token' : 'paymentMethodId';
    const order = await this.replicated(orderId);
    // A tombstone (cancelled before its order:created arrived) has no owner yet: as good as unknown.
    if (!order || order.userId === undefined) throw new AppError(404, 'Order not found');
    if (order.userId !== userId) throw new AppError(401, 'Not authorized');

    if (PAYABLE_STATUSES.includes(order.status)) {
      const amount = toMinorUnits(order.price ?? Number.NaN, this.currency);
      // Room at Stripe first (STRIPE_MAX_RPS): a buyer refused here holds nothing and comes back when told.
      const admission = await this.provider.admitCharge(method);
      if (!admission.admitted) throw new AppError(503, `Too many payments at once; try again in ${seconds(admission.retryAfterMs)} s`, undefined, { headers: retryAfter(admission.retryAfterMs) });
      const ownerId = order.userId;
      return admission.run(async () => {
        const claim = await this.orderClaims.claim({ ...order, userId: ownerId }, { card, method, amount, currency: this.currency });
        if ('claimed' in claim) return answer(await this.attempts.run(claim.claimed));
        // Another attempt holds the order.
        return this.answerExisting(claim.heldBy, card);
      });
    }

    // Whatever was charged for a cancelled order is refunded (refund-payment.ts): it cannot be paid, nor paid again.
    if (order.status === OrderStatus.Cancelled) throw new AppError(400, 'Cannot pay for a cancelled order');
    // Complete (an order the orders service sent so, or marked by an earlier version of this
    // service): the same card gets its payment back, any other is told it is paid.
    const existing = await this.claims.findByOrder(orderId);
    if (existing) return this.answerExisting(existing, card);
    throw new AppError(400, 'Order is already paid');
  }

  /**
   * The order, waiting a little for one not replicated yet: a client may pay within
   * milliseconds of creating the order, before its order:created reaches this service.
   * Reads at doubling intervals from 50 ms, `orderWaitMs` in all; null if it never came.
   */
  private async replicated(orderId: string): Promise<Order | null> {
    const deadline = Date.now() + this.orderWaitMs;
    for (let attempt = 1; ; attempt += 1) {
      const order = await this.orders.find(orderId);
      const waitMs = Math.min(doublingDelayMs(attempt, 50, 1_000), deadline - Date.now());
      if (order || waitMs <= 0) return order;
      await delay(waitMs);
    }
  }

  /**
   * The order has a payment document already. The same token gets the same
   * payment (a client retry): while the customer authenticates, the same 202 with
   * its client secret (CONTRACT.md, Additions 2026-12-05); a claim left
   * unresolved is retried with its key. Another card gets 409.
   */
  private async answerExisting(existing: Payment, token: string): Promise<PayResult> {
    const sameToken = existing.tokenHash === hashToken(token);
    if (existing.state === PaymentState.Succeeded) {
      if (sameToken) return { kind: 'paid', payment: existing };
      throw new AppError(400, 'Order is already paid');
    }
    if (sameToken && existing.actionRequiredAt) {
      const clientSecret = await this.attempts.clientSecretOf(existing);
      if (clientSecret) return { kind: 'requires_action', payment: existing, clientSecret };
      // Authenticated, failed or given up: settle it now, unless someone is asking Stripe already.
      const claim = await this.claims.takeOverForEvent(existing._id);
      if (claim) return answer(await this.attempts.run(claim));
    }
    const takenOver = sameToken ? await this.claims.takeOver(existing._id) : null;
    if (!takenOver) throw new AppError(409, 'A payment for this order is in progress');
    return answer(await this.attempts.run(takenOver));
  }
}

function answer(result: AttemptResult): PayResult {
  switch (result.kind) {
    case 'paid':
      // Charged. Should the order have been cancelled meanwhile, the outbox owes the refund instead of announcing it.
      return { kind: 'paid', payment: result.payment };
    case 'requires_action':
      return { kind: 'requires_action', payment: result.payment, clientSecret: result.clientSecret };
    case 'nothing':
      return fail(new AppError(502, 'The payment provider failed; nothing was charged, the order can be paid again'));
    case 'processing':
      return fail(new AppError(502, 'The payment provider is still processing the payment; it is not complete yet'));
    case 'declined':
      return fail(new AppError(402, result.message));
    case 'rejected':
      if (result.field) return fail(new AppError(400, result.message, result.field));
      return fail(new AppError(result.amount ? 400 : 502, result.message));
    case 'unavailable':
      return fail(new AppError(503, 'The payment provider is unavailable; the payment is not complete yet', undefined, { headers: retryAfter(result.retryAfterMs) }));
    case 'unknown':
      return fail(new AppError(502, 'The payment provider did not answer; the payment is not complete yet', undefined, { headers: retryAfter(result.retryAfterMs) }));
  }
}

/** Whole seconds, at least 1: what Retry-After says (RFC 9110, "Retry-After"). */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function retryAfter(ms: number): Record<string, string> {
  return { 'Retry-After': String(seconds(ms)) };
}

function fail(error: AppError): never {
  throw error;
}
