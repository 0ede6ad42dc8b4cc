#!/usr/bin/env node
'use strict';
/**
 * Plays the orders service against a running stack (see `npm run dev:stack`):
 *   orders-cli create --user <userId> --price <19.99>   publishes order:created, prints the order id
 *   orders-cli cancel --id <orderId> [--version 1]      publishes order:cancelled
 *   orders-cli watch [--seconds N] [--order <id>] [--all]
 *     prints payment:created and payment:refunded as they arrive: only events published from now on, the
 *     order's own events since the channel began with --order, every event ever kept with --all
 * NATS_URL and NATS_CLUSTER_ID come from the environment or the stack's stack.env
 * (in DEV_STACK_DIR, default .servers/data).
 */
const crypto = require('node:crypto');
const { connect } = require('node-nats-streaming');
const { readStackEnv } = require('./stack-env');

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

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const options = args(rest);
  const env = { ...readStackEnv(), ...process.env };
  const url = (env.NATS_URL ?? 'nats://127.0.0.1:4222').replace(/^http:/, 'nats:');
  const stan = connect(env.NATS_CLUSTER_ID ?? 'ticketing', `orders-cli-${process.pid}`, { url });
  await new Promise((resolve, reject) => {
    stan.once('connect', resolve);
    stan.once('error', reject);
  });
  const publish = (subject, data) =>
    new Promise((resolve, reject) => stan.publish(subject, JSON.stringify(data), (err) => (err ? reject(err) : resolve())));

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
      const from = stan.subscriptionOptions();
      if (options.all || options.order) from.setDeliverAllAvailable();
      for (const subject of ['payment:created', 'payment:refunded']) {
        stan.subscribe(subject, from).on('message', (message) => {
          const data = String(message.getData());
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
  stan.close();
}

main().catch((err) => {
  console.error(`orders-cli: ${err.message}`);
  process.exit(1);
});
