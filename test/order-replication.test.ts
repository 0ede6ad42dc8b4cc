import { orderModel, OrderModel } from '../src/data-access/order-model';
import { Service } from '../src/service';
import { eventually, sleep } from './support/eventually';
import {
  natsServer, NatsTarget, newId, OrdersPublisher, serviceConfig, startTestService, unique,
} from './support/harness';
import { LogCapture } from './support/log-capture';

describe('order replication from the broker', () => {
  const database = unique('replication');
  const queueGroup = unique('payments-service');
  let nats: NatsTarget;
  let orders: OrdersPublisher;
  let service: Service;
  let model: OrderModel;
  let logs: LogCapture;

  const start = async () => {
    logs = new LogCapture();
    service = await startTestService(serviceConfig({ database, nats }), { queueGroup, logger: logs.logger });
    model = orderModel(service.connection);
  };
  const stored = (id: string) => model.findById(id).lean();

  beforeAll(async () => {
    nats = await natsServer();
    orders = await OrdersPublisher.connect(nats);
    await start();
  });

  afterAll(async () => {
    await service?.stop();
    await orders?.close();
    await nats?.stop();
  });

  test('when an order is created, then its id, version, user, price and status are stored', async () => {
    const id = newId();
    await orders.created({ id, userId: 'user-1', price: 19.99 });
    const order = await eventually(async () => expectDefined(await stored(id)));
    expect(order).toMatchObject({ _id: id, version: 0, userId: 'user-1', price: 19.99, status: 'created' });
    expect(order).not.toHaveProperty('ticket');
    expect(order).not.toHaveProperty('expiresAt');
  });

  test('when order:created arrives twice, then one order is stored and both are acked', async () => {
    const id = newId();
    await orders.created({ id, userId: 'user-1', price: 10 });
    await orders.created({ id, userId: 'user-1', price: 10 });
    await eventually(async () => expect(await stored(id)).not.toBeNull());
    await sleep(2500); // past the 1 s ack wait: an unacked duplicate would be handled again
    expect(await model.countDocuments({ _id: id })).toBe(1);
    const handled = logs.find({ msg: 'event handled', subject: 'order:created' }).filter((entry) => entry.outcome !== 'acked');
    expect(handled).toEqual([]);
  });

  test('when an order is created then cancelled, then it is stored cancelled at the new version', async () => {
    const id = newId();
    await orders.created({ id, userId: 'user-1', price: 10 });
    await orders.cancelled({ id, version: 1 });
    await eventually(async () => expect(await stored(id)).toMatchObject({ status: 'cancelled', version: 1 }));
  });

  test('when the cancel arrives before its order, then a tombstone is stored at once and the order lands cancelled', async () => {
    const id = newId();
    await orders.cancelled({ id, version: 1 });
    await eventually(async () => expect(await stored(id)).toMatchObject({ status: 'cancelled', version: 1 }));
    // The log line follows the write, so it may land just after the stored tombstone is seen.
    await eventually(() => expect(logs.find({ msg: 'order cancelled before it was created: tombstone stored', orderId: id })).toHaveLength(1));
    await orders.created({ id, userId: 'user-1', price: 10 });
    await eventually(async () => expect(await stored(id)).toMatchObject({ status: 'cancelled', version: 1, userId: 'user-1', price: 10 }));
    expect(logs.find({ msg: 'event left for redelivery' })).toEqual([]);
  });

  test('when the tombstone was stored by another instance, then order:created still fills it and the order stays cancelled', async () => {
    const id = newId();
    // As another instance's cancel would leave it: this process has no hint of it, so its insert meets the duplicate.
    await model.collection.insertOne({ _id: id, version: 1, status: 'cancelled' } as never);
    await orders.created({ id, userId: 'user-1', price: 10 });
    await eventually(async () => expect(await stored(id)).toMatchObject({ status: 'cancelled', version: 1, userId: 'user-1', price: 10 }));
    await eventually(() => expect(logs.find({ msg: 'order created after its cancel: stored, still cancelled', orderId: id })).toHaveLength(1));
    expect(logs.find({ msg: 'event left for redelivery' })).toEqual([]);
  });

  test('when a cancel is delivered again, then it is acked and changes nothing', async () => {
    const id = newId();
    await orders.created({ id, userId: 'user-1', price: 10 });
    await orders.cancelled({ id, version: 1 });
    await eventually(async () => expect(await stored(id)).toMatchObject({ version: 1 }));
    await orders.cancelled({ id, version: 1 });
    await eventually(() => expect(logs.find({ msg: 'repeated cancel: the order was cancelled already', orderId: id })).toHaveLength(1));
    await sleep(2500);
    expect(logs.find({ msg: 'repeated cancel: the order was cancelled already', orderId: id })).toHaveLength(1);
    expect(await stored(id)).toMatchObject({ status: 'cancelled', version: 1 });
  });

  test('when a chain of versions arrives out of order, then the order ends at the latest', async () => {
    const id = newId();
    await orders.cancelled({ id, version: 3 });
    await orders.cancelled({ id, version: 2 });
    await orders.created({ id, userId: 'user-1', price: 10 });
    await orders.cancelled({ id, version: 1 });
    await eventually(async () => expect(await stored(id)).toMatchObject({ status: 'cancelled', version: 3 }), 20_000);
  });

  const malformed: Array<[string, string]> = [
    ['not JSON', '{"id": '],
    ['a JSON array', '[1, 2, 3]'],
    ['a bare string', '"order"'],
    ['no id', JSON.stringify({ version: 0, status: 'created', userId: 'u', ticket: { id: 't', price: 1 } })],
    ['an id that is not an order id', JSON.stringify({ id: 'abc', version: 0, status: 'created', userId: 'u', ticket: { price: 1 } })],
    ['a version that is a string', JSON.stringify({ id: newId(), version: '0', status: 'created', userId: 'u', ticket: { price: 1 } })],
    ['a negative price', JSON.stringify({ id: newId(), version: 0, status: 'created', userId: 'u', ticket: { price: -5 } })],
    ['an infinite price', `{"id":"${newId()}","version":0,"status":"created","userId":"u","ticket":{"price":1e400}}`],
    ['a price that is a string', JSON.stringify({ id: newId(), version: 0, status: 'created', userId: 'u', ticket: { price: '10' } })],
    ['no ticket', JSON.stringify({ id: newId(), version: 0, status: 'created', userId: 'u' })],
    ['a numeric user id', JSON.stringify({ id: newId(), version: 0, status: 'created', userId: 42, ticket: { price: 1 } })],
    ['a huge payload', JSON.stringify({ id: newId(), version: 0, status: 'created', userId: 'x'.repeat(200_000), ticket: { price: 1 } })],
  ];

  test.each(malformed)('when order:created carries %s, then it is logged, acked once and the next event still applies', async (_kind, payload) => {
    const before = logs.find({ msg: 'malformed event acked and dropped' }).length;
    await orders.raw('order:created', payload);
    const next = newId();
    await orders.created({ id: next, userId: 'user-2', price: 5 });
    await eventually(async () => expect(await stored(next)).not.toBeNull());
    await sleep(1500); // past the ack wait: had it not been acked it would be logged again
    const logged = logs.find({ msg: 'malformed event acked and dropped' }).slice(before);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ subject: 'order:created', sequence: expect.any(Number), reason: expect.any(String) });
  });

  test('when order:cancelled is malformed, then it is logged and acked', async () => {
    const before = logs.find({ msg: 'malformed event acked and dropped', subject: 'order:cancelled' }).length;
    await orders.raw('order:cancelled', JSON.stringify({ id: newId(), version: -1 }));
    await eventually(() => expect(logs.find({ msg: 'malformed event acked and dropped', subject: 'order:cancelled' })).toHaveLength(before + 1));
  });

  test('when the service stops mid-stream and starts again, then it resumes with nothing lost or doubled', async () => {
    const ids = Array.from({ length: 60 }, () => newId());
    for (const id of ids.slice(0, 30)) await orders.created({ id, userId: 'user-3', price: 1 });
    await service.stop();
    for (const id of ids.slice(30)) await orders.created({ id, userId: 'user-3', price: 1 });
    for (const id of ids.slice(0, 10)) await orders.cancelled({ id, version: 1 });
    await start();
    await eventually(async () => {
      expect(await model.countDocuments({ _id: { $in: ids } })).toBe(60);
      expect(await model.countDocuments({ _id: { $in: ids }, status: 'cancelled', version: 1 })).toBe(10);
    }, 20_000);
  });
});

function expectDefined<T>(value: T | null | undefined): T {
  expect(value).toBeDefined();
  expect(value).not.toBeNull();
  return value as T;
}
