import type { mongo } from 'mongoose';
import { isDuplicateKey } from '../data-access/db-errors';
import { driverCollection } from '../data-access/driver-collection';
import { OrderCancelled, OrderCreated } from '../events/contracts';
import { Logger } from '../logger';
import { InsertBatches } from '../data-access/insert-batches';
import { OneAtATime } from './one-at-a-time';
import { Order, OrderModel, OrderStatus } from '../data-access/order-model';

/** An order as inserted from `order:created`, with the timestamps mongoose would add. */
type StoredOrder = Order & { createdAt: Date; updatedAt: Date };

/** How many tombstones the replica remembers to fill without an insert first: a hint, so a bound and nothing more. */
const TOMBSTONE_HINTS = 10_000;

/** The stored order disagrees with the event about who ordered what: retrying will not help, an operator must look. */
export class OrderConflict extends Error {
  override name = 'OrderConflict';
}

/**
 * Keeps the orders replica in step with the orders service, whatever order the
 * events arrive in. A cancel is terminal: it is applied on top of any earlier
 * version, and one that arrives before its order leaves a tombstone that the
 * later `order:created` fills in but cannot make payable again.
 */
export class OrderReplica {
  /** The driver's collection under the model: the event is validated already, so no casting is needed. */
  private readonly collection: mongo.Collection<StoredOrder>;
  private readonly inserts: InsertBatches<StoredOrder>;
  /**
   * Orders this process stored as tombstones whose order:created has not come yet
   * (the oldest forgotten past TOMBSTONE_HINTS): see store().
   */
  private readonly tombstones = new Set<string>();
  /** Every write of one order, one at a time in this process (one-at-a-time.ts says why). */
  private readonly perOrder = new OneAtATime();

  constructor(
    orders: OrderModel,
    private readonly logger: Logger,
    /**
     * Told of every cancel of a stored order once it is stored cancelled
     * (redeliveries too), before the event is acked: a payment taken for the
     * order must be refunded. (A cancel that leaves a tombstone has no payment to find.)
     */
    private readonly onCancelled: (orderId: string) => Promise<void> = async () => {},
  ) {
    this.collection = driverCollection<StoredOrder>(orders);
    this.inserts = new InsertBatches<StoredOrder>(this.collection);
  }

  /**
   * Stores a new order; a redelivered duplicate changes nothing; a tombstone left
   * by an earlier cancel gets its user and price and stays cancelled.
   * @throws OrderConflict when the order is stored with another user or price.
   */
  created(event: OrderCreated): Promise<void> {
    return this.perOrder.run(event.id, () => this.store(event));
  }

  private async store(event: OrderCreated): Promise<void> {
    // A tombstone this process stored: straight to the fill, so that the batched
    // insert below meets no duplicate (FerretDB stores a batch with one duplicate one
    // document at a time). A hint only: without it the insert's duplicate leads here too.
    if (this.tombstones.delete(event.id) && (await this.fill(event))) return;
    // Straight to the driver (the event is validated already), batched with the other
    // orders delivered in this turn: a backlog replicates at the database's speed.
    const now = new Date();
    const outcome = await this.inserts.insert({
      _id: event.id,
      version: event.version,
      userId: event.userId,
      price: event.price,
      status: event.status,
      createdAt: now,
      updatedAt: now,
    });
    if (outcome === 'inserted' || (await this.fill(event))) return;
    const stored = await this.collection.findOne({ _id: event.id });
    if (stored && (stored.userId !== event.userId || stored.price !== event.price)) {
      throw new OrderConflict(`order ${event.id} is stored with another user or price than this order:created carries`);
    }
  }

  /** Gives a tombstone its user and price (it stays cancelled); false when there was no tombstone to fill. */
  private async fill(event: OrderCreated): Promise<boolean> {
    const filled = await this.collection.updateOne(
      { _id: event.id, userId: { $exists: false } },
      { $set: { userId: event.userId, price: event.price, updatedAt: new Date() } },
    );
    if (filled.modifiedCount === 0) return false;
    this.logger.info({ orderId: event.id }, 'order created after its cancel: stored, still cancelled');
    return true;
  }

  /**
   * Stores the order cancelled at the event's version unless it is there already
   * (a stale or repeated cancel), creating a tombstone for an order not seen yet.
   * Unless it made a tombstone (no order stored, so nothing could be paid), the
   * payment side is told, so a refund owed is never missed.
   */
  cancelled(event: OrderCancelled): Promise<void> {
    return this.perOrder.run(event.id, () => this.cancel(event));
  }

  private async cancel(event: OrderCancelled): Promise<void> {
    const log = { orderId: event.id, version: event.version };
    // Straight to the driver, as in created(): the timestamps mongoose would add are written here.
    const older = { _id: event.id, version: { $lt: event.version } };
    const now = new Date();
    const cancel = { $set: { version: event.version, status: OrderStatus.Cancelled, updatedAt: now } };
    try {
      const result = await this.collection.updateOne(older, { ...cancel, $setOnInsert: { createdAt: now } }, { upsert: true });
      if (result.upsertedCount > 0) {
        // No order was stored, so none could be paid: there is no payment to look for.
        this.rememberTombstone(event.id);
        this.logger.info(log, 'order cancelled before it was created: tombstone stored');
        return;
      }
      this.logger.info(log, 'order cancelled');
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // The upsert met a stored order: either it is at this version or later already,
      // or its order:created landed between the update's search and its insert.
      const result = await this.collection.updateOne(older, cancel);
      if (result.matchedCount > 0) this.logger.info(log, 'order cancelled');
      else this.logger.debug(log, 'stale cancel ignored');
    }
    await this.onCancelled(event.id);
  }

  private rememberTombstone(orderId: string): void {
    this.tombstones.add(orderId);
    if (this.tombstones.size > TOMBSTONE_HINTS) this.tombstones.delete(this.tombstones.values().next().value as string);
  }
}
