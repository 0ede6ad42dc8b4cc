import { EventBus } from '../events/bus';
import { PaymentCreated, Subjects } from '../events/contracts';
import { Logger } from '../logger';
import { CrashSwitch } from './crash-points';
import { Payment, PaymentModel, PaymentState } from './payment-model';

export interface OutboxOptions {
  /** How long one instance may hold an event while publishing it. */
  leaseMs: number;
  /** How long to wait before trying again after a failed publish. */
  retryMs: number;
}

/**
 * Relays the `payment:created` each recorded payment owes. The debt is written
 * with the payment itself, so a crash or a NATS outage delays the event but
 * never loses it; consumers may see it twice, never zero times.
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
   * Publishes the event of a payment this instance has just recorded (it holds
   * the lease): no search, one write. A failure leaves it to the sweep.
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

  /** Events owed and not being published by anyone right now. */
  backlog(): Promise<number> {
    return this.payments.countDocuments({ state: PaymentState.Succeeded, eventPublishedAt: null });
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
        { state: PaymentState.Succeeded, eventPublishedAt: null, eventLeaseUntil: { $lte: new Date(now) } },
        { $set: { eventLeaseUntil: new Date(now + this.options.leaseMs) } },
        { sort: { chargedAt: 1 }, returnDocument: 'after' },
      )
      .lean<Payment>();
    if (!payment) return false;
    await this.publish(payment);
    return true;
  }

  /** Publishes the event of a payment whose lease this instance holds, then marks it published. */
  private async publish(payment: Payment): Promise<void> {
    const event: PaymentCreated = { id: String(payment._id), orderId: payment.orderId, stripeId: payment.stripeId! };
    try {
      await this.bus.publish(Subjects.PaymentCreated, event);
    } catch (err) {
      await this.payments.updateOne(
        { _id: payment._id },
        { $set: { eventLeaseUntil: new Date(Date.now() + this.options.retryMs) } },
      );
      throw err;
    }
    this.crash('after-publish');
    await this.payments.updateOne({ _id: payment._id }, { $set: { eventPublishedAt: new Date() } });
    this.logger.info({ subject: Subjects.PaymentCreated, ...event }, 'event published');
  }
}
