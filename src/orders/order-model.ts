import { Connection, Model, Schema } from 'mongoose';

/** Statuses the orders service gives an order; only some can be paid. */
export const OrderStatus = {
  Created: 'created',
  Cancelled: 'cancelled',
  AwaitingPayment: 'awaiting:payment',
  Complete: 'complete',
} as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

export const PAYABLE_STATUSES: readonly string[] = [OrderStatus.Created, OrderStatus.AwaitingPayment];

/** This service's replica of an order: `version` is the orders service's, never ours. */
export interface Order {
  _id: string;
  version: number;
  userId: string;
  price: number;
  status: string;
}

const orderSchema = new Schema<Order>(
  {
    _id: { type: String, required: true },
    version: { type: Number, required: true },
    userId: { type: String, required: true },
    price: { type: Number, required: true, min: 0 },
    status: { type: String, required: true },
  },
  { collection: 'orders', versionKey: false, timestamps: true },
);

export type OrderModel = Model<Order>;

export function orderModel(connection: Connection): OrderModel {
  return connection.model<Order>('Order', orderSchema);
}
