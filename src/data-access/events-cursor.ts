import { Connection } from 'mongoose';
import { EventsCursorStore } from '../payments/missed-events';

/** Where the read of Stripe's events list resumes: one document in `service_state`. */
export class MongoEventsCursor implements EventsCursorStore {
  private readonly collection;

  constructor(connection: Connection) {
    this.collection = connection.db!.collection<{ _id: string; at: Date }>('service_state');
  }

  async read(): Promise<Date | null> {
    return (await this.collection.findOne({ _id: 'stripe-events-cursor' }))?.at ?? null;
  }

  async advance(to: Date): Promise<void> {
    // $max: two instances reading at once only ever move it forward.
    await this.collection.updateOne({ _id: 'stripe-events-cursor' }, { $max: { at: to } }, { upsert: true });
  }
}
