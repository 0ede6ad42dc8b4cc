import { randomUUID } from 'node:crypto';
import { RequestHandler } from 'express';
import { Logger } from '../logger';
import { Metrics } from '../metrics';

const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** One line and one latency sample per request. Only the method, path and status: never headers, cookies or the body. */
export function requestLog(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    const requestId = incoming && SAFE_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    res.locals.log = logger.child({ requestId });
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const entry = { requestId, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 };
      // Only routes the app defines become labels: client-chosen paths would grow the series without bound.
      const route = req.route?.path ?? 'unmatched';
      metrics.httpSeconds.observe({ route: String(route), status: res.statusCode }, ms / 1000);
      if (req.path === '/healthz' || req.path === '/readyz' || req.path === '/metrics') logger.debug(entry, 'request');
      else logger.info(entry, 'request');
    });
    next();
  };
}
