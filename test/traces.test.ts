import { headers } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { startJaeger } from '../scripts/servers';
import { eventually } from './support/eventually';
import { TEST_STREAM, testBus } from './support/broker-client';
import { FakeStripe } from './support/fake-stripe';
import { databaseUri, natsServer, NatsTarget, newId, OrdersPublisher, sessionCookie, unique } from './support/harness';
import { ServiceProcess } from './support/service-process';

/**
 * Traces at a real receiver (issue 21): the compiled service, configured by
 * OTEL_EXPORTER_OTLP_ENDPOINT alone, sends its spans to Jaeger v2 over OTLP/HTTP;
 * the spans are read back from Jaeger's query API. Runs on both brokers; the
 * `traceparent` header is JetStream's only (NATS Streaming has no headers).
 *
 * Everything happens in beforeAll, then the service is stopped with SIGTERM: the
 * spans of the last 5 s reach Jaeger only through the flush at shutdown.
 */

const SECRET = 'whsec_test_traces';

/** A span as Jaeger's query API answers it (`/api/traces/<id>`): times in microseconds. */
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags: Array<{ key: string; value: unknown }>;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
}

let jaeger: Awaited<ReturnType<typeof startJaeger>>;
let nats: NatsTarget;
let stripe: FakeStripe;
let orders: OrdersPublisher;
let db: Connection;
let proc: ServiceProcess;
let exit: Awaited<ReturnType<ServiceProcess['stopped']>>;

const card = { requestId: `card-${newId()}`, order: { id: newId(), userId: newId(), price: 19.99 }, body: {} as { id: string; stripeId: string; paymentIntentId: string } };
const threeDS = { requestId: `3ds-${newId()}`, order: { id: newId(), userId: newId(), price: 42.5 }, paymentId: '', intentId: '' };
/** An order:created sent with a `traceparent` of the "orders service"'s own (JetStream only). */
const incoming = { order: { id: newId(), userId: newId(), price: 5 }, traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
let publishedTraceparent: string | undefined;

const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;
const parentOf = (trace: JaegerTrace, span: JaegerSpan) => trace.spans.find((s) => s.spanID === span.references.find((r) => r.refType === 'CHILD_OF')?.spanID);
const rootOf = (trace: JaegerTrace) => trace.spans.filter((s) => !trace.spans.some((p) => s.references.some((r) => r.spanID === p.spanID)));
const named = (trace: JaegerTrace, name: string) => trace.spans.filter((s) => s.operationName === name);

async function jaegerGet<T>(path: string): Promise<T> {
  const res = await fetch(`${jaeger.queryUrl}${path}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: T }).data;
}
const traceById = async (traceId: string) => (await jaegerGet<JaegerTrace[]>(`/api/traces/${traceId}`))[0];
const tracesOf = (operation: string) => jaegerGet<JaegerTrace[]>(`/api/traces?service=payments&operation=${encodeURIComponent(operation)}&limit=1000&lookback=1h`);

/** The trace as an indented list: name, duration in ms, children after their parent in start order. */
function outline(trace: JaegerTrace): string[] {
  const lines: string[] = [];
  const walk = (span: JaegerSpan, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${span.operationName}  ${(span.duration / 1000).toFixed(1)} ms`);
    for (const child of trace.spans.filter((s) => parentOf(trace, s) === span).sort((a, b) => a.startTime - b.startTime)) walk(child, depth + 1);
  };
  for (const root of rootOf(trace)) walk(root, 0);
  return lines;
}

