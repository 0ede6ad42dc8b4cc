import { Config } from '../config';
import { Logger } from '../logger';
import { BusOptions, EventBus } from './bus';
import { Subjects } from './contracts';

/** What the composition root chooses; the rest comes from config. */
export type CommonBusOptions = Pick<BusOptions, 'onHandled' | 'queueGroup' | 'pingIntervalMs' | 'maxPingsOut'>;

/**
 * The one place that knows which broker runs (EVENT_BUS). Only that broker's
 * client is loaded: the other one would be code kept in memory and never run.
 */
export async function connectBus(config: Config, common: CommonBusOptions, logger: Logger): Promise<EventBus> {
  if (config.eventBus === 'jetstream') {
    const { JetStreamBus } = await import('./jetstream-bus');
    const { url, clientId, ackWaitMs } = config.nats;
    const { stream: name, maxAgeMs, duplicateWindowMs } = config.jetstream;
    const stream = { name, subjects: Object.values(Subjects), maxAgeMs, duplicateWindowMs };
    return JetStreamBus.connect({ ...common, url, clientId, ackWaitMs, stream }, logger);
  }
  const { NatsStreamingBus } = await import('./nats-bus');
  return NatsStreamingBus.connect({ ...config.nats, ...common }, logger);
}
