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

  /**
   * Cancels whatever version is stored (a cancel is terminal), keeping the highest
   * version seen; with no order stored, a cancelled tombstone. Two writes, each atomic
   * on its document; an order:created inserted between them makes the second meet a
   * duplicate, and the first is tried again.
   */
  async cancel(orderId: string, version: number): Promise<'tombstone' | 'cancelled' | 'repeat'> {
    for (;;) {
      const now = new Date();
      const live = await this.collection.updateOne(
        { _id: orderId, status: { $ne: OrderStatus.Cancelled } },
        { $set: { status: OrderStatus.Cancelled, updatedAt: now }, $max: { version } },
      );
      if (live.matchedCount > 0) return 'cancelled';
      try {
        const tombstone = await this.collection.updateOne(
          { _id: orderId, status: OrderStatus.Cancelled },
          { $max: { version }, $setOnInsert: { createdAt: now, updatedAt: now } },
          { upsert: true },
        );
        return tombstone.upsertedCount > 0 ? 'tombstone' : 'repeat';
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
  }
}
