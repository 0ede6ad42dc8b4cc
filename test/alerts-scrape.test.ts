import path from 'node:path';
import { Types } from 'mongoose';
import request from 'supertest';
import { startPrometheus } from '../scripts/servers';
import { eventually } from './support/eventually';
import { newId } from './support/harness';
import { PaymentsFixture } from './support/payments-fixture';

/**
 * A real Prometheus (Debian's package) scrapes the running service's /metrics every
 * second and evaluates the repository's alert rules: a real parked event makes
 * PaymentsEventsParked fire. The metrics added for the alerts and the dashboard are
 * read here from the same running service.
 */
const fx = new PaymentsFixture();
let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
const rulesFile = path.join(__dirname, '..', 'infra', 'monitoring', 'alerts.yaml');

beforeAll(async () => {
  await fx.start({ stripe: 'fake', env: { EVENT_MAX_DELIVERIES: '2' }, service: { eventRetryBaseMs: 100 } });
  prometheus = await startPrometheus({ targets: [`127.0.0.1:${fx.service.port}`], ruleFiles: [rulesFile] });
}, 60_000);
afterAll(async () => {
  await prometheus?.stop();
  await fx.stop();
});

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}
async function prom<T>(apiPath: string): Promise<T> {
  const res = await fetch(`${prometheus.url}${apiPath}`);
  const body = (await res.json()) as { status: string; data: T };
  expect(body.status).toBe('success');
  return body.data;
}
const alerts = async () => (await prom<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;
const metricsText = async () => (await request(fx.service.server).get('/metrics')).text;
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('when an order event can never be applied and is parked, then the real Prometheus scraping /metrics fires PaymentsEventsParked', async () => {
  // Prometheus scrapes the service, its rules are loaded, and nothing is parked yet.
  await eventually(async () => {
    const up = await prom<{ result: Array<{ value: [number, string] }> }>('/api/v1/query?query=up%7Bjob%3D%22payments%22%7D');
    expect(up.result.map((r) => r.value[1])).toEqual(['1']);
  }, 20_000);
  const groups = await prom<{ groups: Array<{ rules: Array<{ name: string; health: string }> }> }>('/api/v1/rules');
  expect(groups.groups.flatMap((g) => g.rules).filter((r) => r.health === 'ok')).toHaveLength(11);
  expect((await alerts()).filter((a) => a.labels.alertname === 'PaymentsEventsParked')).toEqual([]);

  // An order:created that disagrees with the stored order (another user) can never apply.
  const id = newId();
  await fx.orderModel.create({ _id: id, version: 0, userId: 'first-user', price: 10, status: 'created' });
  await fx.orders.created({ id, userId: 'another-user', price: 10 });
  await eventually(async () => expect(await fx.service.connection.collection('dead_letters').countDocuments({ state: 'parked' })).toBe(1), 30_000);

  const firing = await eventually(async () => {
    const found = (await alerts()).filter((a) => a.labels.alertname === 'PaymentsEventsParked' && a.state === 'firing');
    expect(found).toHaveLength(1);
    return found[0];
  }, 30_000);
  console.log(`Prometheus ${prometheus.url}/api/v1/alerts, firing:\n${JSON.stringify(firing, null, 2)}`);
  expect(firing).toMatchObject({
    labels: { alertname: 'PaymentsEventsParked', severity: 'page', job: 'payments', instance: `127.0.0.1:${fx.service.port}` },
    annotations: { summary: '1 event(s) parked for an operator after their last retry', runbook: expect.stringContaining('docs/operating.md#paymentseventsparked') },
    value: '1e+00',
  });
}, 120_000);

test('when orders are replicated, then the replication lag histogram counts each applied order event, in seconds since it was published', async () => {
  const lagCount = 'payments_event_lag_seconds_count{subject="order:created"}';
  const before = sample(await metricsText(), lagCount) ?? 0;
  await fx.order();
  await fx.order();
  const text = await metricsText();
  expect(sample(text, lagCount)).toBe(before + 2);
  const sum = sample(text, 'payments_event_lag_seconds_sum{subject="order:created"}')!;
  expect(sum).toBeGreaterThan(0);
  // Seconds, not milliseconds: every event here was published and applied within this test file's minute or so.
  expect(sum).toBeLessThan((before + 2) * 60);
  expect(sample(text, 'payments_event_lag_seconds_bucket{le="+Inf",subject="order:created"}')).toBe(before + 2);
});

test('when payments are charging, then payments_charging_stale counts those 5 minutes past their claim, or past the 3-D Secure timeout when the customer was asked', async () => {
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
  const claim = (createdAt: Date, actionRequiredAt?: Date) => {
    const orderId = newId();
    // Held for an hour: recovery leaves them alone while the gauge is read.
    return {
      _id: new Types.ObjectId(), orderId, userId: newId(), orderLock: orderId, attemptSlot: `${orderId}:1`, tokenHash: 'h', idempotencyKey: `k-${orderId}`,
      amount: 100, currency: 'usd', state: 'charging', leaseUntil: new Date(Date.now() + 3_600_000), chargeAttempts: 1, eventsOwed: [], owesEvents: false,
      eventsDueAt: null, history: [], createdAt, updatedAt: createdAt, ...(actionRequiredAt ? { actionRequiredAt, awaitingCustomer: true } : {}),
    };
  };
  const payments = fx.service.connection.collection('payments');
  const before = sample(await metricsText(), 'payments_charging_stale');
  expect(before).toBe(0);
  await payments.insertMany([
    claim(minutesAgo(1)), // just claimed
    claim(minutesAgo(6)), // stale
    claim(minutesAgo(10), minutesAgo(9)), // the customer has 15 minutes for 3-D Secure
    claim(minutesAgo(25), minutesAgo(24)), // stale: past the action timeout plus 5 minutes
  ] as never[]);
  expect(sample(await metricsText(), 'payments_charging_stale')).toBe(2);
  await payments.deleteMany({ tokenHash: 'h' });
  expect(sample(await metricsText(), 'payments_charging_stale')).toBe(0);
});
