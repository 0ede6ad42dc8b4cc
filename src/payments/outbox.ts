import { EventBus } from '../events/bus';
import { Logger } from '../logger';
import { OrderStatus } from '../orders/order';
import { CrashSwitch } from './crash-points';
import { Dispute, OwesEvents, Payment, Refund, step } from './payment';
import { PaymentEvent, paymentCreated, paymentDisputed, refundEvent } from './payment-events';
import { OrderReader, OwedEventsStore } from './stores';

export interface OutboxOptions {
  /** How long one instance may hold a document's events while publishing them, in milliseconds. */
  leaseMs: number;
  /** How long to wait before trying again after a failed publish, in milliseconds. */
  retryMs: number;
}

/** One kind of document that owes events, and how to make each event, and its message id, from it. */
interface EventSource<T extends OwesEvents> {
  store: OwedEventsStore<T>;
  eventFor(subject: string, doc: T): PaymentEvent;
  /** Stable for one event, so a broker that drops duplicates drops a republished one. */
  messageId(subject: string, doc: T): string;
  /**
   * Run before the document's events are published; false: they are not to be
   * published (the debt is cleared unpublished, with `why` in the history).
   */
  announce?(doc: T): Promise<{ publish: true } | { publish: false; why: string }>;
}

export interface OutboxDeps {
  payments: OwedEventsStore<Payment>;
  refunds: OwedEventsStore<Refund>;
  disputes: OwedEventsStore<Dispute>;
  orders: OrderReader;
  /** Owes the refund of a charged payment whose order turned out cancelled; resolves once the debt is stored. */
  oweRefund: (payment: Payment) => Promise<unknown>;
}

/**
 * Relays the events payments, refunds and disputes owe (`payment:created` from a
 * payment; `payment:refunded` and `payment:refund_failed` from a refund;
 * `payment:disputed` from a dispute). The debt is written with the document that
 * owes it, in the same write as the step that owes it, so a crash or a NATS outage
 * delays an event but never loses it; consumers may see one twice, never zero
 * times. Each event carries a stable message id (`<paymentId>:payment:created`,
 * `<refundId>:<subject>`, `<disputeId>:<status>:payment:disputed`) for brokers that drop duplicates.
 */
export class PaymentOutbox {
  private running?: Promise<void>;
  private readonly publishing = new Set<Promise<void>>();
  private readonly payments: EventSource<Payment>;
  private readonly refunds: EventSource<Refund>;
  private readonly disputes: EventSource<Dispute>;

  constructor(
    deps: OutboxDeps,
    private readonly bus: EventBus,
    private readonly options: OutboxOptions,
    private readonly logger: Logger,
    private readonly crash: CrashSwitch,
  ) {
    this.payments = { store: deps.payments, eventFor: paymentCreated, messageId: (subject, payment) => `${String(payment._id)}:${subject}`, announce: (payment) => settleOrder(deps, payment) };
    // A refund of before 2026-12-05 (one per payment) keeps the id it was published under then.
    this.refunds = { store: deps.refunds, eventFor: refundEvent, messageId: (subject, refund) => `${refund.source ? refund.refundId : String(refund.paymentId)}:${subject}` };
    this.disputes = { store: deps.disputes, eventFor: paymentDisputed, messageId: (subject, dispute) => `${dispute.disputeId}:${dispute.status}:${subject}` };
  }

  /** Publishes everything owed now; a call made while a pass runs joins that pass. */
  flush(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.publishAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** How long the recorder of a payment or refund holds its event before the sweep may take it. */
  get leaseMs(): number {
    return this.options.leaseMs;
  }

  /**
   * Publishes the events of a payment this instance has just recorded (it holds
   * the lease): no search, one write per event. A failure leaves them to the sweep.
   */
  publishPayment(payment: Payment): Promise<void> {
    return this.track(this.publish(this.payments, payment), String(payment._id));
  }

  /** The same for a refund this instance has just recorded. */
  publishRefund(refund: Refund): Promise<void> {
    return this.track(this.publish(this.refunds, refund), String(refund.paymentId));
  }

  /** The same for a dispute this instance has just recorded. */
  publishDispute(dispute: Dispute): Promise<void> {
    return this.track(this.publish(this.disputes, dispute), String(dispute.paymentId));
  }

  /** Waits for the events being published and publishes everything else owed: for shutdown. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.publishing]);
    await this.flush();
  }

  /** Payments, refunds and disputes that owe at least one event. */
  async backlog(): Promise<number> {
    const counts = await Promise.all([this.payments, this.refunds, this.disputes].map((source) => source.store.countOwing()));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  private track(publishing: Promise<void>, paymentId: string): Promise<void> {
    const done = publishing
      .catch((err) => this.logger.warn({ err, paymentId }, 'event not published yet; the sweep will retry'))
      .finally(() => this.publishing.delete(done));
    this.publishing.add(done);
    return done;
  }

  private async publishAll(): Promise<void> {
    try {
      while (await this.publishNext(this.payments));
      while (await this.publishNext(this.refunds));
      while (await this.publishNext(this.disputes));
    } catch (err) {
      this.logger.warn({ err }, 'outbox relay paused; will retry');
    }
  }

  private async publishNext<T extends OwesEvents>(source: EventSource<T>): Promise<boolean> {
    const doc = await source.store.takeDue(this.options.leaseMs);
    if (!doc) return false;
    await this.publish(source, doc);
    return true;
  }

  /** Publishes, in order, the events a document whose lease this instance holds owes, then clears the debt. */
  private async publish<T extends OwesEvents>(source: EventSource<T>, doc: T): Promise<void> {
    const announce = source.announce ? await source.announce(doc) : { publish: true as const };
    if (!announce.publish) {
      await source.store.clear(doc, doc.eventsOwed.map((subject) => step(`${subject} dropped`, announce.why)));
      this.logger.info({ id: String(doc._id), dropped: doc.eventsOwed, why: announce.why }, 'events not published');
      return;
    }
    for (const subject of doc.eventsOwed) {
      const event = source.eventFor(subject, doc);
      try {
        await this.bus.publish(subject, event, { messageId: source.messageId(subject, doc) });
      } catch (err) {
        await source.store.postpone(doc, this.options.retryMs);
        throw err;
      }
      this.crash('after-publish');
      this.logger.info({ subject, ...event }, 'event published');
    }
    await source.store.clear(doc, doc.eventsOwed.map((subject) => step('published', subject)));
  }
}

/**
 * Before a payment is announced, its order is read: if it was cancelled
 * meanwhile, the refund is owed (stored first, so a crash in between cannot lose
 * it) and `payment:created` is never sent, so the orders service never hears of
 * a payment for an order it cancelled.
 *
 * The handshake with the cancel handler (replicate-order.ts): the recorder wrote
 * the payment before this reads the order; the cancel handler writes the order
 * before it looks for a charged payment. With one atomic write per document,
 * at least one of the two sees the other, and the refund's unique index lets
 * only one owe it.
 *
 * The order is only read, never marked complete: the orders service owns its
 * status, and the cancel handler stays the replica's one writer of it (FerretDB's
 * updates are not atomic: docs/ferretdb.md).
 */
async function settleOrder(deps: OutboxDeps, payment: Payment): Promise<{ publish: true } | { publish: false; why: string }> {
  if ((await deps.orders.statusOf(payment.orderId)) !== OrderStatus.Cancelled) return { publish: true };
  await deps.oweRefund(payment);
  return { publish: false, why: 'order cancelled while it was being paid; refund owed' };
}
