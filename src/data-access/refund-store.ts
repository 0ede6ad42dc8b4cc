import { Subjects } from '../events/contracts';
import { DocumentId, Payment, Refund, RefundState, step } from '../payments/payment';
import { ProviderRefund } from '../payments/payment-provider';
import { RefundObserved, RefundStore } from '../payments/stores';
import { isDuplicateKey } from './db-errors';
import { expiredLeases } from './leases';
import { RefundModel } from './refund-model';

/** Refunds over the refunds collection (refund-model.ts); each step one write guarded by the state and lease held. */
export class MongoRefunds implements RefundStore {
  constructor(
    private readonly refunds: RefundModel,
    /** How long a takeover holds a refund, in ms (as for a charge). */
    private readonly leaseMs: number,
  ) {}

  insert(refund: Parameters<RefundStore['insert']>[0]): Promise<Refund | null> {
    return this.create(refund);
  }

  private async create(refund: Partial<Refund>): Promise<Refund | null> {
    try {
      return (await this.refunds.create(refund)).toObject();
    } catch (err) {
      if (isDuplicateKey(err)) return null;
      throw err;
    }
  }

  findById(id: DocumentId): Promise<Refund | null> {
    return this.refunds.findById(id).lean<Refund>();
  }

  listByPayment(paymentId: DocumentId): Promise<Refund[]> {
    return this.refunds.find({ paymentId }).sort({ createdAt: 1, _id: 1 }).lean<Refund[]>();
  }

  unsettled(limit: number): Promise<Refund[]> {
    return this.refunds
      .find({ stripeStatus: { $in: ['pending', 'requires_action'] } })
      .sort({ updatedAt: 1 })
      .limit(limit)
      .lean<Refund[]>();
  }

  expired(limit: number): Promise<Refund[]> {
    return expiredLeases<Refund>(this.refunds, RefundState.Owed, limit);
  }

  takeOver(id: DocumentId): Promise<Refund | null> {
    const now = new Date();
    return this.refunds
      .findOneAndUpdate(
        { _id: id, state: RefundState.Owed, leaseUntil: { $lte: now } },
        { $set: { leaseUntil: new Date(now.getTime() + this.leaseMs) }, $inc: { attempts: 1 }, $push: { history: step('taken over') } },
        { returnDocument: 'after' },
      )
      .lean<Refund>();
  }

  recordRefunded(refund: Refund, { refundId, status }: { refundId: string; status: string }, eventLeaseMs: number): Promise<Refund | null> {
    return this.refunds
      .findOneAndUpdate(
        { _id: refund._id, state: RefundState.Owed },
        {
          $set: {
            state: RefundState.Refunded,
            ...accepted({ refundId, status }),
            eventsOwed: [Subjects.PaymentRefunded],
            owesEvents: true,
            eventsDueAt: new Date(Date.now() + eventLeaseMs),
          },
          $push: { history: step('refunded', `${refundId} ${status}`) },
        },
        { returnDocument: 'after' },
      )
      .lean<Refund>();
  }

