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
 * sliding window. Each attempt is its own document, so the count is exact with
 * every instance sharing the database, and needs no atomic read-modify-write
 * (FerretDB, which the tests run on, does not make $inc atomic under concurrency).
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

  /** Counts one attempt; 429 once the user is over the limit in the window. */
  async take(userId: string): Promise<void> {
    if (this.limit === 0) return;
    const now = Date.now();
    await this.attempts.create({ userId, at: new Date(now) });
    const recent = await this.attempts.countDocuments({ userId, at: { $gt: new Date(now - this.windowMs) } });
    if (recent > this.limit) {
      throw new AppError(429, 'Too many payment attempts; try again in a minute', undefined, {
        headers: { 'Retry-After': String(Math.ceil(this.windowMs / 1000)) },
      });
    }
  }

  /** Forgets attempts older than the window (FerretDB has no TTL indexes, so this runs with the sweep). */
  async prune(): Promise<void> {
    await this.attempts.deleteMany({ at: { $lte: new Date(Date.now() - this.windowMs) } });
  }
}
