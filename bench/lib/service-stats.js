'use strict';
/**
 * What the service says about itself during a run: its Prometheus counters and,
 * with --trace-db, the MongoDB commands it sent (bench/lib/mongo-trace.js).
 */
const fs = require('node:fs');
const { round } = require('./proc-stats');

/** The service's own counters: events handled by outcome, outbox backlog, charge attempts. */
async function scrapeMetrics(urls) {
  const out = {};
  for (const url of urls) {
    try {
      const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      for (const line of text.split('\n')) {
        const match = line.match(/^(payments_events_handled_total|payments_outbox_backlog|payments_charge_attempts_total)(\{[^}]*\})?\s+([0-9.eE+-]+|NaN)$/);
        if (match) {
          const key = `${match[1]}${match[2] ?? ''}`;
          out[key] = (out[key] ?? 0) + Number(match[3]);
        }
      }
    } catch (err) {
      out[`error ${url}`] = String(err && err.message);
    }
  }
  return out;
}

/** The MongoDB command counts the traced services wrote so far, summed. */
function readTraces(services) {
  const sum = {};
  for (const service of services) {
    if (!service.traceFile) continue;
    let stats;
    try {
      stats = JSON.parse(fs.readFileSync(service.traceFile, 'utf8'));
    } catch {
      continue;
    }
    for (const [key, value] of Object.entries(stats)) {
      const entry = (sum[key] ??= { count: 0, ms: 0, failed: 0 });
      entry.count += value.count;
      entry.ms += value.ms;
      entry.failed += value.failed;
    }
  }
  return sum;
}

/** Commands sent during a load, per 2xx answer, most time first. */
function perRequest(before, after, paid) {
  const rows = [];
  for (const [key, value] of Object.entries(after)) {
    const count = value.count - (before[key]?.count ?? 0);
    if (count <= 0) continue;
    const ms = value.ms - (before[key]?.ms ?? 0);
    rows.push({
      command: key,
      count,
      perPaid: paid ? round(count / paid, 2) : null,
      avgMs: round(ms / count, 1),
      msPerPaid: paid ? round(ms / paid, 1) : null,
      failed: value.failed - (before[key]?.failed ?? 0),
    });
  }
  return rows.sort((a, b) => (b.msPerPaid ?? 0) - (a.msPerPaid ?? 0));
}

module.exports = { scrapeMetrics, readTraces, perRequest };
