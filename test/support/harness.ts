import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Types } from 'mongoose';
import { connect, Stan } from 'node-nats-streaming';
import { startNatsStreaming } from '../../scripts/servers';
import { Config, loadConfig } from '../../src/config';
import { Subjects } from '../../src/events/contracts';
import { Service, ServiceOptions, startService } from '../../src/service';

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

/** A NATS Streaming server of the test file's own, or the one NATS_URL names. */
export async function natsServer(options: { store?: 'memory' | 'file'; port?: number; dir?: string } = {}) {
  if (process.env.NATS_URL) {
    return { url: process.env.NATS_URL, clusterId: process.env.NATS_CLUSTER_ID ?? 'ticketing', stop: async () => {} };
  }
  return startNatsStreaming(options);
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
    NATS_URL: env.nats.url,
    NATS_CLUSTER_ID: env.nats.clusterId,
    NATS_CLIENT_ID: unique('payments-test'),
    NATS_ACK_WAIT_MS: '1000',
    STRIPE_KEY: 'sk_test_payments',
    STRIPE_API_URL: env.stripeUrl ?? process.env.STRIPE_MOCK_URL,
    STRIPE_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'silent',
    PAYMENT_ATTEMPTS_PER_MINUTE: '1000',
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

function stanConnect(nats: { url: string; clusterId: string }, clientId: string): Promise<Stan> {
  return new Promise((resolve, reject) => {
    const stan = connect(nats.clusterId, clientId, { url: nats.url });
    stan.once('connect', () => resolve(stan));
    stan.once('error', reject);
  });
}

/** Plays the orders service: publishes order events through the real NATS Streaming server. */
export class OrdersPublisher {
  private constructor(private readonly stan: Stan) {}

  static async connect(nats: { url: string; clusterId: string }): Promise<OrdersPublisher> {
    return new OrdersPublisher(await stanConnect(nats, unique('orders-test')));
  }

  raw(subject: string, data: string): Promise<void> {
    return new Promise((resolve, reject) => this.stan.publish(subject, data, (err) => (err ? reject(err) : resolve())));
  }

  created(order: { id: string; userId: string; price: number; version?: number; status?: string }): Promise<void> {
    return this.raw(
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

  cancelled(order: { id: string; version: number }): Promise<void> {
    return this.raw(Subjects.OrderCancelled, JSON.stringify({ id: order.id, version: order.version, ticket: { id: newId() } }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.stan.once('close', () => resolve());
      this.stan.close();
    });
  }
}

export interface PaymentCreatedEvent {
  id: string;
  orderId: string;
  stripeId: string;
  paymentIntentId?: string;
  amount?: number;
  currency?: string;
}

export interface PaymentRefundedEvent {
  id: string;
  orderId: string;
  stripeId: string;
  refundId: string;
  amount: number;
  currency: string;
}

/** Plays the orders service's listener: records every payment:created and payment:refunded it receives, in order. */
export class PaymentCreatedSpy {
  readonly events: PaymentCreatedEvent[] = [];
  readonly refunds: PaymentRefundedEvent[] = [];
  /** Both subjects in the order they arrived. */
  readonly all: Array<{ subject: string; data: PaymentCreatedEvent | PaymentRefundedEvent }> = [];

  private constructor(private readonly stan: Stan) {}

  static async connect(nats: { url: string; clusterId: string }): Promise<PaymentCreatedSpy> {
    const stan = await stanConnect(nats, unique('orders-listener'));
    const spy = new PaymentCreatedSpy(stan);
    const listen = (subject: string, into: unknown[]) =>
      new Promise<void>((resolve) => {
        const subscription = stan.subscribe(subject, stan.subscriptionOptions().setDeliverAllAvailable());
        subscription.on('message', (message) => {
          const data = JSON.parse(String(message.getData()));
          into.push(data);
          spy.all.push({ subject, data });
        });
        subscription.once('ready', () => resolve());
      });
    await Promise.all([listen(Subjects.PaymentCreated, spy.events), listen(Subjects.PaymentRefunded, spy.refunds)]);
    return spy;
  }

  forOrder(orderId: string) {
    return this.events.filter((event) => event.orderId === orderId);
  }

  refundsFor(orderId: string) {
    return this.refunds.filter((event) => event.orderId === orderId);
  }

  /** The subjects this order's events arrived with, in order. */
  subjectsFor(orderId: string): string[] {
    return this.all.filter((event) => event.data.orderId === orderId).map((event) => event.subject);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.stan.once('close', () => resolve());
      this.stan.close();
    });
  }
}
