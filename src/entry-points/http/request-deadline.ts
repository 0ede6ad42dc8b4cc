import { RequestHandler } from 'express';

/**
 * Answers 503 (the contract's error body) when nothing has answered a request
 * within `ms`, whatever hangs behind it: the database, Stripe, anything. The work
 * goes on in the background: a payment already claimed is charged or released and
 * recorded (the charge is idempotent, the sweep recovers it), and resending the
 * same token later gets its outcome.
 */
export function requestDeadline(ms: number): RequestHandler {
  return (_req, res, next) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      res.locals.reason = `no answer within the ${ms} ms deadline`;
      res
        .status(503)
        .set('Retry-After', String(Math.max(1, Math.ceil(ms / 1000))))
        .json({ errors: [{ message: 'The service could not answer in time; try again shortly (resending the same payment is safe)' }] });
    }, ms);
    timer.unref();
    const done = () => clearTimeout(timer);
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}
