import type { mongo } from 'mongoose';
import { Order, OrderStatus } from '../orders/order';
import { OrderReplicaStore } from '../orders/replicate-order';
import { OrderReader } from '../payments/stores';
import { isDuplicateKey } from './db-errors';
import { driverCollection } from './driver-collection';
import { InsertBatches, InsertOutcome } from './insert-batches';
import { OrderModel } from './order-model';

/** An order as inserted from `order:created`, with the timestamps mongoose would add. */
type StoredOrder = Order & { createdAt: Date; updatedAt: Date };

/**
 * The orders replica's collection. Straight to the driver: events are validated
 * before they get here, so no casting is needed, and the timestamps mongoose
 * would add are written out.
 */
export class MongoOrders implements OrderReader, OrderReplicaStore {
  private readonly collection: mongo.Collection<StoredOrder>;
  private readonly inserts: InsertBatches<StoredOrder>;

  constructor(orders: OrderModel) {
    this.collection = driverCollection<StoredOrder>(orders);
    this.inserts = new InsertBatches<StoredOrder>(this.collection);
  }

  find(orderId: string): Promise<Order | null> {
    return this.collection.findOne({ _id: orderId });
  }

  async statusOf(orderId: string): Promise<string | undefined> {
    return (await this.collection.findOne({ _id: orderId }, { projection: { status: 1 } }))?.status;
  }

  /** Batched with the other orders inserted in this turn (insert-batches.ts): a backlog replicates at the database's speed. */
  insert(order: Order): Promise<InsertOutcome> {
    const now = new Date();
    return this.inserts.insert({ ...order, createdAt: now, updatedAt: now });
  }

  async fillTombstone(order: { _id: string; userId: string; price: number }): Promise<boolean> {
    const filled = await this.collection.updateOne(
      { _id: order._id, userId: { $exists: false } },
      { $set: { userId: order.userId, price: order.price, updatedAt: new Date() } },
    );
    return filled.modifiedCount > 0;
  }

  async cancel(orderId: string, version: number): Promise<'tombstone' | 'cancelled' | 'stale'> {
    const older = { _id: orderId, version: { $lt: version } };
    const now = new Date();
    const cancel = { $set: { version, status: OrderStatus.Cancelled, updatedAt: now } };
    try {
      const result = await this.collection.updateOne(older, { ...cancel, $setOnInsert: { createdAt: now } }, { upsert: true });
      return result.upsertedCount > 0 ? 'tombstone' : 'cancelled';
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // The upsert met a stored order: either it is at this version or later already,
      // or its order:created landed between the update's search and its insert.
      const result = await this.collection.updateOne(older, cancel);
      return result.matchedCount > 0 ? 'cancelled' : 'stale';
    }
  }
}
