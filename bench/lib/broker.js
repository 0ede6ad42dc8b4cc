'use strict';
/**
 * The benchmark's two brokers behind one shape: `--bus stan` (NATS Streaming,
 * the default) or `--bus jetstream` (nats-server with JetStream). Starts a server
 * of either kind, and publishes to it with the broker's acks.
 */
const stan = require('node-nats-streaming');
const { connect } = require('@nats-io/transport-node');
const { jetstream, jetstreamManager } = require('@nats-io/jetstream');
const { startNatsServer, startNatsStreaming } = require('../../scripts/servers');

const BUSES = ['stan', 'jetstream'];
/** The service's default JETSTREAM_STREAM, holding the platform's four subjects. */
const STREAM = { name: 'ticketing', subjects: ['order:created', 'order:cancelled', 'payment:created', 'payment:refunded'] };

function startBroker(bus, options = {}) {
  return bus === 'jetstream' ? startNatsServer(options) : startNatsStreaming(options);
}

/** `{ publish(subject, text): Promise, close(): Promise }` on either broker; JetStream's stream is made if missing. */
async function connectBroker({ bus, url, clusterId }, name) {
  url = url.replace(/^http:/, 'nats:');
  if (bus === 'jetstream') {
    const nc = await connect({ servers: url, name });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.info(STREAM.name).catch(() => jsm.streams.add(STREAM));
    const js = jetstream(nc, { timeout: 20_000 });
    return {
      publish: async (subject, text) => void (await js.publish(subject, text)),
      close: () => nc.close(),
    };
  }
  const conn = await new Promise((resolve, reject) => {
    const c = stan.connect(clusterId, name, { url, maxPubAcksInflight: 20_000 });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
  return {
    publish: (subject, text) => new Promise((resolve, reject) => conn.publish(subject, text, (err) => (err ? reject(err) : resolve()))),
    close: () =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, 2000);
        conn.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        conn.close();
      }),
  };
}

module.exports = { BUSES, startBroker, connectBroker };
