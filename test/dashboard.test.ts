import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { PaymentsFixture } from './support/payments-fixture';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prometheusProgram } = require('../scripts/prometheus-bin') as { prometheusProgram: (name: string) => string };

/**
 * The Grafana dashboard (infra/monitoring/dashboard.json) and the alert rules ask only
 * for metrics the service really exports: every PromQL expression is parsed by
 * promtool, its metric names are taken out of it, and each must be one that a
 * running service's /metrics declares (scraped after start, so the gauges that read
 * the database are there).
 */
const root = path.join(__dirname, '..');
const dashboard = JSON.parse(readFileSync(path.join(root, 'infra', 'monitoring', 'dashboard.json'), 'utf8')) as {
  uid: string;
  templating: { list: Array<{ name: string; type: string; query?: { query: string } | string }> };
  panels: Array<{ title: string; type: string; datasource: { uid: string }; targets: Array<{ expr: string }> }>;
};
const ruleExprs = (parse(readFileSync(path.join(root, 'infra', 'monitoring', 'alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups
  .flatMap((g) => g.rules)
  .map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }));
const templateQueries = dashboard.templating.list.flatMap((v) => (v.type === 'query' && typeof v.query === 'object' ? [v.query.query] : []));
const dashboardExprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })));

/** Grafana's variables as Prometheus would see them once Grafana filled them in. */
const filled = (expr: string) => expr.replace(/\$job\b|\$\{job\}/g, '.+');

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The metric names an expression reads, as written (a histogram's `_bucket`,
 * `_sum`, `_count` kept): string literals, label matchers, grouping label lists,
 * ranges, durations and numbers are dropped, then every identifier not followed by
 * `(` (a function or aggregation) and not a keyword is a metric name.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b\d+(\.\d+)?(ms|s|m|h|d|w|y)\b/g, ' ')
    .replace(/\b(0x[0-9a-f]+|\d*\.?\d+(e[+-]?\d+)?)\b/gi, ' ');
  const names = [...stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)].filter((m) => !m[2] && !KEYWORDS.has(m[1].toLowerCase())).map((m) => m[1]);
  return [...new Set(names)];
}

/** Each name resolved to the family /metrics declares (`# TYPE`), or undefined when the service has none. */
function family(name: string, declared: Map<string, string>): string | undefined {
  const type = declared.get(name);
  if (type && type !== 'histogram' && type !== 'summary') return name;
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  if (base && (declared.get(base) === 'histogram' || (declared.get(base) === 'summary' && !name.endsWith('_bucket')))) return base;
  return undefined;
}

const fx = new PaymentsFixture();
let declared: Map<string, string>;
beforeAll(async () => {
  await fx.start({ stripe: 'fake' });
  const text = (await request(fx.service.server).get('/metrics')).text;
  declared = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
});
afterAll(() => fx.stop());

describe('the dashboard and the alert rules read what the service exports', () => {
  test('when the names are taken out of expressions, then functions, keywords, labels, durations and numbers are not taken for metrics', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, subject) (rate(payments_event_lag_seconds_bucket{job=~"$job",le!="x y"}[5m])))')).toEqual([
      'payments_event_lag_seconds_bucket',
    ]);
    expect(metricNames('increase(a_total{outcome="refused"}[15m]) > 0 or (b > 0 unless b offset 15m) and on(instance) c / ignoring(x) group_left d')).toEqual([
      'a_total',
      'b',
      'c',
      'd',
    ]);
    expect(metricNames('sum without (outcome) (rate(x[5m])) > 1e-3 and vector(1) == bool 2')).toEqual(['x']);
  });

  test('when /metrics is scraped from a running service, then it declares the families the dashboard is built on, the database gauges included', () => {
    for (const name of ['payments_charge_attempts_total', 'payments_events_parked', 'payments_outbox_backlog', 'payments_charging_stale', 'payments_event_lag_seconds']) {
      expect(declared.has(name)).toBe(true);
    }
    expect(declared.get('payments_event_lag_seconds')).toBe('histogram');
  });

  test('when a query reads a metric the service does not export, then it is found out', () => {
    const names = metricNames('sum(rate(payments_not_exported_total[5m])) / sum(rate(payments_charge_duration_seconds_count[5m])) + payments_charge_duration_seconds');
    expect(names.filter((n) => !family(n, declared))).toEqual(['payments_not_exported_total', 'payments_charge_duration_seconds']);
  });

  test.each([...dashboardExprs, ...templateQueries.map((expr) => ({ where: 'template variable', expr })), ...ruleExprs].map((e) => [e.where, e.expr.replace(/\s+/g, ' ').trim()] as const))(
    'when %s asks `%s`, then every metric it reads is one the service exports',
    (_, expr) => {
      const names = metricNames(expr.replace(/^label_values\((.*), *\w+\)$/, '$1'));
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((n) => !family(n, declared))).toEqual([]);
    },
  );

  test('when promtool parses every dashboard query (variables filled in), then each is valid PromQL', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'payments-dashboard-'));
    try {
      const rules = dashboardExprs.map((e, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(filled(e.expr))}\n`).join('');
      writeFileSync(path.join(dir, 'rules.yaml'), `groups:\n  - name: dashboard\n    rules:\n${rules}`);
      const run = spawnSync(prometheusProgram('promtool'), ['check', 'rules', path.join(dir, 'rules.yaml')], { encoding: 'utf8' });
      expect(`${run.stdout}${run.stderr}`).toContain(`SUCCESS: ${dashboardExprs.length} rules found`);
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('when the dashboard is imported, then every panel reads the chosen Prometheus and the themes operators need each have a panel', () => {
    expect(dashboard.uid).toBe('payments-service');
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid).toBe('${datasource}');
      expect(panel.targets.length).toBeGreaterThan(0);
    }
    const used = new Set(dashboardExprs.flatMap((e) => metricNames(e.expr)).map((n) => family(n, declared)));
    for (const name of [
      'payments_charge_attempts_total', // payments per minute by outcome, Stripe errors
      'payments_http_request_duration_seconds', // payment latency
      'payments_charge_duration_seconds', // Stripe latency
      'payments_refund_attempts_total',
      'payments_refunds_failed_total',
      'payments_refunds_owed',
      'payments_disputes_total',
      'payments_events_parked',
      'payments_outbox_backlog',
      'payments_event_lag_seconds', // replication lag
      'payments_charging_stale',
      'payments_webhook_signature_failures_total',
      'payments_stripe_requests_total', // Stripe requests per second against the budget, 429s and errors
      'payments_stripe_request_duration_seconds', // Stripe latency by endpoint
      'payments_stripe_budget_wait_seconds', // budget wait by priority
      'payments_stripe_budget_refusals_total', // payments refused by the budget
    ]) {
      expect([name, used.has(name)]).toEqual([name, true]);
    }
  });
});
