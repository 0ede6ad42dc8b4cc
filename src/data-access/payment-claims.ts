import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import { isDuplicateKey } from './db-errors';
import { driverCollection } from './driver-collection';
import { Subjects } from '../events/contracts';
import { Order } from './order-model';
import { AttemptLimit } from '../payments/attempt-limit';
import { findLockHolder, Payment, PaymentModel, PaymentState, step } from './payment-model';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * One key per claim: every retry of one claim is the same request, so Stripe
 * answers it with the first PaymentIntent; a new claim (after Stripe said for
 * certain that nothing exists) is a new request, never the replay of a stored failure.
 */
export function idempotencyKey(orderId: string, token: string, paymentId: Types.ObjectId): string {
  return `order-${orderId}-${createHash('sha256').update(`${orderId}:${token}:${String(paymentId)}`).digest('hex').slice(0, 40)}`;
}

/** Why an attempt ended with nothing charged, as its `failure` records it. */
export interface AttemptFailure {
  /** The attempt's outcome: declined, rejected, nothing (Stripe holds nothing for it), canceled (abandoned 3-D Secure, or failed at Stripe). */
  kind: string;
  message: string;
}

/**
 * The payment document's steps, each one a single write to one document: claim
 * the order (and an attempt slot) with one insert, hold a lease while calling
 * Stripe, then record the charge (and owe its event) or mark the attempt failed,
 * which frees the order. No multi-document transactions are needed.
 */
export class PaymentClaims {
  constructor(
    private readonly payments: PaymentModel,
    private readonly leaseMs: number,
    private readonly attemptLimit: AttemptLimit,
  ) {}

  /** The attempt holding the order (charging or succeeded), if any. */
  findByOrder(orderId: string): Promise<Payment | null> {
    return findLockHolder(this.payments, orderId);
  }

