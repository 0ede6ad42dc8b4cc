import { createHash } from 'node:crypto';
import { Connection, Model } from 'mongoose';
import { doublingDelayMs } from '../backoff';
import { isDatabaseUnavailable, isDuplicateKey } from '../data-access/db-errors';
import { DeadLetter, deadLetterModel, DeadLetterState } from '../data-access/dead-letter-model';
import { createLogger, Logger } from '../logger';
import { EventHandler, IncomingEvent, MalformedEvent } from './bus';

export interface DeadLetterOptions {
  /** Attempts in all (the delivery, then retries from here) before an event is parked. */
  maxDeliveries: number;
  /** First wait before a retry, in milliseconds; it doubles each attempt, up to 5 minutes. */
  retryBaseMs: number;
  /** Told of each event set aside, applied on a retry, or parked: for metrics. */
  onOutcome?: (subject: string, outcome: 'retrying' | 'applied' | 'parked') => void;
}

const MAX_RETRY_WAIT_MS = 5 * 60_000;
/** How long one instance holds a dead letter while it retries it. */
const RETRY_LEASE_MS = 30_000;

/**
 * The dead-letter store: wraps each event handler so that nothing it fails on
 * blocks the subscription (no message is left unacked to be redelivered forever,
 * holding one of the broker's in-flight slots), and retries what it set aside
 * a bounded number of times. Only two failures still leave a message unacked:
 * the database cannot be reached (nothing can be stored, so the broker keeps it),
 * and a malformed payload, which the bus logs and acks as before.
 */
export class DeadLetters {
  private readonly letters: Model<DeadLetter>;
  private readonly handlers = new Map<string, (data: unknown) => Promise<void>>();

  constructor(
    connection: Connection,
    private readonly options: DeadLetterOptions,
    private readonly logger: Logger,
  ) {
    this.letters = deadLetterModel(connection);
  }

  /** The store as the operator's CLI (scripts/payments-cli.js) uses it: list, replay, park; it guards, retries and logs nothing. */
  static forOperator(connection: Connection): DeadLetters {
    return new DeadLetters(connection, { maxDeliveries: 1, retryBaseMs: 0 }, createLogger('silent'));
  }

  async createIndexes(): Promise<void> {
    await this.letters.createIndexes();
  }

  /** The dead letters in `state` (`all`: in any), the oldest failure first, at most `limit`. */
  list(state: DeadLetterState | 'all' = DeadLetterState.Parked, limit = 200): Promise<DeadLetter[]> {
    return this.letters.find(state === 'all' ? {} : { state }).sort({ firstFailedAt: 1 }).limit(limit).lean<DeadLetter[]>().exec();
  }

  /**
   * Hands parked events back to be retried: the one with `id`, or every parked one.
   * Each starts its attempts afresh and is due at once, so the next sweep of a running
   * instance retries it. Resolves to how many were handed back; a letter that is not
   * parked is left as it is.
   */
  async replay(which: { id: string } | 'all'): Promise<number> {
    const parked = { state: DeadLetterState.Parked };
    const filter = which === 'all' ? parked : { ...parked, _id: which.id };
    const result = await this.letters.updateMany(filter, { $set: { state: DeadLetterState.Retrying, attempts: 0, nextAttemptAt: new Date() } });
    return result.modifiedCount;
  }

  /** Parks a letter for an operator, `reason` saying why: it is not retried again until replayed. */
  async park(id: string, reason: string, at = new Date()): Promise<void> {
    await this.letters.updateOne({ _id: id }, { $set: { state: DeadLetterState.Parked, nextAttemptAt: null, reason, lastFailedAt: at } });
  }

  /**
   * The bus handler for `subject`: applies the event with `apply`; if that fails
   * for any reason but the two above, stores the event to retry and returns, so
   * the bus acks it. Rejects only when the event must stay unacked.
   */
  guard(subject: string, apply: (data: unknown) => Promise<void>): EventHandler {
    this.handlers.set(subject, apply);
    return async (event: IncomingEvent) => {
      try {
        await apply(event.data);
      } catch (err) {
        if (err instanceof MalformedEvent || isDatabaseUnavailable(err)) throw err;
        await this.setAside(event, err);
      }
    };
  }

