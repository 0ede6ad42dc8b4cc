import { jetstream, JetStreamApiError, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { connect as stanConnect, Stan } from 'node-nats-streaming';
import { Subjects } from '../../src/events/contracts';

/** The broker the tests run on: EVENT_BUS, as the service reads it (jest's projects set it per run). */
export type TestBus = 'stan' | 'jetstream';

export function testBus(): TestBus {
  const bus = process.env.EVENT_BUS ?? 'stan';
  if (bus !== 'stan' && bus !== 'jetstream') throw new Error(`EVENT_BUS=${bus}: the tests know stan and jetstream`);
  return bus;
}

/** The stream the service uses by default (JETSTREAM_STREAM). */
export const TEST_STREAM = 'ticketing';

/**
 * What the tests need from a broker to play the other services: publish a raw
 * payload, and hear every message of a subject from the first one kept
 * (not durable, not shared with anyone). Same calls on both brokers.
 */
export interface BrokerClient {
  /** Resolves once stored: with the stream sequence where the broker tells it at once (JetStream), else undefined. */
  publish(subject: string, data: string): Promise<number | undefined>;
  /** `sequence` is the channel's (NATS Streaming) or the stream's (JetStream), as the service logs it. */
  listen(subject: string, onMessage: (data: string, sequence: number) => void): Promise<void>;
  close(): Promise<void>;
}

export function connectBroker(nats: { url: string; clusterId: string }, name: string): Promise<BrokerClient> {
  return testBus() === 'jetstream' ? JetStreamClient.connect(nats.url, name) : StanClient.connect(nats, name);
}

class StanClient implements BrokerClient {
  private constructor(private readonly stan: Stan) {}

  static connect(nats: { url: string; clusterId: string }, clientId: string): Promise<StanClient> {
    return new Promise((resolve, reject) => {
      const stan = stanConnect(nats.clusterId, clientId, { url: nats.url });
      stan.once('connect', () => resolve(new StanClient(stan)));
      stan.once('error', reject);
    });
  }

  publish(subject: string, data: string): Promise<undefined> {
    return new Promise((resolve, reject) => this.stan.publish(subject, data, (err) => (err ? reject(err) : resolve(undefined))));
  }

  listen(subject: string, onMessage: (data: string, sequence: number) => void): Promise<void> {
    return new Promise((resolve) => {
      const subscription = this.stan.subscribe(subject, this.stan.subscriptionOptions().setDeliverAllAvailable());
      subscription.on('message', (message) => onMessage(String(message.getData()), message.getSequence()));
      subscription.once('ready', () => resolve());
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.stan.once('close', () => resolve());
      this.stan.close();
    });
  }
}

type NatsConnection = Awaited<ReturnType<typeof natsConnect>>;

/**
 * JetStream as the other services would use it: the platform's stream (made here
 * if missing, as the platform would before anyone publishes), acked publishes,
 * and an ordered consumer per listened subject.
 */
class JetStreamClient implements BrokerClient {
  private readonly stops: Array<() => Promise<unknown>> = [];

  private constructor(private readonly nc: NatsConnection) {}

  static async connect(url: string, name: string): Promise<JetStreamClient> {
    const nc = await natsConnect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(TEST_STREAM);
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== 10059) throw err;
      await jsm.streams.add({ name: TEST_STREAM, subjects: Object.values(Subjects) }).catch(() => undefined); // another made it meanwhile
    }
    return new JetStreamClient(nc);
  }

  async publish(subject: string, data: string): Promise<number> {
    return (await jetstream(this.nc).publish(subject, data)).seq;
  }

  async listen(subject: string, onMessage: (data: string, sequence: number) => void): Promise<void> {
    const consumer = await jetstream(this.nc).consumers.get(TEST_STREAM, { filter_subjects: [subject], deliver_policy: DeliverPolicy.All });
    const messages = await consumer.consume({ callback: (message) => onMessage(message.string(), message.seq) });
    this.stops.push(() => messages.close());
  }

  async close(): Promise<void> {
    await Promise.all(this.stops.map((stop) => stop().catch(() => undefined)));
    await this.nc.close();
  }
}
