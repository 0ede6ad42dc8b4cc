import { Connection, Model, Schema } from 'mongoose';
import { Order } from '../orders/order';

/** The orders replica's collection (orders/order.ts). */
const orderSchema = new Schema<Order>(
  {
    _id: { type: String, required: true },
    version: { type: Number, required: true },
    userId: { type: String },
    price: { type: Number, min: 0 },
    status: { type: String, required: true },
  },
  { collection: 'orders', versionKey: false, timestamps: true },
);

export type OrderModel = Model<Order>;

export function orderModel(connection: Connection): OrderModel {
  return connection.model<Order>('Order', orderSchema);
}
