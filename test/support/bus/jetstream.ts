// jest project 'jetstream': the harness, the service and its processes run on NATS JetStream.
process.env.EVENT_BUS = 'jetstream';
