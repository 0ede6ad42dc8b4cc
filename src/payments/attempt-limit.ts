import { Connection, Model, Schema } from 'mongoose';
import { AppError } from '../errors';

interface AttemptWindow {
  _id: string;
  count: number;
  expiresAt: Date;
}

const schema = new Schema<AttemptWindow>(
  { _id: String, count: { type: Number, required: true }, expiresAt: { type: Date, required: true } },
  { collection: 'payment_attempts', versionKey: false },
);

schema.index({ expiresAt: 1 });

const DUPLICATE_KEY = 11000;

/**
 * A card-testing defence: at most `limit` payment attempts per user per fixed
 * window. Counted in MongoDB, so every instance sharing the database shares it.
 */
export class AttemptLimit {
  private readonly windows: Model<AttemptWindow>;

  constructor(
    connection: Connection,
    private readonly limit: number,
    private readonly windowMs = 60_000,
  ) {
    this.windows = connection.model<AttemptWindow>('AttemptWindow', schema);
  }

  async createIndexes(): Promise<void> {
    await this.windows.createIndexes();
  }

  /** Counts one attempt; 429 once the user is over the limit in this window. */
  async take(userId: string): Promise<void> {
    if (this.limit === 0) return;
    const window = Math.floor(Date.now() / this.windowMs);
    const count = await this.increment(`${userId}:${window}`, new Date((window + 1) * this.windowMs));
    if (count > this.limit) {
      throw new AppError(429, 'Too many payment attempts; try again in a minute');
    }
  }

  /** Drops windows that are over (FerretDB has no TTL indexes, so this runs with the sweep). */
  async prune(): Promise<void> {
    await this.windows.deleteMany({ expiresAt: { $lt: new Date() } });
  }

  private async increment(id: string, expiresAt: Date, retried = false): Promise<number> {
    try {
      const window = await this.windows
        .findOneAndUpdate({ _id: id }, { $inc: { count: 1 }, $setOnInsert: { expiresAt } }, { upsert: true, returnDocument: 'after' })
        .lean();
      return window!.count;
    } catch (err) {
      // Two first attempts raced to create the window: the loser increments the winner's.
      if ((err as { code?: number }).code === DUPLICATE_KEY && !retried) return this.increment(id, expiresAt, true);
      throw err;
    }
  }
}
