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
   * One write clears the debt: a document owes its events in the write that records
   * it and nothing after, so nothing can be owed meanwhile. Straight to the driver
   * (one write per paid request): `updatedAt` written out.
   */
  async clear(doc: T, steps: HistoryStep[]): Promise<void> {
    await driverCollection<OwesEvents>(this.model).updateOne(
      { _id: doc._id },
      { $set: { eventsOwed: [], owesEvents: false, eventsDueAt: null, updatedAt: new Date() }, $push: { history: { $each: steps } } },
    );
  }

  countOwing(): Promise<number> {
    return (this.model as unknown as Model<OwesEvents>).countDocuments({ owesEvents: true });
  }
}
