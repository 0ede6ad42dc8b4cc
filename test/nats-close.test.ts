import { NatsStreamingBus } from '../src/events/nats-bus';
import { natsServer, OrdersPublisher, unique } from './support/harness';
import { eventually } from './support/eventually';
import { LogCapture } from './support/log-capture';

test('when the NATS server goes away while the bus is closing (Ctrl-C reaching both), then no disconnection warning is logged', async () => {
  const nats = await natsServer({ own: true });
  const logs = new LogCapture();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let handling = false;
  const bus = await NatsStreamingBus.connect(
    { url: nats.url, clusterId: nats.clusterId, clientId: unique('close-test'), queueGroup: unique('q'), ackWaitMs: 30_000 },
    logs.logger,
  );
  try {
    bus.subscribe('order:created', async () => {
      handling = true;
      await held;
    });
    await eventually(() => expect(bus.ready).toBe(true));
    const orders = await OrdersPublisher.connect(nats);
    await orders.raw('order:created', '{}');
    await orders.close();
    await eventually(() => expect(handling).toBe(true));

    const closed = bus.close(10_000); // waits for the handler in flight
    await nats.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));
    release();
    await closed;
    expect(logs.entries().filter((entry) => Number(entry.level) >= 40).map((entry) => entry.msg)).toEqual([]);
  } finally {
    release();
    await nats.stop();
  }
});
