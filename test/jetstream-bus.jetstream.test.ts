import { AckPolicy, DeliverPolicy, jetstreamManager, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../scripts/servers';
import { IncomingEvent } from '../src/events/bus';
import { JetStreamBus, JetStreamBusOptions } from '../src/events/jetstream-bus';
import { Service } from '../src/service';
import { eventually, sleep } from './support/eventually';
import { serviceConfig, startTestService, unique } from './support/harness';
import { LogCapture } from './support/log-capture';

// JetStream's own terms (stream, consumer, message ids, delivery counts); the shared
// behaviour runs on both brokers in the other files. Runs in the jetstream project only.
const SUBJECTS = ['order:created', 'order:cancelled', 'payment:created', 'payment:refunded', 'payment:refund_failed', 'payment:disputed'];
const NANOS = 1_000_000;

let nats: Awaited<ReturnType<typeof startNatsServer>>;
let nc: Awaited<ReturnType<typeof connect>>;
let jsm: JetStreamManager;
const buses: JetStreamBus[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
});
// JetStream lets no two streams hold the same subject: each test starts with none.
beforeEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
  for await (const name of jsm.streams.names()) await jsm.streams.delete(name);
});
afterAll(async () => {
  await Promise.all(buses.map((bus) => bus.close()));
  await nc?.close();
  await nats?.stop();
});

async function bus(stream: string, overrides: Partial<JetStreamBusOptions> = {}): Promise<JetStreamBus> {
  const options: JetStreamBusOptions = {
    url: nats.url,
    clientId: unique('bus-test'),
    stream: { name: stream, subjects: SUBJECTS, maxAgeMs: 0, duplicateWindowMs: 120_000 },
    queueGroup: 'payments-service',
    ackWaitMs: 1000,
    ...overrides,
  };
  const created = await JetStreamBus.connect(options, new LogCapture('silent').logger);
  buses.push(created);
  return created;
}

test('when the service starts on a server without its stream, then it creates the stream and one durable pull consumer as configured', async () => {
  let service: Service | undefined;
  try {
    const config = serviceConfig({
      database: unique('jetstream'),
      nats,
      extra: { EVENT_BUS: 'jetstream', JETSTREAM_STREAM: 'fresh', JETSTREAM_MAX_AGE_MS: '86400000', JETSTREAM_DUPLICATE_WINDOW_MS: '60000', NATS_ACK_WAIT_MS: '1500' },
    });
    service = await startTestService(config, { queueGroup: 'payments-service', logger: new LogCapture('silent').logger });
    const stream = await jsm.streams.info('fresh');
    expect(stream.config).toMatchObject({ subjects: SUBJECTS, max_age: 86_400_000 * NANOS, duplicate_window: 60_000 * NANOS, storage: 'file' });
    const consumer = await eventually(() => jsm.consumers.info('fresh', 'payments-service'));
    expect(consumer.config).toMatchObject({
      durable_name: 'payments-service',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 1500 * NANOS,
      max_deliver: -1,
      max_ack_pending: 1024,
      filter_subjects: ['order:cancelled', 'order:created'],
    });
    expect(consumer.config.deliver_subject).toBeUndefined(); // a pull consumer
  } finally {
    await service?.stop();
  }
});

test('when the stream exists with other subjects, then the service adds its own and keeps the stream limits', async () => {
  await jsm.streams.add({ name: 'shared', subjects: ['ticket:created', 'order:created'], max_age: 3_600_000 * NANOS });
  const started = await bus('shared', { stream: { name: 'shared', subjects: SUBJECTS, maxAgeMs: 0, duplicateWindowMs: 120_000 } });
  const stream = await jsm.streams.info('shared');
  expect(stream.config.subjects).toEqual(['ticket:created', ...SUBJECTS]);
  expect(stream.config.max_age).toBe(3_600_000 * NANOS);
  await started.publish('payment:refunded', { id: 'p1' });
  expect((await jsm.streams.info('shared')).state.messages).toBe(1);
});

