'use strict';
/**
 * Phase 4, replication: with the service down, N order:created then N
 * order:cancelled (version 1) go to a broker of their own (--bus); then the
 * service starts on a fresh database and the clock runs until it is ready and
 * every order is stored (with its user: a tombstone left by a cancel that came
 * first does not count) and cancelled. Events/s = (created + cancelled applied)
 * ÷ seconds from the service's spawn until the last of them was applied (or the
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

    await ctx.pgStatements?.reset();
    const service = await startService({
      name: 'payments-replication',
      port: await freePort(),
      env: serviceEnv({ MONGO_URI: `${ferret.uri}/${database}`, NATS_URL: natsR.url }),
      waitReady: false,
      // Measured by then, its database thrown away: a stuck graceful stop is not worth waiting for.
      killAfterMs: 5000,
    });
    const timeoutMs = config.replicationTimeoutS * 1000;
    const watch = monitor({ service: [service.pid], ferretdb: ctx.databasePids, nats: [natsR.pid] });
    const since = (t) => (t === undefined ? null : round((t - service.spawnedAt) / 1000, 2));
    // Readiness and the database are watched side by side: the service may answer
    // /readyz long before it has caught up, or (busy catching up) long after.
    // Readiness gets 10 s more than the rest, so that it is seen when it comes right after catching up.
    const ready = service.ready(timeoutMs + 10_000, 50);
    let storedAt;
    let cancelledAt;
    let last = { stored: 0, cancelled: 0 };
    let counted = 0;
    const progress = [];
    // Counting in the database is a scan FerretDB pays for while the service works
    // (a tombstone must not count as an order:created applied, so the filter is on
    // userId, which FerretDB does not push down). So progress is read from the
    // service's own metrics four times a second, and the database is counted every
    // 5 s and whenever the metrics say an event kind is done: only the database's
    // count ends the wait, so an event set aside (acked, not applied) keeps it going.
    const handled = async () => {
      const metrics = await scrapeMetrics([service.url]);
      const acked = (subject) => metrics[`payments_events_handled_total{subject="${subject}",outcome="acked"}`] ?? 0;
      return { created: acked('order:created'), cancelled: acked('order:cancelled') };
    };
    await waitUntil(
      async () => {
        if (service.exit) throw new Error(`the service exited during replication:\n${service.output().slice(-2000)}`);
        const now = performance.now();
        const acked = await handled();
        const due = now - counted >= 5000 || (storedAt === undefined && acked.created >= n) || (cancelledAt === undefined && acked.cancelled >= n);
        if (!due) return false;
        counted = now;
        const stored = await countOrders(db, { userId: { $exists: true } }).catch(() => last.stored);
        const cancelled = await countOrders(db, { status: 'cancelled' }).catch(() => last.cancelled);
        last = { stored, cancelled };
        progress.push({ seconds: since(now), stored, cancelled, acked });
        if (storedAt === undefined && stored >= n) storedAt = now;
        if (cancelledAt === undefined && cancelled >= n) cancelledAt = now;
        return storedAt !== undefined && cancelledAt !== undefined;
      },
      { timeoutMs: Math.max(0, timeoutMs - (performance.now() - service.spawnedAt)), intervalMs: 250 },
    );
    const endedAt = performance.now();
    const caughtUpAt = storedAt !== undefined && cancelledAt !== undefined ? Math.max(storedAt, cancelledAt) : undefined;
    // Caught up: readiness may follow within 10 s. Not caught up: whatever it did so far.
    const readyWaitMs = caughtUpAt !== undefined ? Math.max(10_000, timeoutMs - (endedAt - service.spawnedAt)) : 0;
    const readyMs = await Promise.race([ready, sleep(readyWaitMs).then(() => service.readyMs)]);
    result.usage = watch.stop();
    result.peakRssMb = round(procs.statusMb(service.pid, 'VmHWM') ?? 0, 1);
    result.metrics = await scrapeMetrics([service.url]);
    result.logs = service.logSummary();
    if (ctx.pgStatements) result.pgStatements = await ctx.pgStatements.top();
    result.readySeconds = readyMs === undefined ? null : round(readyMs / 1000, 2);
    result.watchedSeconds = round((endedAt - service.spawnedAt) / 1000, 1);
    if (readyMs === undefined) result.readyNotSeenWithinSeconds = round((performance.now() - service.spawnedAt) / 1000, 1);
    result.storedSeconds = since(storedAt);
    result.allCancelledSeconds = since(cancelledAt);
    const elapsedS = ((caughtUpAt ?? endedAt) - service.spawnedAt) / 1000;
    result.applied = last;
    // Events applied per second: every order stored is an order:created applied, every one cancelled an order:cancelled.
    result.eventsPerSecond = round((last.stored + last.cancelled) / elapsedS, 0);
    result.eventsPerSecondOver = { createdApplied: last.stored, cancelledApplied: last.cancelled, seconds: round(elapsedS, 2) };
    result.createdPerSecond = storedAt !== undefined ? round(n / ((storedAt - service.spawnedAt) / 1000), 0) : null;
    result.progress = progress;
    if (caughtUpAt === undefined) {
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
