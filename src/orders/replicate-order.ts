import { OrderCancelled, OrderCreated } from '../events/contracts';
import { Logger } from '../logger';
import { OneAtATime } from './one-at-a-time';
import { Order } from './order';

/** How many tombstones the replica remembers to fill without an insert first: a hint, so a bound and nothing more. */
const TOMBSTONE_HINTS = 10_000;

/** What the replica needs from storage (data-access/order-store.ts). */
export interface OrderReplicaStore {
  find(orderId: string): Promise<Order | null>;
  /** `duplicate`: an order with this id is stored already (a redelivery, or a tombstone). */
  insert(order: Order): Promise<'inserted' | 'duplicate'>;
  /** Gives a tombstone its user and price (it stays cancelled); false when there was no tombstone to fill. */
  fillTombstone(order: { _id: string; userId: string; price: number }): Promise<boolean>;
  /**
   * Stores the order cancelled whatever its stored version (a cancel is terminal; the
   * highest version is kept): `repeat` when it was cancelled already, `tombstone` when no order was stored.
   */
  cancel(orderId: string, version: number): Promise<'tombstone' | 'cancelled' | 'repeat'>;
}

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
  /** Orders this process stored as tombstones whose order:created has not come yet (the oldest forgotten past TOMBSTONE_HINTS). */
  private readonly tombstones = new Set<string>();
  /** Every write of one order, one at a time in this process (one-at-a-time.ts says why). */
  private readonly perOrder = new OneAtATime();

  constructor(
    private readonly orders: OrderReplicaStore,
    private readonly logger: Logger,
    /**
     * Told of every cancel of a stored order once it is stored cancelled
     * (redeliveries too), before the event is acked: a payment taken for the
     * order must be refunded. (A cancel that leaves a tombstone has no payment to find.)
     */
    private readonly onCancelled: (orderId: string) => Promise<void> = async () => {},
  ) {}

  /**
   * Stores a new order; a redelivered duplicate changes nothing; a tombstone left
   * by an earlier cancel gets its user and price and stays cancelled.
   * @throws OrderConflict when the order is stored with another user or price.
   */
  created(event: OrderCreated): Promise<void> {
    return this.perOrder.run(event.id, () => this.store(event));
  }

  private async store(event: OrderCreated): Promise<void> {
    // A tombstone this process stored goes straight to the fill, so the batched insert meets
    // no duplicate (FerretDB stores a batch with a duplicate one document at a time: docs/ferretdb.md).
    if (this.tombstones.delete(event.id) && (await this.fill(event))) return;
    const { id: _id, version, userId, price, status } = event;
    const outcome = await this.orders.insert({ _id, version, userId, price, status });
    if (outcome === 'inserted' || (await this.fill(event))) return;
    const stored = await this.orders.find(event.id);
    if (stored && (stored.userId !== event.userId || stored.price !== event.price)) {
      throw new OrderConflict(`order ${event.id} is stored with another user or price than this order:created carries`);
    }
  }

  private async fill(event: OrderCreated): Promise<boolean> {
    const filled = await this.orders.fillTombstone({ _id: event.id, userId: event.userId, price: event.price });
    if (filled) this.logger.info({ orderId: event.id }, 'order created after its cancel: stored, still cancelled');
    return filled;
  }

  /**
   * Stores the order cancelled at any version (the orders service may publish the
   * version it read before the cancel, 0 included: CONTRACT.md, Additions 2026-12-05),
   * creating a tombstone for an order not seen yet.
   * Unless it made a tombstone (no order stored, so nothing could be paid), the
   * payment side is told, so a refund owed is never missed.
   */
  cancelled(event: OrderCancelled): Promise<void> {
    return this.perOrder.run(event.id, () => this.cancel(event));
  }

  private async cancel(event: OrderCancelled): Promise<void> {
    const log = { orderId: event.id, version: event.version };
    const outcome = await this.orders.cancel(event.id, event.version);
    if (outcome === 'tombstone') {
      this.rememberTombstone(event.id);
      this.logger.info(log, 'order cancelled before it was created: tombstone stored');
      return;
    }
    if (outcome === 'cancelled') this.logger.info(log, 'order cancelled');
    else this.logger.debug(log, 'repeated cancel: the order was cancelled already');
    await this.onCancelled(event.id);
  }

  private rememberTombstone(orderId: string): void {
    this.tombstones.add(orderId);
    if (this.tombstones.size > TOMBSTONE_HINTS) this.tombstones.delete(this.tombstones.values().next().value as string);
  }
}