test('when an event is published again with the same message id, then the stream keeps it once; another id is kept', async () => {
  const publisher = await bus('dedup');
  await publisher.publish('payment:created', { id: 'p1', orderId: 'o1', stripeId: 'ch_1' }, { messageId: 'p1:payment:created' });
  await publisher.publish('payment:created', { id: 'p1', orderId: 'o1', stripeId: 'ch_1' }, { messageId: 'p1:payment:created' });
  await publisher.publish('payment:refunded', { id: 'p1', orderId: 'o1' }, { messageId: 'p1:payment:refunded' });
  await publisher.publish('payment:created', { id: 'p2', orderId: 'o2', stripeId: 'ch_2' });
  await publisher.publish('payment:created', { id: 'p2', orderId: 'o2', stripeId: 'ch_2' });
  const state = (await jsm.streams.info('dedup', { subjects_filter: '>' })).state;
  expect(state.subjects).toEqual({ 'payment:created': 3, 'payment:refunded': 1 }); // without an id, nothing is deduplicated
});

test('when the handler keeps failing (the database is away), then the event comes back after each ack wait with a rising delivery count, past any bound, until it applies', async () => {
  const consumer = await bus('failing');
  const seen: IncomingEvent[] = [];
  consumer.subscribe('order:created', async (event) => {
    seen.push(event);
    if (seen.length < 6) throw new Error('database unreachable');
  });
  await eventually(() => expect(consumer.ready).toBe(true));
  await consumer.publish('order:created', { id: 'o1' });
  await eventually(() => expect(seen).toHaveLength(6), 20_000);
  expect(seen.map((event) => event.deliveries)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(seen.map((event) => event.redelivered)).toEqual([false, true, true, true, true, true]);
  expect(new Set(seen.map((event) => event.sequence)).size).toBe(1);
  await sleep(2500); // acked: not delivered again
  expect(seen).toHaveLength(6);
  const info = await jsm.consumers.info('failing', 'payments-service');
  expect(info).toMatchObject({ num_ack_pending: 0, num_pending: 0 });
});

test('when two instances share the consumer, then each event is handled by exactly one of them, and both take a share', async () => {
  const handled: Array<[string, string]> = [];
  const instances = await Promise.all(['a', 'b'].map(() => bus('shared-consumer', { maxInFlight: 4 })));
  instances.forEach((instance, index) =>
    instance.subscribe('order:created', async (event) => {
      await sleep(20);
      handled.push([String(index), (event.data as { id: string }).id]);
    }),
  );
  await eventually(() => expect(instances.every((instance) => instance.ready)).toBe(true));
  const ids = Array.from({ length: 80 }, (_, i) => `o${i}`);
  for (const id of ids) await instances[0].publish('order:created', { id });
  await eventually(() => expect(handled).toHaveLength(80), 20_000);
  await sleep(1500); // past the ack wait: nothing comes again
  expect(handled.map(([, id]) => id).sort()).toEqual([...ids].sort());
  expect(new Set(handled.map(([index]) => index))).toEqual(new Set(['0', '1']));
});

test('when a message is unacked and its instance closes, then another instance gets it after the ack wait', async () => {
  const first = await bus('handover');
  let release!: () => void;
  first.subscribe('order:created', () => new Promise((_, reject) => (release = () => reject(new Error('database unreachable')))));
  await eventually(() => expect(first.ready).toBe(true));
  await first.publish('order:created', { id: 'o1' });
  await eventually(() => expect(release).toBeDefined());
  release();
  await first.close();
  const second = await bus('handover');
  const seen: IncomingEvent[] = [];
  second.subscribe('order:created', async (event) => void seen.push(event));
  await eventually(() => expect(seen).toHaveLength(1), 10_000);
  expect(seen[0]).toMatchObject({ subject: 'order:created', redelivered: true, deliveries: 2, data: { id: 'o1' } });
});
