import { Order } from '../orders/order';
import { AttemptFailure, Dispute, DocumentId, HistoryStep, OwesEvents, Payment, Refund } from './payment';
import { ProviderDispute, ProviderRefund } from './payment-provider';

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

/** What a write of a refund read from Stripe did: `new` (one not known before), `changed` (its status moved forward), `same`. */
export type RefundObserved = { kind: 'new' | 'changed' | 'same'; refund: Refund };

export interface RefundStore {
  /** Inserts an owed refund; null when one with its `idempotencyKey` exists (a repeat). */
  insert(refund: Omit<Refund, '_id' | 'createdAt' | 'updatedAt' | 'eventsOwed' | 'owesEvents' | 'eventsDueAt'>): Promise<Refund | null>;
  findById(id: DocumentId): Promise<Refund | null>;
  /** Every refund of a payment, oldest first. */
  listByPayment(paymentId: DocumentId): Promise<Refund[]>;
  /** Owed refunds whose lease ran out, oldest first. */
  expired(limit: number): Promise<Refund[]>;
  /** Takes over an owed refund whose lease ran out (one more `attempts`); null when someone else holds it. */
  takeOver(id: DocumentId): Promise<Refund | null>;
  /** Stripe holds the refund: refunded, `payment:refunded` owed; null when it was recorded first from elsewhere. */
  recordRefunded(refund: Refund, stripe: { refundId: string; status: string }, eventLeaseMs: number): Promise<Refund | null>;
  recordRefused(refund: Refund, failure: { code: string; message: string }): Promise<void>;
  defer(refund: Refund, retryInMs: number): Promise<void>;
  /**
   * Records a refund as Stripe holds it now, wherever it was made: ours (by `refundKey`
   * or `refundId`) moves forward only (pending, then succeeded, then failed or canceled),
   * one not known before is stored (source `dashboard`); each owes its events in the same
   * write, held `eventLeaseMs` for the caller to publish at once.
   */
  observe(payment: Payment, refund: ProviderRefund, eventLeaseMs: number): Promise<RefundObserved>;
  /** Refunds Stripe accepted that are still pending there (or awaiting action), least recently read first. */
  unsettled(limit: number): Promise<Refund[]>;
  countOwed(): Promise<number>;
}

/** Disputes as last read from Stripe. */
export interface DisputeStore {
  /** Stores the dispute as Stripe holds it; `payment:disputed` owed when it is new or its status changed (held `eventLeaseMs` for the caller to publish). */
  observe(payment: Payment, dispute: ProviderDispute, eventLeaseMs: number): Promise<{ kind: 'new' | 'changed' | 'same'; dispute: Dispute }>;
  findByPayment(paymentId: DocumentId): Promise<Dispute | null>;
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
}

export interface HandledEventStore {
  seen(eventId: string): Promise<boolean>;
  /** `duplicate` when another delivery of the same event was recorded first. */
  record(event: HandledEvent): Promise<'recorded' | 'duplicate'>;
}
