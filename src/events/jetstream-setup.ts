import {
  AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, JetStreamManager, RetentionPolicy, StorageType,
} from '@nats-io/jetstream';

/** JetStream takes durations in nanoseconds. */
const NANOS_PER_MS = 1_000_000;
/** JetStream API error codes (nats-server `server/errors.json`). */
const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;
const CONSUMER_EXISTS = 10148;

export interface StreamSpec {
  /** Stream name: letters, digits, `_` and `-`. */
  name: string;
  /** Subjects the stream must hold; ones missing from an existing stream are added to it. */
  subjects: string[];
  /** Age after which a message is removed, in ms; 0 keeps messages until another limit removes them. */
  maxAgeMs: number;
  /** How long a `Nats-Msg-Id` is remembered to drop a repeat, in ms (JetStream's default is 2 minutes). */
  duplicateWindowMs: number;
}

export type StreamOutcome = 'created' | 'subjects added' | 'existed';

/**
 * Makes sure the stream exists and holds `spec.subjects`. A new stream gets the
 * spec's retention (file storage, limits retention, oldest discarded first). An
 * existing stream is shared by the platform: its limits stay as they are, only
 * missing subjects are added. Concurrent callers (several instances starting at
 * once) converge. Rejects with JetStream's API error when the server refuses.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<StreamOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      const info = await jsm.streams.info(spec.name);
      const subjects = info.config.subjects ?? [];
      const missing = spec.subjects.filter((subject) => !subjects.includes(subject));
      if (missing.length === 0) return 'existed';
      await jsm.streams.update(spec.name, { ...info.config, subjects: [...subjects, ...missing] });
      return 'subjects added';
    } catch (err) {
      if (apiCode(err) !== STREAM_NOT_FOUND) throw err;
    }
    try {
      await jsm.streams.add({
        name: spec.name,
        subjects: spec.subjects,
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        max_age: spec.maxAgeMs * NANOS_PER_MS,
        duplicate_window: spec.duplicateWindowMs * NANOS_PER_MS,
      });
      return 'created';
    } catch (err) {
      // Another instance created it meanwhile (with other subjects): read it again.
      if (apiCode(err) !== STREAM_NAME_IN_USE || attempt > 2) throw err;
    }
  }
}

export interface ConsumerSpec {
  stream: string;
  /** Durable name, shared by every instance of the service: JetStream's queue group. */
  durable: string;
  subjects: string[];
  ackWaitMs: number;
  /** Unacked messages the consumer hands out at once, over all instances together. */
  maxAckPending: number;
}

/**
 * Creates the service's durable pull consumer, or brings an existing one to the
 * spec (ack wait, subjects, max_ack_pending and max_deliver can change; where it
 * starts cannot, and need not: a durable resumes where its acks left it).
 *
 * Explicit acks; delivers all the stream holds on first creation (NATS Streaming's
 * "deliver all available"). `max_deliver` is -1, unlimited, on purpose: the
 * handler throws only when the database cannot be reached, and JetStream stops
 * delivering a message once it reaches max_deliver, so any bound would drop
 * events during a long enough outage. Events that can never be applied are
 * acked and set aside above the bus, which keeps their count.
 */
export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const changeable = {
    ack_wait: spec.ackWaitMs * NANOS_PER_MS,
    max_deliver: -1,
    max_ack_pending: spec.maxAckPending,
    filter_subjects: [...spec.subjects].sort(),
  };
  try {
    await jsm.consumers.add(spec.stream, {
      ...changeable,
      durable_name: spec.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
  } catch (err) {
    if (apiCode(err) !== CONSUMER_EXISTS) throw err;
    await jsm.consumers.update(spec.stream, spec.durable, changeable);
  }
}

function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}
