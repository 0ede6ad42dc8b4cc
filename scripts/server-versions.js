'use strict';
/**
 * The test and local servers, pinned. FerretDB is built from tools/ferretdb (its go.mod
 * pins v1.24.2); Jaeger, for the tests only, as a Go tool (see its entry). `stoppedByTests`: some tests run one of their own to stop it.
 */
module.exports = {
  binDir: require('node:path').join(__dirname, '..', '.servers', 'bin'),
  servers: {
    ferretdb: { build: 'local', dir: 'tools/ferretdb', version: 'v1.24.2', stoppedByTests: true },
    'nats-streaming-server': { build: 'install', module: 'github.com/nats-io/nats-streaming-server', version: 'v0.25.6', stoppedByTests: true },
    // NATS with JetStream (`-js`), the broker that replaced NATS Streaming.
    'nats-server': { build: 'install', module: 'github.com/nats-io/nats-server/v2', version: 'v2.15.3', stoppedByTests: true },
    'stripe-mock': { build: 'install', module: 'github.com/stripe/stripe-mock', version: 'v0.203.0' },
    // Jaeger v2 (the OpenTelemetry Collector with Jaeger's storage and query API), the
    // traces test's receiver. Its go.mod has a replace directive, which `go install m@v`
    // refuses: `tool` builds it as a tool of a throwaway module (`go get -tool`).
    jaeger: { build: 'tool', module: 'github.com/jaegertracing/jaeger', package: 'github.com/jaegertracing/jaeger/cmd/jaeger', version: 'v1.75.0' },
  },
};
