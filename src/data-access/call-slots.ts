import { Connection } from 'mongoose';
import { isDuplicateKey } from './db-errors';

/** A taken slot: `_id` is `<endpoint>#<slot number>`; `at` when the slot begins. */
interface SlotDocument {
  _id: string;
  at: Date;
}

/** How long a taken slot is kept, in ms: long past any wait for it (the budget looks 30 s ahead at most). */
const KEPT_MS = 120_000;
/** How often each instance deletes the slots older than KEPT_MS, in ms. */
const PRUNE_EVERY_MS = 10_000;

/**
 * The slots of the Stripe call budget, shared by every instance (stripe/call-budget.ts):
 * one document per slot taken, in `stripe_call_slots`. A slot is taken by inserting
 * it, so two instances can never take the same one: the unique `_id` decides, on
 * MongoDB and on the stand-in alike (a conditional update or `$inc` on one shared
 * document would not: docs/ferretdb.md, "Atomicity under concurrency"). Slots two
 * minutes old are deleted by whichever instance takes slots, every 10 s: not a TTL
 * index, which the stand-in refuses ("expireAfterSeconds: not implemented yet").
 */
export class MongoCallSlots {
  private readonly collection;
  private prunedAt = 0;

  constructor(connection: Connection) {
    this.collection = connection.db!.collection<SlotDocument>('stripe_call_slots');
  }

  async createIndexes(): Promise<void> {
    await this.collection.createIndex({ at: 1 });
  }

  /** Takes slot `slot` of `endpoint` (starting at `at`): false when another caller has it. */
  async take(endpoint: string, slot: number, at: Date): Promise<boolean> {
    this.pruneNowAndThen();
    try {
      await this.collection.insertOne({ _id: `${endpoint}#${slot}`, at });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** Deletes the slots older than KEPT_MS, at most every PRUNE_EVERY_MS; a failure is left for the next time. */
  private pruneNowAndThen(): void {
    const now = Date.now();
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    void this.collection.deleteMany({ at: { $lt: new Date(now - KEPT_MS) } }).catch(() => undefined);
  }
}
