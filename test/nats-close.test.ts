import { startNatsStreaming } from '../scripts/servers';
import { NatsStreamingBus } from '../src/events/nats-bus';
import { unique } from './support/harness';
import { eventually } from './support/eventually';
import { LogCapture } from './support/log-capture';

// The NATS Streaming adapter's own behaviour: a server of its own, and the bus itself publishes.
test('when the NATS server goes away while the bus is closing (Ctrl-C reaching both), then no disconnection warning is logged', async () => {
  const nats = await startNatsStreaming();
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
    await bus.publish('order:created', {});
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
