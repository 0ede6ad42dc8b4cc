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
 * every caller for its own document: a backlog of events is written in a few
 * commands instead of one per event. Batches stay small (16) because FerretDB
 * stores a batch that meets a duplicate key one document at a time; the figures
 * are in docs/ferretdb.md ("Many writes in one command").
 *
 * Unordered: a document refused does not stop the rest. Each caller's promise
 * resolves `'duplicate'` for a duplicate-key error on its document (code 11000),
 * rejects with its document's own write error for any other, and rejects with
 * the command's error when the command as a whole failed: then none of the batch
 * is known to be stored, and each caller fails as a lone insert would.
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