const pay = (requestId: string, userId: string, body: object) =>
  fetch(`${proc.url}/api/payments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: sessionCookie({ id: userId }), 'X-Request-Id': requestId },
    body: JSON.stringify(body),
  });

async function replicated(orderId: string) {
  await eventually(async () => expect(await db.collection('orders').findOne({ _id: orderId as never })).not.toBeNull());
}

beforeAll(async () => {
  jaeger = await startJaeger();
  nats = await natsServer();
  stripe = await FakeStripe.start();
  orders = await OrdersPublisher.connect(nats);
  const database = unique('traces');
  db = await mongoose.createConnection(databaseUri(database)).asPromise();
  proc = await ServiceProcess.start({ database, nats, stripeUrl: stripe.url, env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpUrl, STRIPE_WEBHOOK_SECRET: SECRET } });
  stripe.webhooks = { url: `${proc.url}/api/payments/webhooks/stripe`, secret: SECRET };

  // A card payment.
  await orders.created(card.order);
  await replicated(card.order.id);
  const paid = await pay(card.requestId, card.order.userId, { token: 'tok_visa', orderId: card.order.id });
  expect(paid.status).toBe(201);
  card.body = (await paid.json()) as typeof card.body;
  await proc.waitForLog((entry) => entry.msg === 'event published' && entry.orderId === card.order.id);

  if (testBus() === 'jetstream') {
    // What the service published for it carries the request's trace.
    const nc = await connect({ servers: nats.url });
    try {
      const stored = await (await jetstreamManager(nc)).streams.getMessage(TEST_STREAM, { last_by_subj: 'payment:created' });
      expect(stored?.json<{ orderId: string }>().orderId).toBe(card.order.id);
      publishedTraceparent = stored?.header?.get('traceparent');
      // The "orders service" publishes an order:created in a trace of its own.
      const h = headers();
      h.set('traceparent', `00-${incoming.traceId}-${incoming.spanId}-01`);
      const data = { id: incoming.order.id, version: 0, status: 'created', userId: incoming.order.userId, expiresAt: new Date(Date.now() + 60_000).toISOString(), ticket: { id: newId(), price: incoming.order.price } };
      await jetstream(nc).publish('order:created', JSON.stringify(data), { headers: h });
      await replicated(incoming.order.id);
    } finally {
      await nc.close();
    }
  }

  // A card that needs 3-D Secure: 202, the customer authenticates, the webhook records the payment.
  await orders.created(threeDS.order);
  await replicated(threeDS.order.id);
  const started = await pay(threeDS.requestId, threeDS.order.userId, { paymentMethodId: 'pm_card_threeDSecure2Required', orderId: threeDS.order.id });
  expect(started.status).toBe(202);
  const answer = (await started.json()) as { id: string; clientSecret: string };
  threeDS.paymentId = answer.id;
  threeDS.intentId = answer.clientSecret.split('_secret_')[0];
  stripe.completeAction(threeDS.intentId, 'succeeded');
  await proc.waitForLog((entry) => entry.msg === 'event published' && entry.orderId === threeDS.order.id);

  // Stopped well within the exporter's 5 s batch delay: the last spans arrive by the shutdown's flush.
  proc.kill('SIGTERM');
  exit = await proc.stopped();
}, 90_000);

afterAll(async () => {
  await proc?.stop();
  await db?.close();
  await orders?.close();
  await stripe?.stop();
  await nats?.stop();
  await jaeger?.stop();
});

describe('traces at Jaeger', () => {
  test('when a card is paid, then Jaeger holds one trace of the request with the order read, the claim, each Stripe call, the record and the publish, and every log line of the request carries its trace id', async () => {
    expect(exit).toEqual({ code: 0, signal: null });
    const lines = proc.entries().filter((entry) => entry.requestId === card.requestId);
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['payment recorded', 'event published', 'request']));
    const traceId = lines[0].traceId as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    for (const line of lines) expect({ msg: line.msg, traceId: line.traceId, spanId: typeof line.spanId }).toEqual({ msg: line.msg, traceId, spanId: 'string' });

    const trace = await eventually(() => traceById(traceId));
    const [root] = rootOf(trace);
    expect(rootOf(trace)).toHaveLength(1);
    expect({ name: root.operationName, kind: tag(root, 'span.kind'), status: tag(root, 'http.response.status_code'), route: tag(root, 'http.route') }).toEqual({
      name: 'POST /api/payments',
      kind: 'server',
      status: 201,
      route: '/api/payments',
    });
    const parent = (name: string) => {
      const spans = named(trace, name);
      expect({ name, count: spans.length }).toEqual({ name, count: 1 });
      return parentOf(trace, spans[0])?.operationName;
    };
    expect({
      'orders.read': parent('orders.read'),
      'payments.claim': parent('payments.claim'),
      'payment-provider.charge': parent('payment-provider.charge'),
      'stripe POST /v1/payment_methods': parent('stripe POST /v1/payment_methods'),
      'stripe POST /v1/payment_intents': parent('stripe POST /v1/payment_intents'),
      'payments.record': parent('payments.record'),
      'bus.publish payment:created': parent('bus.publish payment:created'),
    }).toEqual({
      'orders.read': 'POST /api/payments',
      'payments.claim': 'POST /api/payments',
      'payment-provider.charge': 'POST /api/payments',
      'stripe POST /v1/payment_methods': 'payment-provider.charge',
      'stripe POST /v1/payment_intents': 'payment-provider.charge',
      'payments.record': 'POST /api/payments',
      'bus.publish payment:created': 'POST /api/payments',
    });
    // Every log line's span is one of the trace's.
    const spanIds = new Set(trace.spans.map((s) => s.spanID));
    for (const line of lines) expect(spanIds.has(line.spanId as string)).toBe(true);

    const [charge] = named(trace, 'payment-provider.charge');
    expect({
      payment: tag(charge, 'payment.id'),
      order: tag(charge, 'order.id'),
      outcome: tag(charge, 'payment_provider.outcome'),
      intent: tag(charge, 'stripe.payment_intent.id'),
      charge: tag(charge, 'stripe.charge.id'),
      method: tag(charge, 'payment.method'),
    }).toEqual({ payment: card.body.id, order: card.order.id, outcome: 'charged', intent: card.body.paymentIntentId, charge: card.body.stripeId, method: 'token' });
    expect(tag(named(trace, 'payments.claim')[0], 'order.id')).toBe(card.order.id);
    // Neither the card token nor the session reaches a span.
    const text = JSON.stringify(trace);
    expect(text).not.toContain('tok_visa');
    expect(text).not.toContain('session=');
  });

  test('when a 3-D Secure payment is made, then its request, the webhooks and the recording of the payment are traced (printed for the closing note)', async () => {
    const request = proc.entries().find((entry) => entry.requestId === threeDS.requestId && entry.msg === 'request');
    expect(request).toMatchObject({ status: 202 });
    const paymentTrace = await eventually(() => traceById(request!.traceId as string));
    expect(named(paymentTrace, 'payments.defer')).toHaveLength(1);
    expect(tag(named(paymentTrace, 'payment-provider.charge')[0], 'payment_provider.outcome')).toBe('requires_action');
    expect(JSON.stringify(paymentTrace)).not.toContain('_secret_');

    // One trace per webhook delivery about this PaymentIntent.
    const webhooks = (await eventually(async () => {
      const found = (await tracesOf('POST /api/payments/webhooks/stripe')).filter((t) => t.spans.some((s) => tag(s, 'stripe.object.id') === threeDS.intentId));
      expect(found.map((t) => tag(named(t, 'stripe-events.apply')[0], 'stripe.event.type')).sort()).toEqual(['payment_intent.requires_action', 'payment_intent.succeeded']);
      return found;
    })).sort((a, b) => rootOf(a)[0].startTime - rootOf(b)[0].startTime);
    const succeeded = webhooks.find((t) => t.spans.some((s) => tag(s, 'stripe.event.type') === 'payment_intent.succeeded'))!;
    expect(named(succeeded, 'payments.record').map((s) => tag(s, 'payment.id'))).toEqual([threeDS.paymentId]);
    expect(named(succeeded, 'bus.publish payment:created')).toHaveLength(1);

    const printed = [paymentTrace, ...webhooks].flatMap((trace) => [`trace ${trace.traceID}`, ...outline(trace).map((line) => `  ${line}`)]);
    console.log(`The 3-D Secure payment ${threeDS.paymentId} as Jaeger lists it (span, duration):\n${printed.join('\n')}`);
  });

  test('when order:created is handled, then it is a trace of its own with the replica write', async () => {
    const trace = await eventually(async () => {
      const found = (await tracesOf('bus.process order:created')).filter((t) => t.spans.some((s) => s.operationName === 'orders.insert' && tag(s, 'order.id') === card.order.id));
      expect(found).toHaveLength(1);
      return found[0];
    });
    const [root] = rootOf(trace);
    expect(rootOf(trace)).toHaveLength(1);
    expect({ name: root.operationName, kind: tag(root, 'span.kind'), subject: tag(root, 'messaging.destination.name'), outcome: tag(root, 'messaging.outcome') }).toEqual({
      name: 'bus.process order:created',
      kind: 'consumer',
      subject: 'order:created',
      outcome: 'acked',
    });
    expect(root.references).toEqual([]);
    expect(named(trace, 'orders.insert').map((s) => parentOf(trace, s)?.operationName)).toEqual(['bus.process order:created']);
  });

  test('when the sweeps find nothing to do, then they send no trace; when they call Stripe, they do', async () => {
    const eventsList = await eventually(async () => {
      const found = await tracesOf("sweep Stripe's events list");
      expect(found.length).toBeGreaterThan(0);
      return found;
    });
    expect(named(eventsList[0], 'payment-provider.eventsBetween')).toHaveLength(1);
    // The dead-letter retry ran every 2 s and never had anything to retry.
    expect(await tracesOf('sweep dead-letter retry')).toEqual([]);
  });
});

// JetStream's own terms: NATS Streaming has no message headers, so these are defined (and run) in the jetstream project only.
if (testBus() === 'jetstream') {
  describe('traceparent on JetStream', () => {
    test('when the service publishes on JetStream, then the message carries the traceparent of its publish span, in the request\'s trace', async () => {
      const traceId = proc.entries().find((entry) => entry.requestId === card.requestId)!.traceId as string;
      const trace = await eventually(() => traceById(traceId));
      const [publish] = named(trace, 'bus.publish payment:created');
      expect(publishedTraceparent).toBe(`00-${traceId}-${publish.spanID}-01`);
    });

    test('when an order:created arrives with a traceparent, then its handling continues that trace', async () => {
      const trace = await eventually(() => traceById(incoming.traceId));
      const [process] = named(trace, 'bus.process order:created');
      expect(process.references).toEqual([{ refType: 'CHILD_OF', traceID: incoming.traceId, spanID: incoming.spanId }]);
      expect(named(trace, 'orders.insert').map((s) => tag(s, 'order.id'))).toEqual([incoming.order.id]);
    });
  });
}
