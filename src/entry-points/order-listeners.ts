import { EventBus } from '../events/bus';
import { parseOrderCancelled, parseOrderCreated, Subjects } from '../events/contracts';
import { DeadLetters } from '../events/dead-letters';
import { OrderReplica } from '../orders/replicate-order';

/**
 * Subscribes the orders replica to the orders service's events. Every handler
 * goes through the dead-letter store, so an event that cannot be applied is set
 * aside and retried there instead of holding up the events behind it.
 */
export function listenToOrders(bus: EventBus, deadLetters: DeadLetters, replica: OrderReplica): void {
  bus.subscribe(Subjects.OrderCreated, deadLetters.guard(Subjects.OrderCreated, (data) => replica.created(parseOrderCreated(data))));
  bus.subscribe(Subjects.OrderCancelled, deadLetters.guard(Subjects.OrderCancelled, (data) => replica.cancelled(parseOrderCancelled(data))));
}
