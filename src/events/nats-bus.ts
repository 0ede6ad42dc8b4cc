import { connect, Message, Stan } from 'node-nats-streaming';
import { delay, retryUntilDone } from '../backoff';
import { Logger } from '../logger';
import { BusOptions, EventBus, EventHandler, PublishOptions } from './bus';
import { handleDelivery, InFlight, shouldAck } from './delivery';

export interface NatsBusOptions extends BusOptions {
  clusterId: string;
}

const RECONNECT_DELAY_MS = { firstMs: 250, maxMs: 5000 };

/**
 * EventBus over NATS Streaming. Owns acking and redelivery: a handler that
 * returns is acked, one that throws is left for redelivery, a malformed message
 * is logged and acked. When the streaming session is lost (server restarted,
 * client replaced, pings unanswered) it opens a new one and resubscribes; the
 * durable queue group resumes where the last ack left it.
 */
export class NatsStreamingBus implements EventBus {
  private stan?: Stan;
  private readonly handlers = new Map<string, EventHandler>();
  private readonly readySubjects = new Set<string>();
  private readonly inFlight = new InFlight();
  private closing = false;
  /** False while the NATS connection under the session is down and reconnecting. */
  private linked = true;

  private constructor(
    private readonly options: NatsBusOptions,
    private readonly logger: Logger,
  ) {}

  /** Opens the first session; start-up fails if the server cannot be reached. */
  static async connect(options: NatsBusOptions, logger: Logger): Promise<NatsStreamingBus> {
    const bus = new NatsStreamingBus(options, logger.child({ component: 'nats' }));
    bus.stan = await bus.open();
    return bus;
  }

  get ready(): boolean {
    return this.stan !== undefined && this.linked && this.readySubjects.size === this.handlers.size;
  }

  subscribe(subject: string, handler: EventHandler): void {
    this.handlers.set(subject, handler);
    if (this.stan) this.attach(this.stan, subject, handler);
  }

  /** NATS Streaming has no deduplication: `options.messageId` is not sent. */
  publish(subject: string, data: object, _options?: PublishOptions): Promise<void> {
    const stan = this.stan;
    if (!stan) return Promise.reject(new Error('NATS Streaming is not connected'));
    return new Promise((resolve, reject) => {
      try {
        stan.publish(subject, JSON.stringify(data), (err) => (err ? reject(toError(err)) : resolve()));
      } catch (err) {
        reject(toError(err));
      }
    });
  }

  /** Lets handlers in progress finish (bounded), then closes; durable subscriptions remain. */
  async close(drainMs = 5000): Promise<void> {
    this.closing = true;
    await this.inFlight.settled(drainMs);
    const stan = this.stan;
    this.stan = undefined;
    if (!stan) return;
    const closed = new Promise<void>((resolve) => stan.once('close', () => resolve()));
    stan.close();
    await Promise.race([closed, delay(2000)]);
  }

  private open(): Promise<Stan> {
    const { url, clusterId, clientId } = this.options;
    return new Promise((resolve, reject) => {
      const stan = connect(clusterId, clientId, {
        url,
        connectTimeout: this.options.connectTimeoutMs ?? 5000,
        ackTimeout: this.options.publishTimeoutMs ?? 5000,
        stanPingInterval: this.options.pingIntervalMs ?? 5000,
        stanMaxPingOut: this.options.maxPingsOut ?? 3,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
      let connected = false;
      stan.on('connect', () => {
        connected = true;
        this.logger.info({ url, clusterId, clientId }, 'connected to NATS Streaming');
        resolve(stan);
        for (const [subject, handler] of this.handlers) this.attach(stan, subject, handler);
      });
      stan.on('error', (err: unknown) => {
        if (connected) return this.logger.warn({ err: toError(err) }, 'NATS Streaming error');
        stan.close();
        reject(toError(err));
      });
      stan.on('connection_lost', (err: unknown) => this.lost(stan, toError(err)));
      stan.on('close', () => this.lost(stan, new Error('connection closed')));
      stan.on('disconnect', () => {
        if (this.stan === stan) this.linked = false;
        // Closing disconnects too: nothing to warn about.
        if (!this.closing) this.logger.warn('disconnected from NATS, reconnecting');
      });
      stan.on('reconnect', () => {
        if (this.stan === stan) this.linked = true;
        this.logger.info('reconnected to NATS');
      });
    });
  }

  private lost(stan: Stan, reason: Error): void {
    if (this.closing || this.stan !== stan) return;
    this.stan = undefined;
    this.readySubjects.clear();
    this.logger.error({ err: reason }, 'NATS Streaming session lost; opening a new one');
    // A session that still answers the server's heartbeats would keep our client id taken.
    closeQuietly(stan);
    void this.reconnect();
  }

  private reconnect(): Promise<void> {
    return retryUntilDone(
      async () => {
        const stan = await this.open();
        if (this.closing) return closeQuietly(stan);
        this.stan = stan;
        this.linked = true;
      },
      { ...RECONNECT_DELAY_MS, stopped: () => this.closing, onFailure: (err, retryInMs) => this.logger.warn({ err, retryInMs }, 'could not reach NATS Streaming') },
    );
  }

  private attach(stan: Stan, subject: string, handler: EventHandler): void {
    const { queueGroup, ackWaitMs } = this.options;
    const options = stan
      .subscriptionOptions()
      .setManualAckMode(true)
      .setAckWait(ackWaitMs)
      .setMaxInFlight(this.options.maxInFlight ?? 64)
      .setDeliverAllAvailable()
      .setDurableName(queueGroup);
    const subscription = stan.subscribe(subject, queueGroup, options); // durable: resumes where the last ack left it
    subscription.on('ready', () => {
      if (this.stan === stan || this.stan === undefined) this.readySubjects.add(subject);
      this.logger.info({ subject, queueGroup }, 'subscribed');
    });
    const failed = (err: unknown) => {
      this.logger.error({ err: toError(err), subject }, 'subscription failed');
      this.lost(stan, toError(err));
    };
    subscription.on('error', failed);
    subscription.on('timeout', failed);
    subscription.on('message', (message: Message) => {
      this.inFlight.track(this.deliver(message, handler));
    });
  }

  private async deliver(message: Message, handler: EventHandler): Promise<void> {
    const meta = {
      subject: message.getSubject(),
      sequence: message.getSequence(),
      redelivered: message.isRedelivered(),
    };
    const data = message.getData();
    // No headers on NATS Streaming: each delivery starts a trace of its own.
    const outcome = await handleDelivery(handler, meta, Buffer.isBuffer(data) ? data : String(data), this.logger, { system: 'nats-streaming' });
    if (shouldAck(outcome)) this.ack(message, meta);
    this.options.onHandled?.(meta.subject, outcome, message.getTimestamp());
  }

  private ack(message: Message, meta: object): void {
    try {
      message.ack();
    } catch (err) {
      this.logger.warn({ ...meta, err }, 'could not ack: session closed');
    }
  }
}

function closeQuietly(stan: Stan): void {
  try {
    stan.close();
  } catch {
    // already closed
  }
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
