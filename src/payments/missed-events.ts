import { Logger } from '../logger';
import { StripeEvents } from './apply-stripe-event';
import { PaymentProvider } from './payment-provider';
import { RefundLedger } from './refund-ledger';

/** Where reading Stripe's events list resumes: the creation time of the newest event handled from it. */
export interface EventsCursorStore {
  read(): Promise<Date | null>;
  /** Moves forward only. */
  advance(to: Date): Promise<void>;
}

/** How far back the first read goes: Stripe retries a webhook for up to three days (Stripe, "Webhooks": "Retry behavior"). */
const FIRST_LOOKBACK_MS = 3 * 86_400_000;
/** Events are read again from this long before the cursor: one created in the same second, or listed late, is not missed. */
const OVERLAP_MS = 5 * 60_000;
/** Reads of the list one pass makes at most. */
const MAX_PARTS = 10;

/**
 * Events Stripe could not deliver (the endpoint down longer than Stripe's retries, a
 * delivery lost) are fetched back from Stripe's events list (Stripe, "Process
 * undelivered events": `GET /v1/events`, 30 days) and handed to the same handler as a
 * webhook, which skips the ones handled before. With it, the refunds still pending
 * at Stripe are read again. Nothing the service knows after a charge depends on a webhook arriving.
 */
export class MissedEvents {
  constructor(
    private readonly deps: { provider: PaymentProvider; cursor: EventsCursorStore; events: StripeEvents; ledger: RefundLedger; logger: Logger },
  ) {}

  /** One pass; throws only what the database throws. */
  async run(): Promise<void> {
    const { cursor, logger } = this.deps;
    const from = await cursor.read();
    const since = new Date((from?.getTime() ?? Date.now() - FIRST_LOOKBACK_MS + OVERLAP_MS) - OVERLAP_MS);
    let newest = from;
    let until: Date | undefined;
    // Newest first, so a window with more events than one read takes is read back in parts.
    for (let part = 0; part < MAX_PARTS; part += 1) {
      const read = await this.readAndHandle(since, until);
      if (!read) return; // not read, or an event not applied: the cursor keeps its place for the next pass
      if (read.newest && (!newest || read.newest > newest)) newest = read.newest;
      if (read.complete) {
        if (newest && newest !== from) await cursor.advance(newest);
        break;
      }
      until = read.oldest;
      if (part === MAX_PARTS - 1) logger.warn({ since, until }, 'more events than one pass reads; the next pass reads them again');
    }
    await this.deps.ledger.settlePending(20);
  }

  private async readAndHandle(since: Date, until?: Date): Promise<{ newest?: Date; oldest?: Date; complete: boolean } | null> {
    const { provider, events, logger } = this.deps;
    const listed = await provider.eventsBetween(since, until);
    if (listed.kind !== 'listed') {
      logger.warn({ reason: listed.message }, "Stripe's events list not read; will read it again");
      return null;
    }
    let handled = 0;
    for (const event of listed.events) {
      try {
        if ((await events.apply(event)) === 'handled') handled += 1;
      } catch (err) {
        logger.warn({ err, eventId: event.id, type: event.type }, 'event from the events list not applied; will try again');
        return null;
      }
    }
    if (handled > 0) logger.warn({ handled, since }, 'events Stripe did not deliver were handled from its events list');
    const times = listed.events.flatMap((event) => (event.createdAt ? [event.createdAt] : []));
    return { newest: times.at(-1), oldest: times[0], complete: listed.complete };
  }
}
