import { jetstream, JetStreamClient, JetStreamManager, jetstreamManager, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { delay, retryUntilDone } from '../backoff';
import { Logger } from '../logger';
import { extractTraceHeaders, injectTraceHeaders } from '../tracing';
import { BusOptions, EventBus, EventHandler, PublishOptions } from './bus';
import { handleDelivery, InFlight, shouldAck } from './delivery';
import { ensureConsumer, ensureStream, StreamSpec } from './jetstream-setup';

export interface JetStreamBusOptions extends BusOptions {
  /** The stream holding the platform's subjects; created if missing (see ensureStream). */
  stream: StreamSpec;
  /** Unacked messages the consumer hands out over all instances together (default 1024). */
  maxAckPending?: number;
}

type NatsConnection = Awaited<ReturnType<typeof connect>>;

const RETRY_DELAY_MS = { firstMs: 250, maxMs: 5000 };
/** Consumer notifications after which the stream or consumer must be made again (server lost its store). */
const MISSING = new Set(['consumer_not_found', 'consumer_deleted', 'stream_not_found']);

/**
 * EventBus over NATS JetStream, with the same contract as the NATS Streaming
 * adapter: a handler that returns is acked, one that throws is left unacked and
 * delivered again after the ack wait, a malformed message is logged and acked.
 *
 * One durable pull consumer per service (named by the queue group) over all
 * subscribed subjects: every instance pulls from it, and JetStream hands each
 * message to one of them, as a NATS Streaming queue group did. Pull rather than
 * a push consumer with a deliver group: each process asks for what it can take
 * (at most `maxInFlight`), nothing is pushed at a process that is busy or gone,
 * and it is the consumer kind NATS recommends for new work-queue consumers.
 *
 * Reconnects by itself (the client retries forever); after a reconnect it makes
 * sure the stream and the consumer still exist, so a server that lost its store
 * gets them back.
 */
export class JetStreamBus implements EventBus {
  private readonly handlers = new Map<string, EventHandler>();
  private readonly inFlight = new InFlight();
  private readonly js: JetStreamClient;
  private messages?: ConsumerMessages;
  /** Subjects the consumer was last set up with. */
  private consumed = new Set<string>();
  private consuming?: Promise<void>;
  private setup?: Promise<void>;
  private closing = false;
  private linked = true;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly options: JetStreamBusOptions,
    private readonly logger: Logger,
  ) {
    this.js = jetstream(nc, { timeout: options.publishTimeoutMs ?? 5000 });
    void this.watchConnection();
  }

  /** Connects and makes sure the stream exists; start-up fails if the server cannot be reached. */
  static async connect(options: JetStreamBusOptions, logger: Logger): Promise<JetStreamBus> {
    const log = logger.child({ component: 'jetstream' });
    const nc = await connect({
      servers: options.url,
      name: options.clientId,
      timeout: options.connectTimeoutMs ?? 5000,
      pingInterval: options.pingIntervalMs ?? 5000,
      maxPingOut: options.maxPingsOut ?? 3,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    try {
      const jsm = await jetstreamManager(nc, { timeout: options.publishTimeoutMs ?? 5000 });
      const outcome = await ensureStream(jsm, options.stream);
      log.info({ url: options.url, stream: options.stream.name, outcome }, 'connected to NATS JetStream');
      return new JetStreamBus(nc, jsm, options, log);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  get ready(): boolean {
    return this.linked && this.messages !== undefined && [...this.handlers.keys()].every((subject) => this.consumed.has(subject));
  }

  subscribe(subject: string, handler: EventHandler): void {
    this.handlers.set(subject, handler);
    // Subscriptions made together (one tick) set the consumer up once.
    queueMicrotask(() => this.refresh());
  }

  /**
   * Sends `Nats-Msg-Id: options.messageId` when given: the stream drops a repeat within its
   * duplicate window. Sends the active span's W3C `traceparent` header when traced, so the
   * consumer continues the trace (the body, the contract's, is unchanged).
   */
  async publish(subject: string, data: object, options?: PublishOptions): Promise<void> {
    const traceHeaders = headers();
    injectTraceHeaders(traceHeaders);
    const ack = await this.js.publish(subject, JSON.stringify(data), {
      ...(options?.messageId ? { msgID: options.messageId } : {}),
      ...(traceHeaders.keys().length > 0 ? { headers: traceHeaders } : {}),
    });
    if (ack.duplicate) this.logger.info({ subject, messageId: options?.messageId, seq: ack.seq }, 'duplicate publish dropped by the stream');
  }

  /** Stops pulling, lets handlers in progress finish (bounded), then drains the connection; the durable consumer remains. */
  async close(drainMs = 5000): Promise<void> {
    this.closing = true;
    await this.messages?.close().catch(() => undefined);
    await this.inFlight.settled(drainMs);
    await Promise.race([this.nc.drain().catch(() => undefined), delay(2000)]);
    if (!this.nc.isClosed()) await this.nc.close();
  }

  /** (Re)creates the consumer for the current subjects and starts pulling if not yet. */
  private refresh(): void {
    if (this.closing || this.setup) return;
    this.setup = this.setUp().finally(() => {
      this.setup = undefined;
      if ([...this.handlers.keys()].some((subject) => !this.consumed.has(subject))) this.refresh();
    });
  }

  private setUp(): Promise<void> {
    return retryUntilDone(
      async () => {
        const subjects = [...this.handlers.keys()];
        await ensureStream(this.jsm, this.options.stream);
        const { stream, queueGroup: durable, ackWaitMs, maxAckPending = 1024 } = this.options;
        await ensureConsumer(this.jsm, { stream: stream.name, durable, subjects, ackWaitMs, maxAckPending });
        this.consumed = new Set(subjects);
        this.logger.info({ subjects, consumer: durable }, 'subscribed');
        this.consuming ??= this.consume().finally(() => (this.consuming = undefined));
      },
      { ...RETRY_DELAY_MS, stopped: () => this.closing, onFailure: (err, retryInMs) => this.logger.warn({ err, retryInMs }, 'could not set up the JetStream consumer') },
    );
  }

  private async consume(): Promise<void> {
    const maxInFlight = this.options.maxInFlight ?? 64;
    while (!this.closing) {
      try {
        const consumer = await this.js.consumers.get(this.options.stream.name, this.options.queueGroup);
        const messages = await consumer.consume({ max_messages: maxInFlight });
        this.messages = messages;
        void this.watchConsumer(messages);
        for await (const message of messages) {
          while (this.inFlight.size >= maxInFlight) await this.inFlight.anyDone();
          this.inFlight.track(this.deliver(message));
        }
      } catch (err) {
        if (!this.closing) this.logger.warn({ err }, 'pulling from JetStream failed; retrying');
      }
      this.messages = undefined;
      if (!this.closing) await delay(RETRY_DELAY_MS.firstMs);
    }
  }

  private async watchConsumer(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (MISSING.has(status.type)) {
        this.logger.warn({ status }, 'JetStream consumer or stream missing; setting them up again');
        this.refresh();
      } else if (status.type === 'heartbeats_missed') this.logger.warn({ count: status.count }, 'JetStream heartbeats missed');
    }
  }

  private async watchConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        this.linked = false;
        this.logger.warn('disconnected from NATS, reconnecting');
      } else if (status.type === 'reconnect') {
        this.linked = true;
        this.logger.info('reconnected to NATS');
        this.refresh(); // a server restarted without its store has lost the stream and the consumer
      }
    }
  }

  private async deliver(message: JsMsg): Promise<void> {
    const meta = {
      subject: message.subject,
      sequence: message.seq,
      redelivered: message.redelivered,
      deliveries: message.info.deliveryCount,
    };
    const handler = this.handlers.get(message.subject);
    if (!handler) return; // a subject no longer subscribed: another instance with it will take the message
    // The publisher's `traceparent`, when it sent one: the handling continues its trace.
    const outcome = await handleDelivery(handler, meta, message.data, this.logger, { system: 'jetstream', parent: extractTraceHeaders(message.headers) });
    if (shouldAck(outcome)) message.ack();
    this.options.onHandled?.(meta.subject, outcome, new Date(Number(message.info.timestampNanos) / 1e6));
  }
}
