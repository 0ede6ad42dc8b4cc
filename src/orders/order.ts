/** Statuses the orders service gives an order; only some can be paid. */
export const OrderStatus = {
  Created: 'created',
  Cancelled: 'cancelled',
  AwaitingPayment: 'awaiting:payment',
  Complete: 'complete',
} as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

export const PAYABLE_STATUSES: readonly string[] = [OrderStatus.Created, OrderStatus.AwaitingPayment];

/**
 * This service's replica of an order: `version` is the orders service's, never ours.
 * A cancel that arrives before its `order:created` is stored as a tombstone: status
 * cancelled, no `userId` or `price` until the `order:created` fills them in.
 */
export interface Order {
  _id: string;
  version: number;
  userId?: string;
  /** The orders service's price, in major units (dollars); money.ts converts it. */
  price?: number;
  status: string;
}
