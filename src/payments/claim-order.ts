import { Order } from '../orders/order';
import { AttemptLimit } from './attempt-limit';
import { hashToken, idempotencyKey } from './keys';
import { Payment, PaymentState, step } from './payment';
import { PaymentClaimStore } from './stores';

/** A claim's card and amount (minor units of `currency`). */
export interface ClaimRequest {
  card: string;
  method: Payment['method'];
  amount: number;
  currency: string;
}

/**
 * Claims an order for one payment attempt with one insert that takes two unique
 * keys (data-access/payment-model.ts): the order's lock, so no other request can
 * charge it, and one of the user's attempt slots (attempt-limit.ts). No
 * read-modify-write, so it holds across instances.
 */
export class OrderClaims {
  constructor(
    private readonly claims: PaymentClaimStore,
    private readonly attemptLimit: AttemptLimit,
    /** How long the claimer may spend calling Stripe before recovery may take the claim over, in ms. */
    private readonly leaseMs: number,
  ) {}

  /**
   * `{ claimed }` with the new claim, or `{ heldBy }` with the attempt that holds
   * the order (read once here, so the caller need not read it again).
   * @throws AppError 429 when every attempt slot of the user's window is taken.
   */
  async claim(order: Order & { userId: string }, { card, method, amount, currency }: ClaimRequest): Promise<{ claimed: Payment } | { heldBy: Payment }> {
    const now = new Date();
    const _id = this.claims.newId();
    let checkedOrder = false;
    for (const attemptSlot of this.attemptLimit.slots(order.userId, _id.toHexString(), now.getTime())) {
      const claim: Payment = {
        _id,
        orderId: order._id,
        orderLock: order._id,
        attemptSlot,
        userId: order.userId,
        history: [step('claimed', `${amount} ${currency}`)],
        token: card,
        method,
        tokenHash: hashToken(card),
        idempotencyKey: idempotencyKey(order._id, card, _id),
        amount,
        currency,
        state: PaymentState.Charging,
        leaseUntil: new Date(now.getTime() + this.leaseMs),
        chargeAttempts: 1,
        eventsOwed: [],
        owesEvents: false,
        eventsDueAt: null,
        createdAt: now,
        updatedAt: now,
      };
      if ((await this.claims.insert(claim)) === 'inserted') return { claimed: claim };
      // Which key was taken? (The stand-in's error does not say.) The order first: then this attempt is moot.
      if (!checkedOrder) {
        const heldBy = await this.claims.findByOrder(order._id);
        if (heldBy) return { heldBy };
        checkedOrder = true;
      }
    }
    // Every slot was taken, unless the order was claimed meanwhile (the answer for it then wins).
    const heldBy = await this.claims.findByOrder(order._id);
    if (heldBy) return { heldBy };
    return this.attemptLimit.refuse(now.getTime());
  }
}
