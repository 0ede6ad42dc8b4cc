import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mongoose, { Connection } from 'mongoose';
import { Subjects } from '../../../src/events/contracts';
import { orderModel, OrderModel } from '../../../src/data-access/order-model';
import { paymentModel, PaymentModel } from '../../../src/data-access/payment-model';
import { sleep } from '../../../test/support/eventually';
import { FakeStripe } from '../../../test/support/fake-stripe';
import { databaseUri, natsServer, NatsTarget, OrdersPublisher, unique } from '../../../test/support/harness';
import { ServiceProcess } from '../../../test/support/service-process';

/**
 * What every hostile-input suite attacks: the compiled service running as its
 * own process, as in production, on a broker, the fake Stripe and a database of
 * its own, with the models to look into that database. `npm run build` first
 * (the test:resilience script does).
 */
export class HostileStage {
  readonly database = unique('hostile');
  nats!: NatsTarget;
  stripe!: FakeStripe;
  proc!: ServiceProcess;
  connection!: Connection;
  orders!: OrderModel;
  payments!: PaymentModel;
  pid!: number;
  publisher: OrdersPublisher | undefined;
  readonly published: Record<string, number> = { [Subjects.OrderCreated]: 0, [Subjects.OrderCancelled]: 0 };

  async start(): Promise<this> {
    const entry = path.join(__dirname, '..', '..', '..', 'dist', 'index.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first (npm run test:resilience does)`);
    this.nats = await natsServer();
    this.stripe = await FakeStripe.start();
    // The fake Stripe shares this busy process: a generous timeout keeps a slow answer from passing for a Stripe failure.
    this.proc = await ServiceProcess.start({ database: this.database, nats: this.nats, stripeUrl: this.stripe.url, env: { STRIPE_TIMEOUT_MS: '15000' } });
    this.pid = this.proc.pid;
    this.connection = await mongoose.createConnection(databaseUri(this.database)).asPromise();
    this.orders = orderModel(this.connection);
    this.payments = paymentModel(this.connection);
    return this;
  }

  /**
   * Connects the orders publisher. Close it while this process is busy elsewhere:
   * an idle client that misses the server's heartbeats (every 1 s, dropped after
   * 2) would be dropped by the server.
   */
  async openPublisher(): Promise<void> {
    this.publisher = await OrdersPublisher.connect(this.nats);
  }

  async closePublisher(): Promise<void> {
    await this.publisher?.close();
    this.publisher = undefined;
  }

  /** Publishes raw data; resolves with the message's sequence. */
  readonly publish = async (subject: string, data: string): Promise<number> => {
    const sequence = await this.publisher!.raw(subject, data);
    this.published[subject] += 1;
    // NATS Streaming numbers each channel from 1 (and does not say at once); JetStream numbers the stream.
    return sequence ?? this.published[subject];
  };

  async stop(): Promise<void> {
    // HOSTILE_SERVICE_LOG=<file> keeps the service's log for a closer look.
    if (process.env.HOSTILE_SERVICE_LOG && this.proc) writeFileSync(process.env.HOSTILE_SERVICE_LOG, `${this.proc.lines.join('\n')}\n`);
    await this.connection?.close();
    await Promise.race([this.publisher?.close().catch(() => undefined), sleep(3000)]);
    await this.proc?.stop();
    await this.stripe?.stop();
    await this.nats?.stop();
  }
}
