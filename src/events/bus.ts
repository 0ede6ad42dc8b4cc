/** What the service needs from a message bus; one adapter per broker (NATS Streaming, JetStream) implements it. */

export interface IncomingEvent {
  subject: string;
  sequence: number;
  redelivered: boolean;
  /**
   * How many times the broker has delivered this message, this delivery included
   * (JetStream's delivery count); absent where the broker does not tell (NATS Streaming).
   */
  deliveries?: number;
  /** The payload, already parsed from JSON. */
  data: unknown;
}

/**
 * Returning acks the message. Throwing leaves it unacked so the bus delivers it
 * again after the ack wait, except for MalformedEvent, which is logged and acked:
 * a message that can never be understood must not come back forever. The
 * service's handlers go through the dead-letter store (dead-letters.ts), which
 * throws only when the database cannot be reached.
 */
export type EventHandler = (event: IncomingEvent) => Promise<void>;

export interface PublishOptions {
  /**
   * A stable id for this event (the same on every retry of the same event).
   * A broker that deduplicates (JetStream's `Nats-Msg-Id`) drops a repeat within
   * its window; NATS Streaming ignores it.
   */
  messageId?: string;
}

export interface EventBus {
  /** Resolves once the broker has stored the event; rejects when it did not (the caller retries). */
  publish(subject: string, data: object, options?: PublishOptions): Promise<void>;
  /** Durable queue subscription with manual ack, from the first message kept. */
  subscribe(subject: string, handler: EventHandler): void;
  /** True while connected and every subscription is in place. */
  readonly ready: boolean;
  /** Closes the connection; durable subscriptions stay for the next start. */
  close(): Promise<void>;
}

/** What became of one delivered message; `acked` and `malformed` are acked, `failed` is left for redelivery. */
export type EventOutcome = 'acked' | 'malformed' | 'failed';

/** The payload can never be handled: log it and ack it. */
export class MalformedEvent extends Error {
  override name = 'MalformedEvent';
}

/** The settings both broker adapters take. Times in milliseconds. */
export interface BusOptions {
  url: string;
  /** The client's name at the server (the pod name). */
  clientId: string;
  /** Queue group and durable name (NATS Streaming) or durable consumer (JetStream): every instance shares it. */
  queueGroup: string;
  ackWaitMs: number;
  /** Messages this process handles at once (default 64): a backlog is taken in steps. */
  maxInFlight?: number;
  /** How long a publish waits for the server's ack. */
  publishTimeoutMs?: number;
  /** Pings: how a dead connection or session is noticed. */
  pingIntervalMs?: number;
  maxPingsOut?: number;
  connectTimeoutMs?: number;
  /**
   * Told of every message handled, for metrics, with the broker's timestamp of the
   * message (when it was stored: NATS Streaming's and JetStream's own), when known.
   */
  onHandled?: (subject: string, outcome: EventOutcome, publishedAt?: Date) => void;
}