  /** Retries every dead letter that is due, once each; for the service's sweep. */
  async retryDue(): Promise<void> {
    for (;;) {
      const now = Date.now();
      const letter = await this.letters
        .findOneAndUpdate(
          { state: DeadLetterState.Retrying, nextAttemptAt: { $lte: new Date(now) } },
          { $set: { nextAttemptAt: new Date(now + RETRY_LEASE_MS) }, $inc: { attempts: 1 } },
          { sort: { nextAttemptAt: 1 }, returnDocument: 'after' },
        )
        .lean<DeadLetter>();
      if (!letter) return;
      await this.retry(letter);
    }
  }

  /** How many events are parked, waiting for an operator. */
  parked(): Promise<number> {
    return this.letters.countDocuments({ state: DeadLetterState.Parked });
  }

  private async setAside(event: IncomingEvent, err: unknown): Promise<void> {
    const now = new Date();
    const reason = describe(err);
    const parkNow = this.options.maxDeliveries <= 1;
    const payload = JSON.stringify(event.data);
    try {
      await this.letters.create({
        _id: letterId(event.subject, event.sequence, payload),
        subject: event.subject,
        sequence: event.sequence,
        payload,
        reason,
        state: parkNow ? DeadLetterState.Parked : DeadLetterState.Retrying,
        attempts: 1,
        nextAttemptAt: parkNow ? null : new Date(now.getTime() + this.retryWaitMs(1)),
        firstFailedAt: now,
        lastFailedAt: now,
      });
    } catch (err) {
      // Redelivered (its ack was late or lost): it is set aside already.
      if (isDuplicateKey(err)) return;
      throw err;
    }
    const log = { subject: event.subject, sequence: event.sequence, orderId: orderIdOf(event.data), reason };
    if (parkNow) {
      this.logger.error(log, 'event could not be applied: parked for an operator');
      this.options.onOutcome?.(event.subject, 'parked');
    } else {
      this.logger.warn(log, 'event could not be applied: set aside to retry');
      this.options.onOutcome?.(event.subject, 'retrying');
    }
  }

  private async retry(letter: DeadLetter): Promise<void> {
    const log = { subject: letter.subject, sequence: letter.sequence, attempt: letter.attempts, deadLetterId: String(letter._id) };
    const apply = this.handlers.get(letter.subject);
    try {
      if (!apply) throw new Error(`no handler for ${letter.subject}`);
      const data: unknown = JSON.parse(letter.payload);
      Object.assign(log, { orderId: orderIdOf(data) });
      await apply(data);
    } catch (err) {
      if (isDatabaseUnavailable(err)) return; // the lease runs out and the next sweep tries again
      const reason = describe(err);
      const now = new Date();
      if (letter.attempts >= this.options.maxDeliveries || err instanceof MalformedEvent) {
        await this.park(letter._id, reason, now);
        this.logger.error({ ...log, reason }, 'event could not be applied: parked for an operator');
        this.options.onOutcome?.(letter.subject, 'parked');
      } else {
        const retryInMs = this.retryWaitMs(letter.attempts);
        await this.letters.updateOne(
          { _id: letter._id },
          { $set: { nextAttemptAt: new Date(now.getTime() + retryInMs), reason, lastFailedAt: now } },
        );
        this.logger.warn({ ...log, reason, retryInMs }, 'set-aside event failed again; will retry');
      }
      return;
    }
    await this.letters.deleteOne({ _id: letter._id });
    this.logger.info(log, 'set-aside event applied');
    this.options.onOutcome?.(letter.subject, 'applied');
  }

  private retryWaitMs(attempts: number): number {
    return doublingDelayMs(attempts, this.options.retryBaseMs, MAX_RETRY_WAIT_MS);
  }
}

function letterId(subject: string, sequence: number, payload: string): string {
  return createHash('sha256').update(`${subject}\0${sequence}\0${payload}`).digest('hex').slice(0, 24);
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The order an event is about, for the logs: both order events carry it as `id`. */
function orderIdOf(data: unknown): string | undefined {
  const id = (data as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
}
