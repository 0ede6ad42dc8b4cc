import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseDocument } from 'yaml';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prometheusProgram } = require('../scripts/prometheus-bin') as { prometheusProgram: (name: string) => string };

/**
 * The alert rules (infra/monitoring/alerts.yaml): valid for Prometheus, every one
 * with a summary and a runbook that points at its section of docs/operating.md, and
 * every one held by a promtool unit test that fails when the rule stops firing.
 */
const root = path.join(__dirname, '..');
const monitoring = path.join(root, 'infra', 'monitoring');
const rulesFile = path.join(monitoring, 'alerts.yaml');
const testsFile = path.join(monitoring, 'alerts.test.yaml');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules: Rule[] = (parse(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const unitTests = (parse(readFileSync(testsFile, 'utf8')) as {
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
}).tests;

function promtool(...args: string[]) {
  const run = spawnSync(prometheusProgram('promtool'), args, { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
const operatingAnchors = [...readFileSync(path.join(root, 'docs', 'operating.md'), 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1]));

describe('the alert rules', () => {
  test('when promtool checks the rule file, then it is valid and holds the eleven alerts', () => {
    const { status, output } = promtool('check', 'rules', rulesFile);
    expect(output).toContain('SUCCESS: 11 rules found');
    expect(status).toBe(0);
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'PaymentsBuyersTurnedAway',
      'PaymentsChargingStale',
      'PaymentsDisputeOpened',
      'PaymentsEventsParked',
      'PaymentsOutboxBacklogNotDraining',
      'PaymentsRefundFailed',
      'PaymentsRefundRefused',
      'PaymentsRefundsOwedNotDraining',
      'PaymentsStripeErrors',
      'PaymentsStripeRateLimited',
      'PaymentsWebhookSignatureFailures',
    ]);
  });

  test('when promtool runs the unit tests of the rules, then every one passes', () => {
    const { status, output } = promtool('test', 'rules', testsFile);
    console.log(`promtool test rules infra/monitoring/alerts.test.yaml\n${output}`);
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  test.each(rules.map((r) => [r.alert, r] as const))('when %s fires, then it says what happened, how bad, and which section of docs/operating.md says what to do', (name, rule) => {
    expect(rule.annotations?.summary?.length).toBeGreaterThan(10);
    const runbook = rule.annotations?.runbook ?? '';
    expect(runbook).not.toContain('\n');
    const target = /docs\/operating\.md#([a-z0-9-]+)$/.exec(runbook)?.[1];
    expect(target).toBe(name.toLowerCase());
    expect(operatingAnchors).toContain(target);
    expect(['page', 'ticket']).toContain(rule.labels?.severity);
  });

  test.each(rules.map((r) => [r.alert] as const))('when %s is kept from firing, then its promtool unit test fails', (name) => {
    const firing = unitTests.flatMap((t) => t.alert_rule_test ?? []).filter((t) => t.alertname === name && t.exp_alerts.length > 0);
    expect(firing.length).toBeGreaterThan(0);
    // The same rules with this alert's expression replaced by one that never holds.
    const dir = mkdtempSync(path.join(tmpdir(), 'payments-alerts-'));
    try {
      const doc = parseDocument(readFileSync(rulesFile, 'utf8'));
      const groups = doc.get('groups') as { items: Array<{ get(key: string): { items: Array<{ get(key: string): unknown; set(key: string, value: unknown): void }> } }> };
      const rule = groups.items.flatMap((g) => g.get('rules').items).find((r) => r.get('alert') === name)!;
      rule.set('expr', 'vector(1) == 0');
      writeFileSync(path.join(dir, 'alerts.yaml'), doc.toString());
      copyFileSync(testsFile, path.join(dir, 'alerts.test.yaml'));
      const { status, output } = promtool('test', 'rules', path.join(dir, 'alerts.test.yaml'));
      expect(status).not.toBe(0);
      expect(output).toContain(`alertname: ${name},`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
