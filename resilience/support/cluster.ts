import mongoose, { Connection } from 'mongoose';
import { FakeStripe } from '../../test/support/fake-stripe';
import {
  databaseUri, natsServer, NatsTarget, newId, OrdersPublisher, PaymentCreatedSpy, sessionCookie, unique,
} from '../../test/support/harness';
import { eventually } from '../../test/support/eventually';
import { ServiceProcess } from '../../test/support/service-process';

export interface ClusterOrder {
  id: string;
  userId: string;
  price: number;
  cookie: string;
}

/**
 * Several service processes on one database and one broker (EVENT_BUS), with
 * the orders service played through NATS and Stripe played by the fake.
 */
export class Cluster {
  readonly database = unique('resilience');
  readonly processes: ServiceProcess[] = [];
  nats!: NatsTarget;
  stripe!: FakeStripe;
  orders!: OrdersPublisher;
  spy!: PaymentCreatedSpy;
  db!: Connection;

  async start(options: { nats?: Parameters<typeof natsServer>[0]; mongoUri?: string } = {}): Promise<void> {
    this.nats = await natsServer(options.nats);
    this.stripe = await FakeStripe.start();
    this.orders = await OrdersPublisher.connect(this.nats);
    this.spy = await PaymentCreatedSpy.connect(this.nats);
    this.db = await mongoose.createConnection(options.mongoUri ?? databaseUri(this.database)).asPromise();
  }

  async instance(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const proc = await ServiceProcess.start({ database: this.database, nats: this.nats, stripeUrl: this.stripe.url, env });
    this.processes.push(proc);
    return proc;
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((proc) => proc.stop()));
    await this.db?.close();
    await this.spy?.close().catch(() => undefined);
    await this.orders?.close().catch(() => undefined);
    await this.stripe?.stop();
    await this.nats?.stop();
  }

  /** Publishes order:created for `count` new orders and waits until they are replicated. */
  async replicatedOrders(count: number, price = 20): Promise<ClusterOrder[]> {
    const orders = Array.from({ length: count }, () => {
      const userId = newId();
      return { id: newId(), userId, price, cookie: sessionCookie({ id: userId }) };
    });
    for (const order of orders) await this.orders.created(order);
    await eventually(async () => expect(await this.ordersStored(orders.map((order) => order.id))).toBe(count), 60_000, 200);
    return orders;
  }

  ordersStored(ids: string[]): Promise<number> {
    return this.db.collection('orders').countDocuments({ _id: { $in: ids as never[] } });
  }

  payments(filter: Record<string, unknown> = {}) {
    return this.db.collection('payments').find(filter).toArray();
  }

  async pay(proc: ServiceProcess, order: ClusterOrder, token: string): Promise<{ status: number; body: unknown }> {
    try {
      const res = await fetch(`${proc.url}/api/payments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: order.cookie },
        body: JSON.stringify({ token, orderId: order.id }),
      });
      return { status: res.status, body: await res.json().catch(() => null) };
    } catch {
      return { status: 0, body: null }; // the connection died with the process
    }
  }

  /** What the orders service would see and what Stripe did, for every order given. */
  async tally(orders: ClusterOrder[]) {
    const ids = new Set(orders.map((order) => order.id));
    const payments = (await this.payments()).filter((payment) => ids.has(payment.orderId));
    const events = this.spy.events.filter((event) => ids.has(event.orderId));
    const charges = this.stripe.charges.filter((charge) => ids.has(charge.metadata.orderId));
    const chargesPerOrder = count(charges.map((charge) => charge.metadata.orderId));
    const eventsPerPayment = count(events.map((event) => event.id));
    const paid = payments.filter((payment) => payment.state === 'succeeded');
    return {
      orders: orders.length,
      charges: charges.length,
      'orders charged twice': [...chargesPerOrder.values()].filter((n) => n > 1).length,
      'payments stored': paid.length,
      'payments still charging': payments.filter((payment) => payment.state === 'charging').length,
      'events seen': events.length,
      'distinct events': eventsPerPayment.size,
      'events duplicated': [...eventsPerPayment.values()].filter((n) => n > 1).length,
      'payments without event (lost)': paid.filter((payment) => !eventsPerPayment.has(String(payment._id))).length,
      'events still owed': paid.filter((payment) => payment.eventsOwed?.length > 0).length,
    };
  }

  /**
   * What Stripe refunded and what the orders service heard about it, for every order given
   * (all of them cancelled): a charge may have several refunds (the Dashboard's, an
   * operator's, a cancel's), so money is counted per charge and events per refund.
   */
  async refundTally(orders: ClusterOrder[]) {
    const ids = new Set(orders.map((order) => order.id));
    const docs = (await this.db.collection('refunds').find({}).toArray()).filter((refund) => ids.has(refund.orderId));
    const charges = new Map(this.stripe.charges.filter((charge) => ids.has(charge.metadata.orderId)).map((charge) => [charge.id, charge]));
    const refunds = this.stripe.refunds.filter((refund) => charges.has(refund.charge) && refund.status !== 'failed' && refund.status !== 'canceled');
    const refundedOf = (charge: string) => refunds.filter((refund) => refund.charge === charge).reduce((sum, refund) => sum + refund.amount, 0);
    const perKey = count(refunds.map((refund) => refund.metadata?.refundKey ?? refund.id));
    const events = this.spy.refunds.filter((event) => ids.has(event.orderId));
    const eventsPerRefund = count(events.map((event) => event.refundId));
    return {
      orders: orders.length,
      charges: charges.size,
      refunds: refunds.length,
      'refunded twice': [...charges.values()].filter((charge) => refundedOf(charge.id) > charge.amount).length + [...perKey.values()].filter((n) => n > 1).length,
      'payments refunded': [...charges.values()].filter((charge) => refundedOf(charge.id) === charge.amount).length,
      'money kept (cancelled, not all refunded)': [...charges.values()].filter((charge) => refundedOf(charge.id) < charge.amount).length,
      'refunds still owed': docs.filter((refund) => refund.state === 'owed').length,
      'refund events seen': events.length,
      'refund events duplicated': [...eventsPerRefund.values()].filter((n) => n > 1).length,
      'refunded without event (lost)': refunds.filter((refund) => !eventsPerRefund.has(refund.id)).length,
    };
  }
}

function count(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** Prints rows as a markdown table, so the suite's output can go straight into the README. */
export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  const columns = Object.keys(rows[0] ?? {});
  const lines = [
    `\n### ${title}\n`,
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map((column) => String(row[column])).join(' | ')} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
