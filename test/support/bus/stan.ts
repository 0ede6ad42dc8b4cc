// jest project 'stan': the harness, the service and its processes run on NATS Streaming.
process.env.EVENT_BUS = 'stan';
