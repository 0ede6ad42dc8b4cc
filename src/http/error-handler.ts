import { ErrorRequestHandler } from 'express';
import mongoose from 'mongoose';
import { AppError } from '../errors';
import { Logger } from '../logger';

/** Errors that express's body parser raises for a client's malformed request. */
const BODY_ERRORS: Record<string, { status: number; message: string }> = {
  'entity.parse.failed': { status: 400, message: 'The request body is not valid JSON' },
  'entity.too.large': { status: 413, message: 'The request body is too large' },
  'encoding.unsupported': { status: 415, message: 'Unsupported content encoding' },
  'charset.unsupported': { status: 415, message: 'Unsupported charset' },
  'request.aborted': { status: 400, message: 'The request was aborted' },
  'request.size.invalid': { status: 400, message: 'The request body size does not match its length' },
};

/** The database cannot be reached: the client may retry; nothing was done. */
function databaseUnavailable(err: unknown): boolean {
  return (
    err instanceof mongoose.mongo.MongoNetworkError ||
    err instanceof mongoose.mongo.MongoServerSelectionError ||
    err instanceof mongoose.mongo.MongoNotConnectedError ||
    err instanceof mongoose.Error.MongooseServerSelectionError
  );
}

/** The one place an error becomes a response: `{ errors: [{ message, field? }] }`, never a stack. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let status = 500;
    let message = 'Something went wrong';
    let field: string | undefined;
    if (err instanceof AppError) {
      ({ status, message, field } = err);
    } else if (typeof err?.type === 'string' && BODY_ERRORS[err.type]) {
      ({ status, message } = BODY_ERRORS[err.type]);
    } else if (databaseUnavailable(err)) {
      status = 503;
      message = 'The service is temporarily unavailable; try again shortly';
      logger.warn({ err, method: req.method, path: req.path }, 'database unavailable');
    } else {
      logger.error({ err, method: req.method, path: req.path }, 'unexpected error');
    }
    if (res.headersSent) return;
    res.status(status).json({ errors: [field ? { message, field } : { message }] });
  };
}
