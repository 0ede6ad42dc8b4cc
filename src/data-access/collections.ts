import { Connection } from 'mongoose';
import { Logger } from '../logger';
import { whileDatabaseSlow } from './connection';
import { disputeModel, DisputeModel } from './disputes';
import { orderModel, OrderModel } from './order-model';
import { paymentModel, PaymentModel, preparePayments } from './payment-model';
import { prepareRefunds, refundModel, RefundModel } from './refund-model';
import { stripeEventModel, StripeEventModel } from './stripe-event-model';

export interface Collections {
  orders: OrderModel;
  payments: PaymentModel;
  refunds: RefundModel;
  disputes: DisputeModel;
  stripeEvents: StripeEventModel;
}

/**
 * The service's collections, their indexes built and older documents brought to
 * the current shape (idempotent: every instance runs it at start), plus `more`
 * start-up work of other modules on the same database.
 */
export async function openCollections(connection: Connection, logger: Logger, more: Array<() => Promise<void>> = []): Promise<Collections> {
  const collections = {
    orders: orderModel(connection),
    payments: paymentModel(connection),
    refunds: refundModel(connection),
    disputes: disputeModel(connection),
    stripeEvents: stripeEventModel(connection),
  };
  const { orders, payments, refunds, disputes, stripeEvents } = collections;
  await whileDatabaseSlow(
    () => Promise.all([orders.createIndexes(), preparePayments(payments), prepareRefunds(refunds), disputes.createIndexes(), stripeEvents.createIndexes(), ...more.map((work) => work())]),
    logger,
  );
  return collections;
}
