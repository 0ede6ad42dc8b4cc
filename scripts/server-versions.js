'use strict';
/**
 * The test and local servers, pinned. FerretDB is built from tools/ferretdb (its go.mod
 * pins v1.24.2). `stoppedByTests`: some tests run one of their own to stop it.
 */
module.exports = {
  binDir: require('node:path').join(__dirname, '..', '.servers', 'bin'),
  servers: {
    ferretdb: { build: 'local', dir: 'tools/ferretdb', version: 'v1.24.2', stoppedByTests: true },
    'nats-streaming-server': { build: 'install', module: 'github.com/nats-io/nats-streaming-server', version: 'v0.25.6', stoppedByTests: true },
    // NATS with JetStream (`-js`), the broker that replaced NATS Streaming.
    'nats-server': { build: 'install', module: 'github.com/nats-io/nats-server/v2', version: 'v2.15.3', stoppedByTests: true },
    'stripe-mock': { build: 'install', module: 'github.com/stripe/stripe-mock', version: 'v0.203.0' },
  },
};
