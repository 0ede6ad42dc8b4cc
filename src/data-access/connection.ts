import mongoose, { Connection } from 'mongoose';
import { doublingDelayMs } from '../backoff';
import { Logger } from '../logger';
import { isDatabaseUnavailable } from './db-errors';

/**
 * Connects to MongoDB with every operation bounded by `requestTimeoutMs`
 * (milliseconds). No buffering: while the database is away, requests fail fast
 * with 503 and events stay unacked. socketTimeoutMS bounds an operation also on a
 * connection that is open but no longer answers (the driver 7 that mongoose 9
 * ships ignores timeoutMS).
 */
export function connectDatabase(uri: string, requestTimeoutMs: number): Promise<Connection> {
  return mongoose
    .createConnection(uri, {
      serverSelectionTimeoutMS: Math.min(5_000, requestTimeoutMs),
      socketTimeoutMS: requestTimeoutMs,
      connectTimeoutMS: requestTimeoutMs,
      bufferCommands: false,
      // A read retried after its socket timed out would run past the request's deadline: the caller decides instead.
      retryReads: false,
    })
    .asPromise();
}

/**
 * Start-up work on the database (collections and indexes: slow on a fresh FerretDB,
 * longer than one operation's deadline when several instances start at once) is
 * tried again while the database does not answer in time: 5 tries, 1 s, 2 s, 4 s,
 * 8 s apart. Any other error, or the fifth timeout, is thrown: the start fails.
 */
export async function whileDatabaseSlow<T>(work: () => Promise<T>, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= 5 || !isDatabaseUnavailable(err)) throw err;
      const waitMs = doublingDelayMs(attempt, 1000, 8000);
      logger.warn({ err, attempt, waitMs }, 'database slow at start-up; trying again');
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/** True when the database answers a ping within `timeoutMs`: for the readiness probe. */
export async function databaseAnswers(connection: Connection, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const ping = connection.db!.admin().ping().then(() => true, () => false);
  const answered = await Promise.race([ping, timeout]);
  clearTimeout(timer);
  return answered;
}
