#!/usr/bin/env node
'use strict';
/**
 * Plays the orders service against a running stack (see `npm run dev:stack`):
 *   orders-cli create --user <userId> --price <19.99>   publishes order:created, prints the order id
 *   orders-cli cancel --id <orderId> [--version 1]      publishes order:cancelled
 *   orders-cli watch [--seconds N] [--order <id>] [--all]
 *     prints the payment:* events (created, refunded, refund_failed, disputed) as they arrive: only events published from now on, the
 *     order's own events since the channel began with --order, every event ever kept with --all
 * NATS_URL, NATS_CLUSTER_ID and EVENT_BUS (NATS Streaming, or `jetstream`: the stream
 * JETSTREAM_STREAM, default ticketing, which the service makes) come from the environment
 * or the stack's stack.env (in DEV_STACK_DIR, default .servers/data).
 */
const crypto = require('node:crypto');
const { DeliverPolicy, jetstream } = require('@nats-io/jetstream');
const { connect: natsConnect } = require('@nats-io/transport-node');
const { connect: stanConnect } = require('node-nats-streaming');
const { notReachable, readStackEnv } = require('./stack-env');

const FLAGS = new Set(['all']);

function args(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 1) {
    const name = argv[i].replace(/^--/, '');
    options[name] = FLAGS.has(name) ? true : argv[++i];
  }
  return options;
}

function parseOrderId(data) {
  try {
    return JSON.parse(data).orderId;
  } catch {
    return undefined;
  }
}

const objectId = () => crypto.randomBytes(12).toString('hex');

/** NATS Streaming: publish, and `watch` from now on or (`all`) from the channel's first message. */
async function connectStan(url, clusterId, name) {
  const stan = stanConnect(clusterId, name, { url });
  await new Promise((resolve, reject) => {
    stan.once('connect', resolve);
    stan.once('error', reject);
  });
  return {
    publish: (subject, data) => new Promise((resolve, reject) => stan.publish(subject, data, (err) => (err ? reject(err) : resolve()))),
    watch(subject, all, onMessage) {
      const from = stan.subscriptionOptions();
      if (all) from.setDeliverAllAvailable();
      stan.subscribe(subject, from).on('message', (message) => onMessage(String(message.getData())));
    },
    close: () => stan.close(),
  };
}

/** JetStream: the same, through the stream the service keeps the events in. */
async function connectJetStream(url, stream, name) {
  const nc = await natsConnect({ servers: url, name });
  const js = jetstream(nc);
  return {
    publish: (subject, data) => js.publish(subject, data),
    async watch(subject, all, onMessage) {
      const consumer = await js.consumers.get(stream, { filter_subjects: [subject], deliver_policy: all ? DeliverPolicy.All : DeliverPolicy.New });
      await consumer.consume({ callback: (message) => onMessage(message.string()) });
    },
    close: () => nc.close(),
  };
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const options = args(rest);
  const env = { ...readStackEnv(), ...process.env };
  const url = (env.NATS_URL ?? 'nats://127.0.0.1:4222').replace(/^http:/, 'nats:');
  const name = `orders-cli-${process.pid}`;
  let bus;
  try {
    bus = env.EVENT_BUS === 'jetstream'
      ? await connectJetStream(url, env.JETSTREAM_STREAM || 'ticketing', name)
      : await connectStan(url, env.NATS_CLUSTER_ID ?? 'ticketing', name);
  } catch (err) {
    if (!/ECONNREFUSED/.test(`${err.message} ${err.cause?.code}`)) throw err;
    throw new Error(notReachable(env.EVENT_BUS === 'jetstream' ? 'NATS (JetStream)' : 'NATS Streaming', url, 'NATS_URL'));
  }
  const publish = (subject, data) => bus.publish(subject, JSON.stringify(data));

  switch (command) {
    case 'create': {
      const price = Number(options.price ?? '19.99');
      const order = {
        id: options.id ?? objectId(),
        version: 0,
        status: 'created',
        userId: options.user ?? env.USER_ID ?? 'local-user-1',
        expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
        ticket: { id: objectId(), price },
      };
      await publish('order:created', order);
      console.log(order.id);
      break;
    }
    case 'cancel': {
      if (!options.id) throw new Error('cancel needs --id <orderId>');
      await publish('order:cancelled', { id: options.id, version: Number(options.version ?? '1'), ticket: { id: objectId() } });
      console.log(`cancelled ${options.id}`);
      break;
    }
    case 'watch': {
      // By default only what is published from now on: a second walk-through is not buried under the first.
      for (const subject of ['payment:created', 'payment:refunded', 'payment:refund_failed', 'payment:disputed']) {
        await bus.watch(subject, Boolean(options.all || options.order), (data) => {
          if (options.order && parseOrderId(data) !== options.order) return;
          console.log(`${subject} ${data}`);
        });
      }
      await new Promise((resolve) => setTimeout(resolve, Number(options.seconds ?? '3600') * 1000));
      break;
    }
    default:
      throw new Error('usage: orders-cli create|cancel|watch [options] (see the top of scripts/orders-cli.js)');
  }
  await bus.close();
}

main().catch((err) => {
  console.error(`orders-cli: ${err.message}`);
  process.exit(1);
});
