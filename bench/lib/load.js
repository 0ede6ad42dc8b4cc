'use strict';
/**
 * One charge load: autocannon (programmatic API) against one or more targets,
 * every request paying a different order. Connections are split across the
 * targets and the runs go at the same time; figures are merged from every
 * response (latency percentiles over 2xx answers).
 */
const autocannon = require('autocannon');

/** Hands out orders once each (or round and round, for the floor, which does not care). */
function feeder(orders, { cycle = false } = {}) {
  let i = 0;
  return {
    next() {
      if (i < orders.length) return orders[i++];
      if (cycle && orders.length > 0) {
        i = 1;
        return orders[0];
      }
      return undefined;
    },
    get used() {
      return i;
    },
    get remaining() {
      return Math.max(0, orders.length - i);
    },
  };
}

function split(total, parts) {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0)).filter((n) => n > 0);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/**
 * Runs `connections` connections for `durationS` seconds against `urls`.
 * `cookieOf(order)` gives the session cookie of the order's owner. When the
 * orders run out the run stops early and says so; the placeholder requests sent
 * meanwhile carry no cookie (the contract answers 401) and are not counted.
 */
async function chargeLoad({ urls, connections, durationS, orders, cookieOf, timeoutS = 30 }) {
  const latencies = [];
  const statuses = {};
  let ok = 0;
  let exhaustedAt;
  let placeholders = 0;
  const instances = [];
  const stopAll = () => setImmediate(() => instances.forEach((instance) => instance.stop()));

  const setupRequest = (req) => {
    const order = orders.next();
    if (!order) {
      if (exhaustedAt === undefined) {
        exhaustedAt = performance.now();
        stopAll();
      }
      req.headers = { 'content-type': 'application/json' };
      req.body = JSON.stringify({ token: 'tok_visa', orderId: '000000000000000000000000' });
      return req;
    }
    req.headers = { 'content-type': 'application/json', cookie: cookieOf(order) };
    req.body = JSON.stringify({ token: 'tok_visa', orderId: order.id });
    return req;
  };

  const startedAt = performance.now();
  const results = await Promise.all(
    split(connections, urls.length).map(
      (conns, k) =>
        new Promise((resolve, reject) => {
          const instance = autocannon(
            {
              url: urls[k],
              connections: conns,
              duration: durationS,
              timeout: timeoutS,
              requests: [{ method: 'POST', path: '/api/payments', setupRequest }],
            },
            (err, result) => (err ? reject(err) : resolve(result)),
          );
          instance.on('response', (_client, statusCode, _bytes, ms) => {
            if (exhaustedAt !== undefined && statusCode === 401) {
              placeholders += 1;
              return;
            }
            statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
            if (statusCode >= 200 && statusCode < 300) {
              latencies.push(ms);
              if (exhaustedAt === undefined) ok += 1;
            }
          });
          instances.push(instance);
        }),
    ),
  );
  const endedAt = performance.now();

  const seconds = ((exhaustedAt ?? endedAt) - startedAt) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const count2xx = Object.entries(statuses)
    .filter(([code]) => code.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  const non2xx = Object.entries(statuses)
    .filter(([code]) => !code.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  const r = (v) => (v === null ? null : Math.round(v * 100) / 100);
  return {
    connections,
    targets: urls.length,
    durationS,
    measuredSeconds: Math.round(seconds * 100) / 100,
    requestsPerSecond: Math.round((ok / seconds) * 10) / 10,
    ok2xx: count2xx,
    non2xx,
    statuses,
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    timeouts: results.reduce((sum, result) => sum + result.timeouts, 0),
    latencyMs: {
      p50: r(percentile(sorted, 50)),
      p90: r(percentile(sorted, 90)),
      p99: r(percentile(sorted, 99)),
      max: r(sorted.length ? sorted[sorted.length - 1] : null),
      mean: r(sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null),
    },
    ordersRanOut: exhaustedAt !== undefined,
    ranOutAfterSeconds: exhaustedAt !== undefined ? Math.round(((exhaustedAt - startedAt) / 1000) * 100) / 100 : null,
    placeholderRequests: placeholders,
    autocannon: results.map((result) => ({
      requestsAverage: result.requests.average,
      latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99 },
      non2xx: result.non2xx,
      errors: result.errors,
      duration: result.duration,
    })),
  };
}

module.exports = { feeder, chargeLoad };