  async observe(payment: Payment, seen: ProviderRefund, eventLeaseMs: number): Promise<RefundObserved> {
    const heldUntil = () => new Date(Date.now() + eventLeaseMs);
    for (;;) {
      const known = await this.refunds
        .findOne(seen.refundKey ? { idempotencyKey: seen.refundKey } : { $or: [{ refundId: seen.refundId }, { idempotencyKey: foundKey(seen) }] })
        .lean<Refund>();
      if (!known) {
        const inserted = await this.insertFound(payment, seen, heldUntil());
        if (inserted) return { kind: 'new', refund: inserted };
        continue; // stored meanwhile by another reader: compare with it
      }
      // Ours and in flight: its holder records Stripe's answer (and if it dies, recovery asks again under the same key).
      if (known.state === RefundState.Owed && new Date(known.leaseUntil).getTime() > Date.now()) return { kind: 'same', refund: known };
      const next = settledState(seen.status);
      const from = known.state === RefundState.Owed ? -1 : rank(known.stripeStatus ?? 'succeeded');
      if (rank(seen.status) <= from) return { kind: 'same', refund: known };
      // Our call's answer was lost (owed), or Stripe moved it on: one write, guarded by what was read.
      const owed = [
        ...(known.state === RefundState.Owed ? [Subjects.PaymentRefunded] : []),
        ...(next !== RefundState.Refunded && known.state !== next ? [Subjects.PaymentRefundFailed] : []),
      ];
      const moved = await this.refunds
        .findOneAndUpdate(
          { _id: known._id, state: known.state, stripeStatus: known.stripeStatus ?? null },
          {
            $set: { ...accepted(seen), state: next, ...(owed.length ? { owesEvents: true, eventsDueAt: heldUntil() } : {}) },
            $push: { history: step(`Stripe: ${seen.status}`, seen.failureReason ?? seen.refundId), ...(owed.length ? { eventsOwed: { $each: owed } } : {}) },
          },
          { returnDocument: 'after' },
        )
        .lean<Refund>();
      if (moved) return { kind: 'changed', refund: moved };
    }
  }

  /** A refund made elsewhere (Stripe's Dashboard): stored as found, `payment:refunded` owed (and `payment:refund_failed` if it failed). */
  private async insertFound(payment: Payment, seen: ProviderRefund, eventsDueAt: Date): Promise<Refund | null> {
    const state = settledState(seen.status);
    const now = new Date();
    return this.create({
      paymentId: payment._id,
      orderId: payment.orderId,
      stripeId: seen.chargeId,
      amount: seen.amount,
      currency: seen.currency,
      source: 'dashboard',
      reason: 'dashboard',
      idempotencyKey: foundKey(seen),
      state,
      leaseUntil: now,
      attempts: 0,
      ...accepted(seen),
      history: [step('found at Stripe', `${seen.refundId} ${seen.status}`)],
      eventsOwed: [Subjects.PaymentRefunded, ...(state === RefundState.Refunded ? [] : [Subjects.PaymentRefundFailed])],
      owesEvents: true,
      eventsDueAt,
    });
  }

  async recordRefused(refund: Refund, failure: { code: string; message: string }): Promise<void> {
    await this.refunds.updateOne(this.held(refund), {
      $set: { state: RefundState.Refused, failure },
      $push: { history: step('refused', failure.code) },
    });
  }

  async defer(refund: Refund, retryInMs: number): Promise<void> {
    await this.refunds.updateOne(this.held(refund), {
      $set: { leaseUntil: new Date(Date.now() + retryInMs) },
      $push: { history: step('outcome unknown', `retry in ${retryInMs} ms`) },
    });
  }

  countOwed(): Promise<number> {
    return this.refunds.countDocuments({ state: RefundState.Owed });
  }

  /** Only while the caller's attempt still holds it. */
  private held(refund: Refund) {
    return { _id: refund._id, state: RefundState.Owed, attempts: refund.attempts };
  }
}

/** Stripe's refund statuses in the order they can move: failed and canceled are final, and a succeeded refund can still fail. */
function rank(status: string): number {
  if (status === 'failed' || status === 'canceled') return 2;
  return status === 'succeeded' ? 1 : 0;
}

function settledState(status: string): RefundState {
  if (status === 'failed') return RefundState.Failed;
  if (status === 'canceled') return RefundState.Canceled;
  return RefundState.Refunded;
}

function accepted(seen: { refundId: string; status: string; failureReason?: string }) {
  return { refundId: seen.refundId, stripeStatus: seen.status, refundedAt: new Date(), ...(seen.failureReason ? { failureReason: seen.failureReason } : {}) };
}

function foundKey(seen: ProviderRefund): string {
  return `stripe-${seen.refundId}`;
}
