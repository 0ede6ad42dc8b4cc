import { isDuplicateKey } from '../db-errors';
import { RetryLater } from '../events/bus';
import { OrderCancelled, OrderCreated } from '../events/contracts';
import { Logger } from '../logger';
import { OrderModel, OrderStatus } from './order-model';

/** Keeps the orders replica in step with the orders service, one version at a time. */
export class OrderReplica {
  constructor(
    private readonly orders: OrderModel,
    private readonly logger: Logger,
  ) {}

  /** Stores a new order; a redelivered duplicate changes nothing. */
  async created(event: OrderCreated): Promise<void> {
    try {
      await this.orders.create({
        _id: event.id,
        version: event.version,
        userId: event.userId,
        price: event.price,
        status: event.status,
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }

  /**
   * Applies a cancel on top of exactly the version before it. A stale duplicate
   * is done already; one that came early is retried until its predecessor lands.
   */
  async cancelled(event: OrderCancelled): Promise<void> {
    const before = await this.orders
      .findOneAndUpdate(
        { _id: event.id, version: event.version - 1 },
        { $set: { version: event.version, status: OrderStatus.Cancelled } },
        { returnDocument: 'before' },
      )
      .lean();
    if (before) {
      if (before.status === OrderStatus.Complete) {
        this.logger.error({ orderId: event.id }, 'order cancelled after this service charged it: refund it');
      }
      return;
    }

    // Not applied: either it is stale, or its predecessor has not landed yet
    // (or landed a moment ago, while this update ran), so it must come again.
    const stored = await this.orders.findById(event.id).lean();
    if (!stored) throw new RetryLater(`order ${event.id} is not replicated yet`);
    if (stored.version < event.version) {
      throw new RetryLater(`order ${event.id} is at version ${stored.version}, cancel needs ${event.version - 1}`);
    }
    this.logger.debug({ orderId: event.id, version: event.version }, 'stale cancel ignored');
  }
}
