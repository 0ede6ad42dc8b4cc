import { Attributes, Context, SpanStatusCode } from '@opentelemetry/api';
import { delay } from '../backoff';
import { Logger } from '../logger';
import { EventHandler, EventOutcome, IncomingEvent, MalformedEvent } from './bus';
import { inSpan, ROOT_CONTEXT, SpanKind } from '../tracing';
import { inEventContext } from './event-log-context';

/**
 * The contract every adapter keeps: a handler that returns is acked; one that
 * throws MalformedEvent (or a payload that is not JSON) is logged and acked, so it
 * never comes back; anything else thrown leaves the message unacked, to be
 * delivered again after the ack wait (the service's handlers go through the
 * dead-letter store, which throws only when the database cannot be reached).
 * Every line logged while handling it names the subject and the order
 * (event-log-context.ts) and the trace id of its span (DeliveryTracing). Never throws.
 */
export function handleDelivery(
  handler: EventHandler,
  meta: Omit<IncomingEvent, 'data'>,
  payload: Uint8Array | string,
  logger: Logger,
  tracing: DeliveryTracing,
): Promise<EventOutcome> {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  const data = parseJson(text);
  return inEventContext(meta.subject, data, () =>
    inSpan(`bus.process ${meta.subject}`, { kind: SpanKind.CONSUMER, parent: tracing.parent ?? ROOT_CONTEXT, attributes: deliveryAttributes(tracing.system, meta) }, async (span) => {
      const outcome = await handle(handler, meta, data, logger);
      span.setAttribute('messaging.outcome', outcome);
      if (outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: 'handler failed; left for redelivery' });
      return outcome;
    }),
  );
}

/**
 * How a delivery is traced: one consumer span `bus.process <subject>` per delivery,
 * the root of a new trace, or the child of `parent` when the message carried a
 * `traceparent` (JetStream headers; NATS Streaming has none).
 */
export interface DeliveryTracing {
  /** `messaging.system`: `nats-streaming` or `jetstream`. */
  system: string;
  parent?: Context;
}

function deliveryAttributes(system: string, meta: Omit<IncomingEvent, 'data'>): Attributes {
  return {
    'messaging.system': system,
    'messaging.operation.type': 'process',
    'messaging.destination.name': meta.subject,
    'messaging.nats.sequence': meta.sequence,
    'messaging.nats.redelivered': meta.redelivered,
    ...(meta.deliveries !== undefined ? { 'messaging.nats.deliveries': meta.deliveries } : {}),
  };
}

/** `data` is the parsed payload, or the MalformedEvent that says it is not JSON. */
async function handle(handler: EventHandler, meta: Omit<IncomingEvent, 'data'>, data: unknown, logger: Logger): Promise<EventOutcome> {
  const started = process.hrtime.bigint();
  logger.trace(meta, 'event received');
  let outcome: EventOutcome;
  try {
    if (data instanceof MalformedEvent) throw data;
    await handler({ ...meta, data });
    outcome = 'acked';
  } catch (err) {
    if (err instanceof MalformedEvent) {
      outcome = 'malformed';
      logger.warn({ ...meta, reason: err.message }, 'malformed event acked and dropped');
    } else {
      outcome = 'failed';
      logger.error({ ...meta, err }, 'event handler failed; left for redelivery');
    }
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (outcome !== 'malformed') logger.debug({ ...meta, outcome, ms }, 'event handled');
  return outcome;
}

/** True for the outcomes that are acked: applied, or malformed (it would never apply). */
export function shouldAck(outcome: EventOutcome): boolean {
  return outcome === 'acked' || outcome === 'malformed';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return new MalformedEvent('payload is not JSON');
  }
}

/** The deliveries a bus is handling now, so that closing can wait for them. */
export class InFlight {
  private readonly running = new Set<Promise<void>>();

  get size(): number {
    return this.running.size;
  }

  track(handling: Promise<void>): void {
    const done = handling.finally(() => this.running.delete(done));
    this.running.add(done);
  }

  /** Resolves when one of them ends. */
  anyDone(): Promise<void> {
    return Promise.race(this.running);
  }

  /** Resolves when all have ended, or after `maxMs` milliseconds. */
  settled(maxMs: number): Promise<void> {
    return Promise.race([Promise.allSettled([...this.running]).then(() => undefined), delay(maxMs)]);
  }
}
