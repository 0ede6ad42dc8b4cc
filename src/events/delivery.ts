import { Logger } from '../logger';
import { EventHandler, IncomingEvent, MalformedEvent, RetryLater } from './bus';

/** What became of one delivered message; `acked` and `malformed` are acked, the others left for redelivery. */
export type EventOutcome = 'acked' | 'malformed' | 'retry' | 'failed';

/**
 * The contract every adapter keeps: a handler that returns is acked; one that
 * throws MalformedEvent (or a payload that is not JSON) is logged and acked, so it
 * never comes back; anything else thrown leaves the message unacked, to be
 * delivered again after the ack wait. Never throws.
 */
export async function handleDelivery(
  handler: EventHandler,
  meta: Omit<IncomingEvent, 'data'>,
  payload: Uint8Array | string,
  logger: Logger,
): Promise<EventOutcome> {
  const started = process.hrtime.bigint();
  logger.trace(meta, 'event received');
  let outcome: EventOutcome;
  try {
    await handler({ ...meta, data: parseJson(payload) });
    outcome = 'acked';
  } catch (err) {
    if (err instanceof MalformedEvent) {
      outcome = 'malformed';
      logger.warn({ ...meta, reason: err.message }, 'malformed event acked and dropped');
    } else if (err instanceof RetryLater) {
      outcome = 'retry';
      logger.info({ ...meta, reason: err.message }, 'event left for redelivery');
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

function parseJson(payload: Uint8Array | string): unknown {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new MalformedEvent('payload is not JSON');
  }
}
