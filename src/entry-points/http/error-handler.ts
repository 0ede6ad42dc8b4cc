import { ErrorRequestHandler } from 'express';
import { isDatabaseUnavailable } from '../../data-access/db-errors';
import { AppError } from '../../errors';
import { Logger } from '../../logger';

/** Friendlier words for what express's body parser says about a malformed request. */
const CLIENT_ERRORS: Record<string, string> = {
  'entity.parse.failed': 'The request body is not valid JSON',
  'entity.too.large': 'The request body is too large',
  'encoding.unsupported': 'Unsupported content encoding',
  'charset.unsupported': 'Unsupported charset',
  'request.aborted': 'The request was aborted',
  'request.size.invalid': 'The request body size does not match its length',
};

/**
 * A client's mistake found by express itself (body parser, path decoding): those
 * errors carry a 4xx status of their own.
 */
function clientError(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}

/** The one place an error becomes a response: `{ errors: [{ message, field? }] }`, never a stack. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let status = 500;
    let message = 'Something went wrong';
    let field: string | undefined;
    if (err instanceof AppError) {
      ({ status, message, field } = err);
      if (!res.headersSent) res.set(err.headers);
    } else if (clientError(err)) {
      status = clientError(err)!;
      message = CLIENT_ERRORS[err.type] ?? 'The request is malformed';
    } else if (isDatabaseUnavailable(err)) {
      status = 503;
      message = 'The service is temporarily unavailable; try again shortly';
      logger.warn({ err, method: req.method, path: req.path }, 'database unavailable');
    } else {
      logger.error({ err, method: req.method, path: req.path }, 'unexpected error');
    }
    // The request's log line says why (the public message; the internal one for a 500).
    res.locals.reason = status >= 500 && !(err instanceof AppError) ? `${message}: ${errorMessage(err)}` : message;
    if (res.headersSent) return;
    res.status(status).json({ errors: [field ? { message, field } : { message }] });
  };
}
