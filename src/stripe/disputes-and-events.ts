import Stripe from 'stripe';
import { NoAnswer, ProviderDispute, ProviderEvent } from '../payments/payment-provider';
import { noDefiniteAnswer } from './errors';
import { ACTED_ON, toProviderEvent } from './webhook-events';

/** How many events one read of the events list takes at most (100 a page). */
const EVENTS_READ_LIMIT = 2000;

/** Disputes and the events list: what is read back from Stripe after the charge. */
export class StripeLedgerReads {
  constructor(private readonly stripe: Stripe) {}

  /** API "Retrieve a dispute"; its balance transactions say what was withdrawn and reinstated. */
  async dispute(disputeId: string): Promise<{ kind: 'found'; dispute: ProviderDispute } | NoAnswer> {
    try {
      const dispute = await this.stripe.disputes.retrieve(disputeId);
      const moved = (sign: 1 | -1) =>
        (dispute.balance_transactions ?? []).filter((txn) => Math.sign(txn.amount) === sign).reduce((sum, txn) => sum + Math.abs(txn.amount), 0);
      return {
        kind: 'found',
        dispute: {
          disputeId: dispute.id,
          chargeId: typeof dispute.charge === 'string' ? dispute.charge : dispute.charge.id,
          amount: dispute.amount,
          currency: dispute.currency,
          reason: dispute.reason,
          status: dispute.status,
          fundsWithdrawn: moved(-1),
          fundsReinstated: moved(1),
        },
      };
    } catch (err) {
      return noDefiniteAnswer(err); // a failed read says nothing about what exists
    }
  }

  /**
   * API "List all events" with `types` (the ones this service acts on, at most 20) and
   * `created[gte]`/`created[lte]`: newest first, so all are read, then handed back oldest first.
   */
  async eventsBetween(since: Date, until?: Date): Promise<{ kind: 'listed'; events: ProviderEvent[]; complete: boolean } | NoAnswer> {
    try {
      const events: ProviderEvent[] = [];
      let complete = true;
      const created = { gte: Math.floor(since.getTime() / 1000), ...(until ? { lte: Math.floor(until.getTime() / 1000) } : {}) };
      const list = this.stripe.events.list({ types: [...ACTED_ON], created, limit: 100 });
      for await (const event of list) {
        if (events.length >= EVENTS_READ_LIMIT) {
          complete = false;
          break;
        }
        events.push({ ...toProviderEvent(event), createdAt: new Date(event.created * 1000) });
      }
      return { kind: 'listed', events: events.reverse(), complete };
    } catch (err) {
      return noDefiniteAnswer(err); // a failed read says nothing about what exists
    }
  }
}
