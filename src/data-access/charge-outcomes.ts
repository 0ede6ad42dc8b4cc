import { Subjects } from '../events/contracts';
import { AttemptFailure, Payment, PaymentState, step } from '../payments/payment';
import { ChargeOutcomeStore } from '../payments/stores';
import { driverCollection } from './driver-collection';
import { PaymentModel } from './payment-model';

/**
 * The one write each outcome of a charge makes to its claim, guarded by the
 * claim's state (and, for a release or deferral, by `chargeAttempts`: a holder
 * whose lease ran out must not touch a claim someone else took over).
 */
export class MongoChargeOutcomes implements ChargeOutcomeStore {
  constructor(private readonly payments: PaymentModel) {}

  async record(claim: Payment, { stripeId, paymentIntentId }: { stripeId: string; paymentIntentId?: string }, eventLeaseMs: number): Promise<Payment> {
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

  async release(claim: Payment, failure: AttemptFailure): Promise<void> {
    await this.payments.updateOne(
      { _id: claim._id, state: PaymentState.Charging, chargeAttempts: claim.chargeAttempts },
      {
        $set: { state: PaymentState.Failed, orderLock: `released:${String(claim._id)}`, failure, failedAt: new Date() },
        $unset: { token: 1, awaitingCustomer: 1 },
        $push: { history: step(`failed: ${failure.kind}`, failure.message) },
      },
    );
  }

  async defer(claim: Payment, retryInMs: number, what: string, intent: { paymentIntentId?: string; actionRequired?: boolean; storedFailure?: true }): Promise<void> {
    const set: Record<string, unknown> = { leaseUntil: new Date(Date.now() + retryInMs) };
    if (intent.paymentIntentId) set.paymentIntentId = intent.paymentIntentId;
    // Nobody calls Stripe for it until the retry: a Stripe event may take it over (also after recovery asked in vain).
    if (intent.actionRequired || claim.actionRequiredAt) set.awaitingCustomer = true;
    if (intent.actionRequired && !claim.actionRequiredAt) set.actionRequiredAt = new Date();
    if (intent.storedFailure && !claim.storedFailureAt) set.storedFailureAt = new Date();
    await this.payments.updateOne(
      { _id: claim._id, state: PaymentState.Charging, chargeAttempts: claim.chargeAttempts },
      { $set: set, $push: { history: step(what, `retry in ${retryInMs} ms`) } },
    );
  }
}
