import { RequestHandler } from 'express';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/** Probes and scrapes, every few seconds: no traces of their own. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One server span per request (the root of its trace, or the child of the caller's
 * `traceparent`), active for everything the request does: the use case's spans are
 * its children and its log lines carry its traceId. Named `<METHOD> <route>` once a
 * route matched (`<METHOD> unmatched` otherwise, so client-chosen paths never name
 * spans); ends when the answer is sent or the connection closes. Attributes: method,
 * path, route, status; never headers, cookies or the body. With tracing off it is
 * the API's no-op span. Probes and /metrics are not traced.
 */
export function requestSpan(): RequestHandler {
  const tracer = trace.getTracer('payments');
  return (req, res, next) => {
    if (UNTRACED.has(req.path)) return next();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      `${req.method} unmatched`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } },
      parent,
    );
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = req.route?.path;
      if (route) span.updateName(`${req.method} ${String(route)}`).setAttribute('http.route', String(route));
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: String(res.locals.reason ?? res.statusCode) });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}
