import { randomInt } from 'node:crypto';
import { AppError } from '../errors';

/**
 * A card-testing defence: at most `limit` payment attempts per user in each
 * window (a minute, aligned to the clock), across every instance.
 *
 * An attempt is counted by the document that claims the order: its
 * `attemptSlot` is one of the user's `limit` slots for the current window,
 * `<userId>:<window start ms>:<k>`, under a unique index (payment-model.ts). So
 * the limit costs no command of its own on the way to Stripe, holds under any
 * concurrency (an insert under a unique index is atomic, on MongoDB and on the
 * FerretDB stand-in alike, where `$inc` is not), and needs no pruning: a slot of
 * a past window is never asked for again.
 *
 * What counts: every attempt that gets as far as claiming a payable order,
 * whatever Stripe then says (a declined card keeps its slot). Requests refused
 * before that (unknown order, another user's, already paid) never reach Stripe,
 * so they test no card and take no slot; nor does a refused attempt, so retrying
 * while locked out never pushes the end of the lock further away. At a window's
 * edge a user may make up to `limit` attempts on each side of it.
 */
export class AttemptLimit {
  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
  ) {}

  /**
   * The slots an attempt may take at `now`, in a random order (so concurrent
   * attempts of one user seldom try the same one first). With the limit off,
   * the one slot is the payment's own id, which nobody else takes.
   */
  slots(userId: string, paymentId: string, now = Date.now()): string[] {
    if (this.limit === 0) return [`unlimited:${paymentId}`];
    const windowStart = now - (now % this.windowMs);
    const keys = Array.from({ length: this.limit }, (_, k) => `${userId}:${windowStart}:${k}`);
    for (let i = keys.length - 1; i > 0; i -= 1) {
      const j = randomInt(i + 1);
      [keys[i], keys[j]] = [keys[j], keys[i]];
    }
    return keys;
  }

  /**
   * Every slot of the window is taken.
   * @throws AppError 429 with a true Retry-After: seconds until the next window opens.
   */
  refuse(now = Date.now()): never {
    const seconds = Math.max(1, Math.ceil((this.windowMs - (now % this.windowMs)) / 1000));
    throw new AppError(429, `Too many payment attempts; try again in ${seconds} s`, undefined, {
      headers: { 'Retry-After': String(seconds) },
    });
  }
}
