import { EventBus } from '../events/bus';
import { parseOrderCancelled, parseOrderCreated, Subjects } from '../events/contracts';
import { OrderReplica } from './replicate-order';

/** Subscribes the orders replica to the orders service's events. */
export function listenToOrders(bus: EventBus, replica: OrderReplica): void {
  bus.subscribe(Subjects.OrderCreated, (event) => replica.created(parseOrderCreated(event.data)));
  bus.subscribe(Subjects.OrderCancelled, (event) => replica.cancelled(parseOrderCancelled(event.data)));
}
