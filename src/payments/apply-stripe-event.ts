import { Connection, Model, Schema, Types } from 'mongoose';
import type Stripe from 'stripe';
import { isDuplicateKey } from '../data-access/db-errors';
import { Logger } from '../logger';
import { ChargeAttempts } from './charge-attempt';
import { PaymentClaims } from '../data-access/payment-claims';
import { Payment, PaymentModel, PaymentState } from '../data-access/payment-model';

/**
 * A Stripe event this service has handled, kept so a redelivery changes nothing
 * (Stripe, "Receive Stripe events": events may arrive more than once and in any
 * order). A document of its own: a dispute is recorded here, with its payment,
 * not written into the payment (which has one writer at a time).
 */
export interface StripeEventRecord {
  /** Stripe's event id (`evt_…`). */
  _id: string;
  type: string;
  /** The object the event is about (`pi_…`, `ch_…`, `dp_…`). */
  objectId: string;
  paymentId?: Types.ObjectId;
  /** For a dispute: Stripe's reason and the amount disputed (minor units). */
  detail?: string;
  createdAt: Date;
}

const schema = new Schema<StripeEventRecord>(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    objectId: { type: String, required: true },
    paymentId: { type: Schema.Types.ObjectId },
    detail: { type: String },
  },
  { collection: 'stripe_events', versionKey: false, timestamps: { createdAt: true, updatedAt: false } },
);
schema.index({ paymentId: 1, type: 1 });

export type StripeEventModel = Model<StripeEventRecord>;

export function stripeEventModel(connection: Connection): StripeEventModel {
  return connection.model<StripeEventRecord>('StripeEvent', schema);
}

const INTENT_EVENTS = new Set(['payment_intent.succeeded', 'payment_intent.payment_failed', 'payment_intent.canceled']);

/**
 * Applies Stripe's webhook events, each event id once. The payload is not
 * trusted for state: a PaymentIntent event makes the payment it belongs to
 * (found by `metadata.paymentId`, else by the PaymentIntent id) ask Stripe
 * through the same attempt recovery runs, so events in any order, or twice,
 * only ever move a payment forward (charging to succeeded, or released).
 * `charge.refunded` and `charge.dispute.created` are recorded and logged; a
 * dispute at error level, for an operator.
 */
export class StripeWebhooks {
  constructor(
    private readonly events: StripeEventModel,
    private readonly payments: PaymentModel,
    private readonly claims: PaymentClaims,
    private readonly attempts: ChargeAttempts,
    private readonly logger: Logger,
  ) {}

  async createIndexes(): Promise<void> {
    await this.events.createIndexes();
  }

  /** `duplicate`: this event id was handled before and nothing was done. Throws when the database fails (the endpoint then answers 5xx and Stripe redelivers). */
  async handle(event: Stripe.Event): Promise<'handled' | 'duplicate'> {
    if (await this.events.exists({ _id: event.id })) return 'duplicate';
    const object = event.data.object as { id: string; metadata?: Record<string, string>; charge?: string | { id: string } };
    const log = this.logger.child({ eventId: event.id, type: event.type, objectId: object.id });
    let payment: Payment | null = null;
    let detail: string | undefined;

    if (INTENT_EVENTS.has(event.type)) {
      payment = await this.paymentOf(object.metadata?.paymentId, { paymentIntentId: object.id });
      if (payment?.state === PaymentState.Charging) {
        const claim = await this.claims.takeOverForEvent(payment._id);
        // Null: the request or recovery holding it is asking Stripe right now.
        if (claim) await this.attempts.run(claim);
      } else if (event.type === 'payment_intent.succeeded' && payment?.state !== PaymentState.Succeeded) {
        log.error({ paymentId: payment ? String(payment._id) : undefined, state: payment?.state }, 'a PaymentIntent succeeded for no charging payment of this service: an operator must look');
      }
    } else if (event.type === 'charge.refunded') {
      payment = await this.paymentOf(undefined, { stripeId: object.id });
      log.info({ paymentId: payment ? String(payment._id) : undefined }, 'Stripe reports the charge refunded');
    } else if (event.type === 'charge.dispute.created') {
      const dispute = event.data.object as Stripe.Dispute;
      const charge = typeof dispute.charge === 'string' ? dispute.charge : dispute.charge?.id;
      payment = await this.paymentOf(undefined, { stripeId: charge });
      detail = `${dispute.reason} ${dispute.amount} ${dispute.currency}`;
      log.error({ paymentId: payment ? String(payment._id) : undefined, orderId: payment?.orderId, charge, reason: dispute.reason, amount: dispute.amount }, 'a charge is disputed: an operator must look');
    } else {
      log.debug('Stripe event ignored');
    }

    try {
      await this.events.create({ _id: event.id, type: event.type, objectId: object.id, paymentId: payment?._id, detail });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err; // another delivery of the same event was handled meanwhile
      return 'duplicate';
    }
    return 'handled';
  }

  /** The dispute recorded for a payment, if any. */
  dispute(paymentId: Types.ObjectId): Promise<StripeEventRecord | null> {
    return this.events.findOne({ paymentId, type: 'charge.dispute.created' }).lean<StripeEventRecord>();
  }

  private async paymentOf(paymentId: string | undefined, by: { paymentIntentId?: string; stripeId?: string }): Promise<Payment | null> {
    if (paymentId && Types.ObjectId.isValid(paymentId)) {
      const found = await this.payments.findById(paymentId).lean<Payment>();
      if (found) return found;
    }
    const query = by.paymentIntentId ? { paymentIntentId: by.paymentIntentId } : by.stripeId ? { stripeId: by.stripeId } : undefined;
    return query ? this.payments.findOne(query).lean<Payment>() : null;
  }
}