  /**
   * Inserts the claim: the order's lock and one of the user's attempt slots in
   * one write. `{ claimed }` with the new claim, or `{ heldBy }` with the attempt
   * that holds the order (read once here, so the caller need not read it again).
   * @throws AppError 429 when every attempt slot of the user's window is taken.
   */
  async claim(
    order: Order & { userId: string },
    token: string,
    amount: number,
    currency: string,
    method: Payment['method'] = 'token',
  ): Promise<{ claimed: Payment } | { heldBy: Payment }> {
    const now = new Date();
    const _id = new Types.ObjectId();
    const slots = this.attemptLimit.slots(order.userId, String(_id), now.getTime());
    let checkedOrder = false;
    for (const attemptSlot of slots) {
      // Every field written out, straight to the driver: the hot path skips building a mongoose document.
      const claim: Payment = {
        _id,
        orderId: order._id,
        orderLock: order._id,
        attemptSlot,
        userId: order.userId,
        history: [step('claimed', `${amount} ${currency}`)],
        token,
        method,
        tokenHash: hashToken(token),
        idempotencyKey: idempotencyKey(order._id, token, _id),
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
      try {
        await driverCollection<Payment>(this.payments).insertOne(claim);
        return { claimed: claim };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Which key was taken? (The stand-in's error does not say.) The order first: then this attempt is moot.
        if (!checkedOrder) {
          const heldBy = await this.findByOrder(order._id);
          if (heldBy) return { heldBy };
          checkedOrder = true;
        }
      }
    }
    // Every slot was taken, unless the order was claimed meanwhile (the answer for it then wins).
    const heldBy = await this.findByOrder(order._id);
    if (heldBy) return { heldBy };
    return this.attemptLimit.refuse(now.getTime());
  }

  /** Takes over a claim whose lease ran out (its holder crashed or deferred it). */
  takeOver(paymentId: Types.ObjectId): Promise<Payment | null> {
    const now = new Date();
    return this.payments
      .findOneAndUpdate(
        { _id: paymentId, state: PaymentState.Charging, leaseUntil: { $lte: now } },
        {
          $set: { leaseUntil: new Date(now.getTime() + this.leaseMs) },
          $unset: { awaitingCustomer: 1 },
          $inc: { chargeAttempts: 1 },
          $push: { history: step('charge taken over') },
        },
        { returnDocument: 'after' },
      )
      .lean<Payment>();
  }

  /**
   * Takes over a claim for a Stripe event about it: one nobody holds (its lease
   * ran out) or one waiting for the customer's 3-D Secure (`awaitingCustomer`:
   * its lease is only recovery's timer then; the request answered 202 and left).
   * Whoever takes it over clears `awaitingCustomer`, so a webhook and recovery
   * do not both hold it.
   */
  takeOverForEvent(paymentId: Types.ObjectId): Promise<Payment | null> {
    const now = new Date();
    return this.payments
      .findOneAndUpdate(
        {
          _id: paymentId,
          state: PaymentState.Charging,
          $or: [{ leaseUntil: { $lte: now } }, { awaitingCustomer: true }],
        },
        {
          $set: { leaseUntil: new Date(now.getTime() + this.leaseMs) },
          $unset: { awaitingCustomer: 1 },
          $inc: { chargeAttempts: 1 },
          $push: { history: step('taken over for a Stripe event') },
        },
        { returnDocument: 'after' },
      )
      .lean<Payment>();
  }

  /** Claims left by a crash or an unanswered charge, oldest first. */
  expired(limit: number): Promise<Payment[]> {
    return this.payments
      .find({ state: PaymentState.Charging, leaseUntil: { $lte: new Date() } })
      .sort({ leaseUntil: 1 })
      .limit(limit)
      .lean<Payment[]>();
  }

  /**
   * Stripe charged: the payment and the `payment:created` it owes are written in
   * one step. The recorder holds the event's lease for `eventLeaseMs` so it can
   * publish it at once; should it die first, the outbox sweep publishes it when
   * the lease ends. The outbox, not the recorder, looks at the order before it
   * announces the payment (a cancelled order gets its refund instead: outbox.ts).
   */
  async record(
    claim: Payment,
    { stripeId, paymentIntentId }: { stripeId: string; paymentIntentId?: string },
    eventLeaseMs: number,
  ): Promise<Payment> {
    // Straight to the driver, as the claim's insert: every field written out, `updatedAt` included.
    const now = new Date();
    const recorded = await driverCollection<Payment>(this.payments).findOneAndUpdate(
      { _id: claim._id, state: PaymentState.Charging },
      {
        $set: {
          state: PaymentState.Succeeded,
          stripeId,
          ...(paymentIntentId ? { paymentIntentId } : {}),
          chargedAt: now,
          eventsOwed: [Subjects.PaymentCreated],
          owesEvents: true,
          eventsDueAt: new Date(now.getTime() + eventLeaseMs),
          updatedAt: now,
        },
        $unset: { token: 1, awaitingCustomer: 1 },
        $push: { history: step('charged', stripeId) },
      },
      { returnDocument: 'after' },
    );
    // Null: another instance recorded the same charge first (same key, same charge id).
    const payment = recorded ?? (await this.payments.findById(claim._id).lean<Payment>());
    if (!payment) throw new Error(`payment ${String(claim._id)} vanished while being recorded`);
    return payment;
  }

  /**
   * Nothing was charged: the attempt ends failed, with why, and gives up the
   * order for another card (its attempt slot stays taken).
   */
  async release(claim: Payment, failure: AttemptFailure): Promise<void> {
    // Only while this attempt still holds it: a holder whose lease ran out must not free a claim recovery took over.
    await this.payments.updateOne(
      { _id: claim._id, state: PaymentState.Charging, chargeAttempts: claim.chargeAttempts },
      {
        $set: { state: PaymentState.Failed, orderLock: `released:${String(claim._id)}`, failure, failedAt: new Date() },
        $unset: { token: 1, awaitingCustomer: 1 },
        $push: { history: step(`failed: ${failure.kind}`, failure.message) },
      },
    );
  }

  /**
   * Not decided yet (no answer, Stripe processing, the customer authenticating):
   * keep the claim, remember the PaymentIntent if Stripe named it, and let
   * recovery ask Stripe again after `retryInMs`.
   */
  async defer(
    claim: Payment,
    retryInMs: number,
    what = 'charge outcome unknown',
    intent: { paymentIntentId?: string; actionRequired?: boolean } = {},
  ): Promise<void> {
    const set: Record<string, unknown> = { leaseUntil: new Date(Date.now() + retryInMs) };
    if (intent.paymentIntentId) set.paymentIntentId = intent.paymentIntentId;
    // Nobody calls Stripe for it until the retry: a Stripe event may take it over (also after recovery asked in vain).
    if (intent.actionRequired || claim.actionRequiredAt) set.awaitingCustomer = true;
    if (intent.actionRequired && !claim.actionRequiredAt) set.actionRequiredAt = new Date();
    await this.payments.updateOne(
      { _id: claim._id, state: PaymentState.Charging, chargeAttempts: claim.chargeAttempts },
      { $set: set, $push: { history: step(what, `retry in ${retryInMs} ms`) } },
    );
  }

  findById(paymentId: Types.ObjectId | string): Promise<Payment | null> {
    return this.payments.findById(paymentId).lean<Payment>();
  }
}
