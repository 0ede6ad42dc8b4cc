import request from 'supertest';
import { startFerretDB } from '../scripts/servers';
import { orderModel } from '../src/data-access/order-model';
import { Service } from '../src/service';
import { eventually } from './support/eventually';
import { natsServer, NatsTarget, newId, OrdersPublisher, serviceConfig, startTestService, unique } from './support/harness';
import { LogCapture } from './support/log-capture';

// This file runs a database of its own, so that stopping it disturbs no other test.
describe('order replication while the database is down', () => {
  let ferret: Awaited<ReturnType<typeof startFerretDB>>;
  let nats: NatsTarget;
  let orders: OrdersPublisher;
  let service: Service;
  const logs = new LogCapture();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    ferret = await startFerretDB();
    nats = await natsServer();
    orders = await OrdersPublisher.connect(nats);
    const config = serviceConfig({ database: 'outage', nats, extra: { MONGO_URI: `${ferret.uri}/outage` } });
    service = await startTestService(config, { queueGroup: unique('payments-service'), logger: logs.logger });
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await service?.stop();
    await orders?.close();
    await nats?.stop();
    await ferret?.stop();
  });

  test('when the database is down, then /readyz names it, the event stays unacked and logged, and it applies once the database returns', async () => {
    // Subscriptions are set up just after start (JetStream's consumer takes a few round trips).
    await eventually(async () => expect((await request(service.server).get('/readyz')).status).toBe(200));
    await ferret.stop();
    const notReady = await eventually(async () => {
      const res = await request(service.server).get('/readyz');
      expect(res.status).toBe(503);
      return res;
    });
    expect(notReady.body).toMatchObject({ checks: { mongo: false, nats: true }, down: ['mongo'] });
    expect((await request(service.server).get('/healthz')).status).toBe(200);
    const id = newId();
    await orders.created({ id, userId: 'user-1', price: 12.5 });
    await eventually(() => expect(logs.find({ msg: 'event handler failed; left for redelivery', subject: 'order:created' }).length).toBeGreaterThan(0), 30_000);

    ferret = await startFerretDB({ port: ferret.port, dir: ferret.dir });
    const model = orderModel(service.connection);
    await eventually(async () => expect(await model.findById(id).lean()).toMatchObject({ price: 12.5, version: 0 }), 40_000);
    expect(await model.countDocuments({ _id: id })).toBe(1);
    expect((await request(service.server).get('/readyz')).body).toMatchObject({ status: 'ready', down: [] });
    expect(unhandled).toEqual([]);
  });
});
