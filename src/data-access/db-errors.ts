import mongoose from 'mongoose';

/** An insert lost to a unique index: someone stored the same thing first. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === 11000;
}

/**
 * The database cannot be reached or did not answer within its deadline (a socket
 * timeout is a MongoNetworkError): a retry may succeed.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return (
    err instanceof mongoose.mongo.MongoNetworkError ||
    err instanceof mongoose.mongo.MongoServerSelectionError ||
    err instanceof mongoose.mongo.MongoNotConnectedError ||
    err instanceof mongoose.mongo.MongoOperationTimeoutError ||
    err instanceof mongoose.Error.MongooseServerSelectionError
  );
}
