import { Model } from 'mongoose';
import { HistoryStep, OwesEvents } from '../payments/payment';
import { OwedEventsStore } from '../payments/stores';
import { driverCollection } from './driver-collection';

/** The events a collection's documents owe (`owesEvents`, `eventsDueAt`: payment-model.ts), for the outbox. */
export class MongoOwedEvents<T extends OwesEvents> implements OwedEventsStore<T> {
  constructor(private readonly model: Model<T>) {}

  takeDue(leaseMs: number): Promise<T | null> {
    const now = Date.now();
    return (this.model as unknown as Model<OwesEvents>)
      .findOneAndUpdate(
        { owesEvents: true, eventsDueAt: { $lte: new Date(now) } },
        { $set: { eventsDueAt: new Date(now + leaseMs) } },
        { sort: { eventsDueAt: 1 }, returnDocument: 'after' },
      )
      .lean<T>();
  }

  async postpone(doc: T, retryMs: number): Promise<void> {
    await (this.model as unknown as Model<OwesEvents>).updateOne({ _id: doc._id }, { $set: { eventsDueAt: new Date(Date.now() + retryMs) } });
  }

  /**
   * Clears the events published (the ones `doc` owed when taken), in one write guarded
   * by the list read; events owed meanwhile (a refund failing, a dispute moving on) are
   * appended, so they stay owed. Straight to the driver (one write per paid request):
   * `updatedAt` written out.
   */
  async clear(doc: T, steps: HistoryStep[]): Promise<void> {
    const collection = driverCollection<OwesEvents>(this.model);
    const published = doc.eventsOwed.length;
    let owed = doc.eventsOwed;
    for (;;) {
      const rest = owed.slice(published);
      const cleared = await collection.updateOne(
        { _id: doc._id, eventsOwed: owed },
        { $set: { eventsOwed: rest, owesEvents: rest.length > 0, eventsDueAt: rest.length > 0 ? new Date() : null, updatedAt: new Date() }, $push: { history: { $each: steps } } },
      );
      if (cleared.matchedCount > 0) return;
      const now = await collection.findOne({ _id: doc._id }, { projection: { eventsOwed: 1 } });
      // Cleared by another publisher (the sweep took it after this one's lease ran out): nothing left to do.
      if (!now || !doc.eventsOwed.every((subject, i) => now.eventsOwed[i] === subject)) return;
      owed = now.eventsOwed;
    }
  }

  countOwing(): Promise<number> {
    return (this.model as unknown as Model<OwesEvents>).countDocuments({ owesEvents: true });
  }
}
