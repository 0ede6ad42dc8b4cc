import { isDuplicateKey } from './db-errors';

/** The part of a MongoDB driver collection this needs (`Collection#insertMany`). */
export interface InsertManyTarget<T> {
  insertMany(docs: T[], options: { ordered: false }): Promise<unknown>;
}

/** What became of one document: stored, or refused by a unique index (the same `_id` is stored already). */
export type InsertOutcome = 'inserted' | 'duplicate';

/** A document's own error from a bulk insert: the driver's `MongoBulkWriteError#writeErrors` entries. */
interface WriteErrorLike {
  index: number;
  code?: number;
  errmsg?: string;
}

/**
 * Coalesces the inserts asked for within one turn of the event loop into
 * unordered `insertMany` commands of at most `maxBatch` documents, and answers
 * every caller for its own document. A backlog of events delivered together is
 * written in a few commands instead of one per event: on FerretDB over
 * PostgreSQL an `insertMany` of 16 orders stores about 11,000 a second against
 * 950–2,300 for 64 concurrent `insertOne`s (`node bench/batch-inserts.js`); on
 * MongoDB it saves the round trips.
 *
 * Why 16 and not more: when a batch meets a duplicate key (an order whose
 * cancel came first and left a tombstone), FerretDB stores that batch one
 * document at a time in one connection, and the cancels racing for the same
 * orders wait on it; small batches keep several in flight (the bus hands out 64
 * events at a time). In the replay benchmark (10,000 orders created and
 * cancelled, NATS Streaming, busy machine) the creates took 28.4 s one insertOne
 * each, 52.6 s in batches of up to 256, 21.8 s in batches of up to 16 (README,
 * Many writes in one command). The replica also keeps duplicates out of the
 * batches where it can (replicate-order.ts, the tombstone hint).
 *
 * Unordered: a document refused does not stop the rest (MongoDB's `ordered:
 * false`, which FerretDB honours for inserts). Each caller's promise resolves
 * `'duplicate'` for a duplicate-key error on its document (code 11000), rejects
 * with its document's own write error for any other, and rejects with the
 * command's error when the command as a whole failed (the database unreachable,
 * a timeout): then none of the batch is known to be stored, and each caller
 * fails as it would for a lone insert (its event is redelivered, and a
 * redelivery that finds its document stored answers `'duplicate'`).
 */
export class InsertBatches<T> {
  private queued: Queued<T>[] = [];
  private scheduled = false;

  constructor(
    private readonly target: InsertManyTarget<T>,
    private readonly maxBatch = 16,
  ) {}

  /** Stores `doc` with the others asked for in this turn; see the class comment for the outcomes. */
  insert(doc: T): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.queued.push({ doc, settle: (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)) });
      if (this.queued.length >= this.maxBatch) this.send(this.queued.splice(0));
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          if (this.queued.length > 0) this.send(this.queued.splice(0));
        });
      }
    });
  }

  private send(batch: Queued<T>[]): void {
    // Through a promise chain, so that even a synchronous throw settles every caller.
    Promise.resolve(batch.map((entry) => entry.doc)).then((docs) => this.target.insertMany(docs, { ordered: false })).then(
      () => batch.forEach((entry) => entry.settle('inserted')),
      (err: unknown) => {
        const listed = (err as { writeErrors?: WriteErrorLike[] | WriteErrorLike } | null | undefined)?.writeErrors;
        const writeErrors = listed === undefined ? [] : Array.isArray(listed) ? listed : [listed];
        if (writeErrors.length === 0) {
          // The command failed as a whole (or only its write concern did): nothing is known stored.
          const failure = err instanceof Error ? err : new Error(String(err));
          batch.forEach((entry) => entry.settle(failure));
          return;
        }
        const byIndex = new Map(writeErrors.map((e) => [e.index, e]));
        batch.forEach((entry, index) => {
          const own = byIndex.get(index);
          if (!own) entry.settle('inserted');
          else if (isDuplicateKey(own)) entry.settle('duplicate');
          else entry.settle(Object.assign(new Error(`insert refused: ${own.errmsg ?? 'code ' + String(own.code)}`), { code: own.code }));
        });
      },
    );
  }
}

interface Queued<T> {
  doc: T;
  settle: (outcome: InsertOutcome | Error) => void;
}
