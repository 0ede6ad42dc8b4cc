import { Connection, Model, Schema } from 'mongoose';
import { HandledEvent, HandledEventStore } from '../payments/stores';
import { isDuplicateKey } from './db-errors';

/**
 * Stripe events this service has handled, from a webhook or the events list (Stripe,
 * "Receive Stripe events": events may arrive more than once and in any order).
 */
const schema = new Schema<HandledEvent>(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    objectId: { type: String, required: true },
    paymentId: { type: Schema.Types.ObjectId },
  },
  { collection: 'stripe_events', versionKey: false, timestamps: { createdAt: true, updatedAt: false } },
);
schema.index({ paymentId: 1, type: 1 });

export type StripeEventModel = Model<HandledEvent>;

export function stripeEventModel(connection: Connection): StripeEventModel {
  return connection.model<HandledEvent>('StripeEvent', schema);
}

export class MongoHandledEvents implements HandledEventStore {
  constructor(private readonly events: StripeEventModel) {}

  async seen(eventId: string): Promise<boolean> {
    return (await this.events.exists({ _id: eventId })) !== null;
  }

  async record(event: HandledEvent): Promise<'recorded' | 'duplicate'> {
    try {
      await this.events.create(event);
      return 'recorded';
    } catch (err) {
      if (isDuplicateKey(err)) return 'duplicate';
      throw err;
    }
  }
}
