import { Order } from '../orders/order';
import { AttemptFailure, DocumentId, HistoryStep, OwesEvents, Payment, Refund } from './payment';

/**
 * The storage the use cases need; src/data-access/ implements each over MongoDB.
 * Every write is one atomic write to one document (no transactions), guarded by
 * the state and lease the caller holds; a guarded write that finds the document
 * moved on changes nothing.
 */

/** Payment attempts: the claim that holds an order, and the reads around it. */
export interface PaymentClaimStore {
  /** A new id for a claim about to be inserted. */
  newId(): DocumentId;
  /** Inserts a claim; `duplicate` when a unique key (`orderLock` or `attemptSlot`) is taken. */
  insert(claim: Payment): Promise<'inserted' | 'duplicate'>;
  /** The attempt holding the order (charging or succeeded), if any. */
  findByOrder(orderId: string): Promise<Payment | null>;
  /** The order's latest attempt of any state. */
  latestForOrder(orderId: string): Promise<Payment | null>;
  findById(id: DocumentId | string): Promise<Payment | null>;
  /** By `paymentId` when given and found, else by PaymentIntent or charge id. */
  findByProviderIds(ids: { paymentId?: string; paymentIntentId?: string; stripeId?: string }): Promise<Payment | null>;
  /** Takes over a charging claim whose lease ran out (one more `chargeAttempts`); null when someone else holds it. */
  takeOver(id: DocumentId): Promise<Payment | null>;
  /** The same, also for a claim waiting for the customer's 3-D Secure (`awaitingCustomer`). */
  takeOverForEvent(id: DocumentId): Promise<Payment | null>;
  /** Charging claims whose lease ran out, oldest first. */
  expired(limit: number): Promise<Payment[]>;
}

/** The one write each outcome of a charge makes to the claim the caller holds. */
export interface ChargeOutcomeStore {
  /** Charged: succeeded, with `payment:created` owed (the recorder holds it for `eventLeaseMs`). */
  record(claim: Payment, charge: { stripeId: string; paymentIntentId?: string }, eventLeaseMs: number): Promise<Payment>;
  /** Nothing charged: failed with `failure`, and the order's lock given up. */
  release(claim: Payment, failure: AttemptFailure): Promise<void>;
  /** Undecided: keep the claim, ask again after `retryInMs`. */
  defer(claim: Payment, retryInMs: number, what: string, intent: { paymentIntentId?: string; actionRequired?: boolean; storedFailure?: true }): Promise<void>;
}

export interface RefundStore {
  /** Inserts an owed refund; null when the payment owes one already (unique on `paymentId`). */
  insert(refund: Omit<Refund, '_id' | 'createdAt' | 'updatedAt' | 'eventsOwed' | 'owesEvents' | 'eventsDueAt'>): Promise<Refund | null>;
  findByPayment(paymentId: DocumentId): Promise<Refund | null>;
  /** Owed refunds whose lease ran out, oldest first. */
  expired(limit: number): Promise<Refund[]>;
  /** Takes over an owed refund whose lease ran out (one more `attempts`); null when someone else holds it. */
  takeOver(id: DocumentId): Promise<Refund | null>;
  /** Stripe holds the refund: refunded, `payment:refunded` owed; null when another instance recorded it first. */
  recordRefunded(refund: Refund, refundId: string, eventLeaseMs: number): Promise<Refund | null>;
  recordRefused(refund: Refund, failure: { code: string; message: string }): Promise<void>;
  defer(refund: Refund, retryInMs: number): Promise<void>;
  countOwed(): Promise<number>;
}

/** Documents (payments, refunds) that owe events, for the outbox. */
export interface OwedEventsStore<T extends OwesEvents> {
  /** Takes the next document whose events are due, holding them for `leaseMs`. */
  takeDue(leaseMs: number): Promise<T | null>;
  /** A publish failed: due again in `retryMs`. */
  postpone(doc: T, retryMs: number): Promise<void>;
  /** Clears every event the document owed, with one history step each. */
  clear(doc: T, steps: HistoryStep[]): Promise<void>;
  countOwing(): Promise<number>;
}

/** The order replica, read by the payment use cases (the replica writes it: src/orders/). */
export interface OrderReader {
  find(orderId: string): Promise<Order | null>;
  statusOf(orderId: string): Promise<string | undefined>;
}

/** A provider event handled, kept so a redelivery changes nothing. */
export interface HandledEvent {
  _id: string;
  type: string;
  objectId: string;
  paymentId?: DocumentId;
  /** For a dispute: Stripe's reason and the amount disputed (minor units). */
  detail?: string;
}

export interface HandledEventStore {
  seen(eventId: string): Promise<boolean>;
  /** `duplicate` when another delivery of the same event was recorded first. */
  record(event: HandledEvent): Promise<'recorded' | 'duplicate'>;
  /** The dispute recorded for a payment, if any. */
  dispute(paymentId: DocumentId): Promise<HandledEvent | null>;
}
