import { EventBus } from '../events/bus';
import { PaymentCreated, PaymentRefunded, Subjects } from '../events/contracts';
import { Logger } from '../logger';
import { CrashSwitch } from './crash-points';
import { Payment, PaymentModel, step } from './payment-model';

export interface OutboxOptions {
  /** How long one instance may hold an event while publishing it. */
  leaseMs: number;
  /** How long to wait before trying again after a failed publish. */
  retryMs: number;
}

/**
 * Relays the events each payment owes (`payment:created`, `payment:refunded`), in
 * the order they were owed. The debt is written with the payment itself, so a
 * crash or a NATS outage delays an event but never loses it; consumers may see
 * one twice, never zero times. Each event carries a stable message id
 * (`<paymentId>:<subject>`) for brokers that drop duplicates.
 */
export class PaymentOutbox {
  private running?: Promise<void>;
  private readonly publishing = new Set<Promise<void>>();

  constructor(
    private readonly payments: PaymentModel,
    private readonly bus: EventBus,
    private readonly options: OutboxOptions,
    private readonly logger: Logger,
    private readonly crash: CrashSwitch,
  ) {}

  /** Publishes everything owed now; a call made while a pass runs joins that pass. */
  flush(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.publishAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** How long the recorder of a payment holds its event before the sweep may take it. */
  get leaseMs(): number {
    return this.options.leaseMs;
  }

  /**
   * Publishes the events of a payment this instance has just recorded (it holds
   * the lease): no search, one write per event. A failure leaves them to the sweep.
   */
  publishRecorded(payment: Payment): Promise<void> {
    const done = this.publish(payment)
      .catch((err) => this.logger.warn({ err, paymentId: String(payment._id) }, 'event not published yet; the sweep will retry'))
      .finally(() => this.publishing.delete(done));
    this.publishing.add(done);
    return done;
  }

  /** Waits for the events being published and publishes everything else owed: for shutdown. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.publishing]);
    await this.flush();
  }

  /** Payments that owe at least one event. */
  backlog(): Promise<number> {
    return this.payments.countDocuments({ eventsDueAt: { $gte: new Date(0) } });
  }

  private async publishAll(): Promise<void> {
    try {
      while (await this.publishNext());
    } catch (err) {
      this.logger.warn({ err }, 'outbox relay paused; will retry');
    }
  }

  private async publishNext(): Promise<boolean> {
    const now = Date.now();
    const payment = await this.payments
      .findOneAndUpdate(
        { eventsDueAt: { $lte: new Date(now) } },
        { $set: { eventsDueAt: new Date(now + this.options.leaseMs) } },
        { sort: { eventsDueAt: 1 }, returnDocument: 'after' },
      )
      .lean<Payment>();
    if (!payment) return false;
    await this.publish(payment);
    return true;
  }

  /**
   * Publishes, in order, the events a payment whose lease this instance holds
   * owes, marking each published as it goes; clears the debt when none is left.
   */
  private async publish(payment: Payment): Promise<void> {
    for (const subject of payment.eventsOwed) {
      const event = eventFor(subject, payment);
      try {
        await this.bus.publish(subject, event, { messageId: `${String(payment._id)}:${subject}` });
      } catch (err) {
        await this.payments.updateOne(
          { _id: payment._id },
          { $set: { eventsDueAt: new Date(Date.now() + this.options.retryMs) } },
        );
        throw err;
      }
      this.crash('after-publish');
      await this.payments.updateOne({ _id: payment._id }, { $pull: { eventsOwed: subject }, $push: { history: step('published', subject) } });
      this.logger.info({ subject, ...event }, 'event published');
    }
    // Only if nothing was owed meanwhile (a refund owes payment:refunded with a lease of its own).
    await this.payments.updateOne({ _id: payment._id, eventsOwed: { $size: 0 } }, { $set: { eventsDueAt: null } });
  }
}

/** The event a payment owes under `subject`, from the payment as stored (see docs/CONTRACT.md for the shapes). */
function eventFor(subject: string, payment: Payment): PaymentCreated | PaymentRefunded {
  const base = { id: String(payment._id), orderId: payment.orderId, stripeId: payment.stripeId! };
  switch (subject) {
    case Subjects.PaymentCreated:
      return { ...base, amount: payment.amount, currency: payment.currency };
    case Subjects.PaymentRefunded:
      return { ...base, refundId: payment.refund!.id!, amount: payment.refund!.amount, currency: payment.currency };
    default:
      throw new Error(`payment ${base.id} owes an unknown event ${subject}`);
  }
}
