import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Types } from 'mongoose';
import { startNatsServer, startNatsStreaming } from '../../scripts/servers';
import { Config, loadConfig } from '../../src/config';
import { PaymentCreated, PaymentDisputed, PaymentRefunded, PaymentRefundFailed, Subjects } from '../../src/events/contracts';
import { Service, ServiceOptions, startService } from '../../src/service';
import { BrokerClient, connectBroker, testBus } from './broker-client';

export const JWT_KEY = 'test-jwt-key-that-is-long-enough';

export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function newId(): string {
  return new Types.ObjectId().toHexString();
}

/** The run's database server (see global-setup), with a database of the caller's own. */
export function databaseUri(database: string, base = process.env.MONGO_URI!): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export interface NatsTarget {
  url: string;
  clusterId: string;
  stop(): Promise<void>;
}

/** A broker started by the tests: restart it with `natsServer({ port, dir, store })`. */
export type LocalNats = Awaited<ReturnType<typeof startNatsStreaming>>;

/**
 * A broker of the test file's own (nats-streaming-server, or nats-server with
 * JetStream when EVENT_BUS=jetstream), or the one NATS_URL names. Called again
 * with the `port`, `dir` and `store` of a stopped one, it restarts that broker:
 * with `store: 'file'` its state is kept, with `'memory'` it is lost. `own`: never
 * the one NATS_URL names (a test that stops its server needs one of its own).
 */
export async function natsServer(
  options: { store?: 'memory' | 'file'; port?: number; dir?: string; own?: boolean } = {},
): Promise<NatsTarget & Partial<LocalNats>> {
  if (process.env.NATS_URL && !options.own) {
    return { url: process.env.NATS_URL, clusterId: process.env.NATS_CLUSTER_ID ?? 'ticketing', stop: async () => {} };
  }
  return testBus() === 'jetstream' ? startNatsServer(options) : startNatsStreaming(options);
}

/** Environment for one service instance, read through the real config module. */
export function serviceConfig(env: {
  database: string;
  nats: { url: string; clusterId: string };
  stripeUrl?: string;
  extra?: Record<string, string>;
}): Config {
  return loadConfig({
    PORT: '0',
    JWT_KEY,
    MONGO_URI: databaseUri(env.database),
    EVENT_BUS: testBus(),
    NATS_URL: env.nats.url,
    NATS_CLUSTER_ID: env.nats.clusterId,
    NATS_CLIENT_ID: unique('payments-test'),
    NATS_ACK_WAIT_MS: '1000',
    STRIPE_KEY: 'sk_test_payments',
    STRIPE_API_URL: env.stripeUrl ?? process.env.STRIPE_MOCK_URL,
    STRIPE_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'silent',
    PAYMENT_ATTEMPTS_PER_MINUTE: '1000',
    // Paced only where pacing is what a test checks (stripe-budget tests set their own).
    STRIPE_MAX_RPS: '1000',
    ...env.extra,
  });
}

/** Test defaults: fast sweeps and retries, no SDK retries, a queue group of the file's own. */
export function startTestService(config: Config, options: ServiceOptions & { queueGroup: string }): Promise<Service> {
  return startService(config, {
    sweepIntervalMs: 200,
    stripeMaxNetworkRetries: 0,
    chargeRetryBaseMs: 300,
    natsPingIntervalMs: 1000,
    natsMaxPingsOut: 2,
    ...options,
  });
}

export function sessionCookie(user: { id: string; email?: string }, key = JWT_KEY, algorithm: jwt.Algorithm = 'HS256'): string {
  const token = jwt.sign({ id: user.id, email: user.email ?? `${user.id}@test.dev` }, key, { algorithm });
  return cookieWithJwt(token);
}

export function cookieWithJwt(token: string): string {
  return `session=${Buffer.from(JSON.stringify({ jwt: token })).toString('base64')}`;
}

/** Plays the orders service: publishes order events through the real broker (see testBus). */
export class OrdersPublisher {
  private constructor(private readonly broker: BrokerClient) {}

  static async connect(nats: { url: string; clusterId: string }): Promise<OrdersPublisher> {
    return new OrdersPublisher(await connectBroker(nats, unique('orders-test')));
  }

  /** Resolves once the broker stored it: with its stream sequence on JetStream, undefined on NATS Streaming (see BrokerClient). */
  raw(subject: string, data: string): Promise<number | undefined> {
    return this.broker.publish(subject, data);
  }

  async created(order: { id: string; userId: string; price: number; version?: number; status?: string }): Promise<void> {
    await this.raw(
      Subjects.OrderCreated,
      JSON.stringify({
        id: order.id,
        version: order.version ?? 0,
        status: order.status ?? 'created',
        userId: order.userId,
        expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
        ticket: { id: newId(), price: order.price },
      }),
    );
  }

  async cancelled(order: { id: string; version: number }): Promise<void> {
    await this.raw(Subjects.OrderCancelled, JSON.stringify({ id: order.id, version: order.version, ticket: { id: newId() } }));
  }

  close(): Promise<void> {
    return this.broker.close();
  }
}

/** The events the spy hears, as the service publishes them (src/events/contracts.ts). */
export type PaymentCreatedEvent = PaymentCreated;
export type PaymentRefundedEvent = PaymentRefunded;

/** Plays the platform's listeners: records every payment:* event it receives, in order. */
export class PaymentCreatedSpy {
  readonly events: PaymentCreatedEvent[] = [];
  readonly refunds: PaymentRefundedEvent[] = [];
  readonly refundFailures: PaymentRefundFailed[] = [];
  readonly disputes: PaymentDisputed[] = [];
  /** Every subject in the order they arrived. */
  readonly all: Array<{ subject: string; data: { orderId: string } }> = [];

  private constructor(private readonly broker: BrokerClient) {}

  static async connect(nats: { url: string; clusterId: string }): Promise<PaymentCreatedSpy> {
    const broker = await connectBroker(nats, unique('orders-listener'));
    const spy = new PaymentCreatedSpy(broker);
    const listen = (subject: string, into: unknown[]) =>
      broker.listen(subject, (payload) => {
        const data = JSON.parse(payload);
        into.push(data);
        spy.all.push({ subject, data });
      });
    await Promise.all([
      listen(Subjects.PaymentCreated, spy.events),
      listen(Subjects.PaymentRefunded, spy.refunds),
      listen(Subjects.PaymentRefundFailed, spy.refundFailures),
      listen(Subjects.PaymentDisputed, spy.disputes),
    ]);
    return spy;
  }

  forOrder(orderId: string) {
    return this.events.filter((event) => event.orderId === orderId);
  }

  refundsFor(orderId: string) {
    return this.refunds.filter((event) => event.orderId === orderId);
  }

  refundFailuresFor(orderId: string) {
    return this.refundFailures.filter((event) => event.orderId === orderId);
  }

  disputesFor(orderId: string) {
    return this.disputes.filter((event) => event.orderId === orderId);
  }

  /** The subjects this order's events arrived with, in order. */
  subjectsFor(orderId: string): string[] {
    return this.all.filter((event) => event.data.orderId === orderId).map((event) => event.subject);
  }

  close(): Promise<void> {
    return this.broker.close();
  }
}
