import { randomUUID } from 'node:crypto';
import { RequestHandler } from 'express';
import { LogContext, Logger, withLogContext } from '../../logger';
import { Metrics } from '../../metrics';

const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One line and one latency sample per request, and the request's log context: every
 * line the request causes carries its requestId (and its userId and orderId once
 * known, see addLogContext). The request's line adds the reason of a 4xx or 5xx
 * (`res.locals.reason`, set by the error handler). Never headers, cookies or the body.
 *
 * `routes`: paths that label the latency metric even when answered before a route
 * matched (a body too large or in the wrong charset on POST /api/payments).
 */
export function requestLog(logger: Logger, metrics: Metrics, routes: string[] = []): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    const requestId = incoming && SAFE_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const context: LogContext = { requestId };
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const reason = res.statusCode >= 400 ? (res.locals.reason as string | undefined) : undefined;
      const entry = { ...context, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, ...(reason ? { reason } : {}) };
      // Only routes the app defines become labels: client-chosen paths would grow the series without bound.
      const path = req.path.length > 1 ? req.path.replace(/\/$/, '') : req.path;
      const route = req.route?.path ?? (routes.includes(path) ? path : 'unmatched');
      metrics.httpSeconds.observe({ route: String(route), status: res.statusCode }, ms / 1000);
      if (PROBES.has(req.path)) logger.debug(entry, 'request');
      else logger.info(entry, 'request');
    });
    withLogContext(context, next);
  };
}
