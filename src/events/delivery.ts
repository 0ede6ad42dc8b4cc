import { Logger } from '../logger';
import { EventHandler, IncomingEvent, MalformedEvent } from './bus';
import { inEventContext } from './event-log-context';

/** What became of one delivered message; `acked` and `malformed` are acked, `failed` is left for redelivery. */
export type EventOutcome = 'acked' | 'malformed' | 'failed';

/**
 * The contract every adapter keeps: a handler that returns is acked; one that
 * throws MalformedEvent (or a payload that is not JSON) is logged and acked, so it
 * never comes back; anything else thrown leaves the message unacked, to be
 * delivered again after the ack wait (the service's handlers go through the
 * dead-letter store, which throws only when the database cannot be reached).
 * Every line logged while handling it names the subject and the order
 * (event-log-context.ts). Never throws.
 */
export function handleDelivery(
  handler: EventHandler,
  meta: Omit<IncomingEvent, 'data'>,
  payload: Uint8Array | string,
  logger: Logger,
): Promise<EventOutcome> {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  return inEventContext(meta.subject, text, () => handle(handler, meta, text, logger));
}

async function handle(handler: EventHandler, meta: Omit<IncomingEvent, 'data'>, text: string, logger: Logger): Promise<EventOutcome> {
  const started = process.hrtime.bigint();
  logger.trace(meta, 'event received');
  let outcome: EventOutcome;
  try {
    await handler({ ...meta, data: parseJson(text) });
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
    throw new MalformedEvent('payload is not JSON');
  }
}
