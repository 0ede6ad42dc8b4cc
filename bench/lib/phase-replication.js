'use strict';
/**
 * Phase 4, replication: with the service down, N order:created then N
 * order:cancelled (version 1) go to a broker of their own (--bus); then the
 * service starts on a fresh database and the clock runs until it is ready and
 * every order is stored and cancelled. Events/s = (created + cancelled applied)
 * ÷ seconds from the service's spawn until the last cancel was applied (or the
 * time-out, over what was applied by then).
 */
const { MongoClient } = require('./mongodb');
const { freePort } = require('../../scripts/servers');
const { startBroker } = require('./broker');
const procs = require('./procs');
const { startService, monitor, round, sleep, onCleanup } = procs;
const { makeOrders, createdEvent, cancelledEvent, Publisher, waitUntil, countOrders } = require('./orders');
const { scrapeMetrics } = require('./service-stats');
const { log } = require('./options');


async function replication(ctx) {
  const { config, ferret, serviceEnv, results } = ctx;
  const n = config.events;
  log(`replication: ${n} order:created + ${n} order:cancelled, service stopped ...`);
  const natsR = await startBroker(config.bus, { clusterId: 'ticketing' });
  const unregisterNats = onCleanup(() => natsR.stop());
  const database = `bench_repl_${Date.now().toString(36)}`;
  const mongoR = await new MongoClient(`${ferret.uri}/${database}`, { serverSelectionTimeoutMS: 10_000 }).connect();
  const unregisterMongo = onCleanup(() => mongoR.close());
  const db = mongoR.db();
  const result = { events: 2 * n, timeoutSeconds: config.replicationTimeoutS };
  try {
    const publisher = await Publisher.connect({ bus: config.bus, url: natsR.url, clusterId: 'ticketing' });
    const orders = makeOrders(n);
    const publishStarted = performance.now();
    await publisher.publishAll('order:created', orders.map(createdEvent));
    await publisher.publishAll('order:cancelled', orders.map(cancelledEvent));
    result.publishSeconds = round((performance.now() - publishStarted) / 1000, 2);
    await publisher.close();
    log(`replication: published ${2 * n} events in ${result.publishSeconds} s; starting the service`);

    const service = await startService({
      name: 'payments-replication',
      port: await freePort(),
      env: serviceEnv({ MONGO_URI: `${ferret.uri}/${database}`, NATS_URL: natsR.url }),
      waitReady: false,
      // Measured by then, its database thrown away: a stuck graceful stop is not worth waiting for.
      killAfterMs: 5000,
    });
    const timeoutMs = config.replicationTimeoutS * 1000;
    const watch = monitor({ service: [service.pid], ferretdb: ctx.databasePids(), nats: [natsR.pid] });
    const since = (t) => (t === undefined ? null : round((t - service.spawnedAt) / 1000, 2));
    // Readiness and the database are watched side by side: the service may answer
    // /readyz long before it has caught up, or (busy catching up) long after.
    // Readiness gets 10 s more than the rest, so that it is seen when it comes right after catching up.
    const ready = service.ready(timeoutMs + 10_000, 50);
    let storedAt;
    let cancelledAt;
    let last = { stored: 0, cancelled: 0 };
    const progress = [];
    await waitUntil(
      async () => {
        if (service.exit) throw new Error(`the service exited during replication:\n${service.output().slice(-2000)}`);
        const stored = await countOrders(db).catch(() => last.stored);
        const cancelled = await countOrders(db, { status: 'cancelled' }).catch(() => last.cancelled);
        last = { stored, cancelled };
        const now = performance.now();
        if (progress.length === 0 || now - service.spawnedAt >= progress.length * 5000) {
          progress.push({ seconds: since(now), stored, cancelled });
        }
        if (storedAt === undefined && stored >= n) storedAt = now;
        if (cancelledAt === undefined && cancelled >= n) cancelledAt = now;
        return cancelledAt !== undefined;
      },
      // Once a second: each count is a scan that FerretDB pays for while the service works.
      { timeoutMs: Math.max(0, timeoutMs - (performance.now() - service.spawnedAt)), intervalMs: 1000 },
    );
    const endedAt = performance.now();
    // Caught up: readiness may follow within 10 s. Not caught up: whatever it did so far.
    const readyWaitMs = cancelledAt !== undefined ? Math.max(10_000, timeoutMs - (endedAt - service.spawnedAt)) : 0;
    const readyMs = await Promise.race([ready, sleep(readyWaitMs).then(() => service.readyMs)]);
    result.usage = watch.stop();
    result.peakRssMb = round(procs.statusMb(service.pid, 'VmHWM') ?? 0, 1);
    result.metrics = await scrapeMetrics([service.url]);
    result.logs = service.logSummary();
    result.readySeconds = readyMs === undefined ? null : round(readyMs / 1000, 2);
    result.watchedSeconds = round((endedAt - service.spawnedAt) / 1000, 1);
    if (readyMs === undefined) result.readyNotSeenWithinSeconds = round((performance.now() - service.spawnedAt) / 1000, 1);
    result.storedSeconds = since(storedAt);
    result.allCancelledSeconds = since(cancelledAt);
    const elapsedS = ((cancelledAt ?? endedAt) - service.spawnedAt) / 1000;
    result.applied = last;
    // Events applied per second: every order stored is an order:created applied, every one cancelled an order:cancelled.
    result.eventsPerSecond = round((last.stored + last.cancelled) / elapsedS, 0);
    result.eventsPerSecondOver = { createdApplied: last.stored, cancelledApplied: last.cancelled, seconds: round(elapsedS, 2) };
    result.createdPerSecond = storedAt !== undefined ? round(n / ((storedAt - service.spawnedAt) / 1000), 0) : null;
    result.progress = progress;
    if (cancelledAt === undefined) {
      result.incomplete = `after ${round(elapsedS, 1)} s: ${last.stored} of ${n} stored, ${last.cancelled} of ${n} cancelled`;
      results.notes.push(`replication incomplete ${result.incomplete} (events/s over what was applied)`);
    }
    log(`replication: ready after ${result.readySeconds} s, all stored after ${result.storedSeconds} s, all cancelled after ${result.allCancelledSeconds} s (${result.eventsPerSecond} events/s = (${last.stored} created + ${last.cancelled} cancelled applied) / ${round(elapsedS, 2)} s)`);
    await service.stop();
    service.unregister();
  } finally {
    await mongoR.close().catch(() => undefined);
    unregisterMongo();
    await natsR.stop();
    unregisterNats();
  }
  return result;
}

module.exports = { replication };
