import { Connection, Model, Schema } from 'mongoose';
import { AppError } from '../errors';

interface Attempt {
  userId: string;
  at: Date;
}

const schema = new Schema<Attempt>(
  { userId: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: 'payment_attempts', versionKey: false },
);
schema.index({ userId: 1, at: 1 });
schema.index({ at: 1 });

/**
 * A card-testing defence: at most `limit` payment attempts per user in any
 * sliding window. Each attempt is its own document, so the limit holds with every
 * instance sharing the database and needs no atomic read-modify-write (FerretDB,
 * which the tests run on, does not make $inc atomic under concurrency).
 *
 * An attempt is stored, then the user's attempts in the window are counted, its
 * own and any concurrent ones included; over the limit it is refused and its
 * document deleted, so a refused attempt never extends the wait. The last of any
 * set of admitted attempts to count saw all the others, so more than `limit` are
 * never admitted; a tight race can refuse one that would have fitted.
 */
export class AttemptLimit {
  private readonly attempts: Model<Attempt>;

  constructor(
    connection: Connection,
    private readonly limit: number,
    private readonly windowMs = 60_000,
  ) {
    this.attempts = connection.model<Attempt>('PaymentAttempt', schema);
  }

  async createIndexes(): Promise<void> {
    await this.attempts.createIndexes();
  }

  /** Counts one attempt; 429 with a true Retry-After once the user is over the limit in the window. */
  async take(userId: string): Promise<void> {
    if (this.limit === 0) return;
    const now = Date.now();
    const inWindow = { userId, at: { $gt: new Date(now - this.windowMs) } };
    const attempt = await this.attempts.create({ userId, at: new Date(now) });
    const counted = await this.attempts.countDocuments(inWindow);
    if (counted <= this.limit) return;

    await this.attempts.deleteOne({ _id: attempt._id });
    // A new attempt fits once all but limit - 1 of the counted ones have left the window.
    const counting = await this.attempts.find(inWindow, { at: 1 }).sort({ at: 1 }).lean();
    const freeing = counting[Math.max(0, counting.length - this.limit)];
    const waitMs = freeing ? freeing.at.getTime() + this.windowMs - Date.now() : 0;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new AppError(429, `Too many payment attempts; try again in ${seconds} s`, undefined, {
      headers: { 'Retry-After': String(seconds) },
    });
  }

  /** Forgets attempts older than the window (FerretDB has no TTL indexes, so this runs with the sweep). */
  async prune(): Promise<void> {
    await this.attempts.deleteMany({ at: { $lte: new Date(Date.now() - this.windowMs) } });
  }
}
