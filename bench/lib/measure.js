'use strict';
/**
 * The measuring tools every phase shares: orders published and replicated
 * before a load, one measured load (CPU/RSS watched, charges counted, service
 * metrics read), and the pause that lets the target finish what a load left in flight.
 */
const procs = require('./procs');
const { monitor, round, sleep } = procs;
const { makeOrders, createdEvent, waitUntil, countOrders, knownOverHttp } = require('./orders');
const { chargeLoad } = require('./load');
const { scrapeMetrics, readTraces, perRequest } = require('./service-stats');

const cookieOf = (order) => order.cookie;

/** Adds prepareOrders, quiesce and measure to the context. */
function addMeasuring(ctx) {
  const { config, results, log } = ctx;

  /** Publishes `count` fresh orders to `stage` and waits until the service has them all; returns them. */
  ctx.prepareOrders = async (stage, count, label) => {
    count = Math.min(Math.max(1, Math.ceil(count)), config.maxOrders);
    const orders = makeOrders(count, ctx.jwtKey);
    const published = performance.now();
    await stage.publisher.publishAll('order:created', orders.map(createdEvent));
    const publishS = (performance.now() - published) / 1000;
    const expected = stage.baseline + count;
    const waited = await waitUntil(
      async () => {
        if (stage.db) return (await countOrders(stage.db)) >= expected;
        // Out of the database's sight: ask about the last published and a sample of the rest.
        const sample = orders.slice(-20).concat(Array.from({ length: 20 }, () => orders[Math.floor(Math.random() * orders.length)]));
        return knownOverHttp(stage.targets[0], sample, ctx.jwtKey);
      },
      { timeoutMs: Math.max(60_000, count * 20), intervalMs: stage.db ? 200 : 1000 },
    );
    const replicatedS = (performance.now() - published) / 1000;
    if (waited === undefined) {
      const note = `${label}: not every one of ${count} orders was replicated in time; requests for the missing ones answer 404`;
      results.notes.push(note);
      log(note);
    }
    stage.baseline = stage.db ? await countOrders(stage.db) : stage.baseline + count;
    const prep = { orders: count, publishSeconds: round(publishS, 2), replicatedAfterSeconds: round(replicatedS, 2), ordersPerSecond: round(count / replicatedS, 0) };
    log(`${label}: ${count} orders published in ${prep.publishSeconds} s, replicated after ${prep.replicatedAfterSeconds} s (${prep.ordersPerSecond}/s)`);
    return { orders, prep };
  };

  const databaseCpu = () => ctx.databasePids().reduce((sum, pid) => sum + (procs.cpuSeconds(pid) ?? 0), 0);
  /**
   * Lets the target finish what the last load left in flight (autocannon stops
   * waiting at the end of a run; the service does not stop working): waits until
   * no charge was made for 1.5 s and the database is idle, at most `capS` seconds.
   */
  ctx.quiesce = async (capS = 20) => {
    const started = performance.now();
    let last = (await ctx.stripeStats()).charges;
    let stableSince = performance.now();
    let dbCpu = ctx.ferret ? databaseCpu() : undefined;
    while ((performance.now() - started) / 1000 < capS) {
      await sleep(500);
      const charges = (await ctx.stripeStats()).charges;
      if (charges !== last) {
        last = charges;
        stableSince = performance.now();
      }
      let dbIdle = true;
      if (ctx.ferret) {
        const now = databaseCpu();
        dbIdle = now - dbCpu < 0.05; // under 10 % of a core over the last 0.5 s
        dbCpu = now;
      }
      if (dbIdle && performance.now() - stableSince >= 1500) break;
    }
    return round((performance.now() - started) / 1000, 1);
  };

  /** One measured load against `urls`; `stage` says where the orders live (ctx.mainStage by default). */
  ctx.measure = async ({ label, urls, connections, orders, groups, stage = ctx.mainStage, durationS = config.durationS, services: watched = [] }) => {
    const sizes = stage.db
      ? { orders: await countOrders(stage.db), payments: await stage.db.collection('payments').countDocuments({}) }
      : undefined;
    const before = await ctx.stripeStats();
    const traceBefore = readTraces(watched);
    await ctx.pgStatements?.reset();
    const watch = monitor(groups);
    const load = await chargeLoad({ urls, connections, durationS, orders, cookieOf });
    const usage = watch.stop();
    const settleSeconds = await ctx.quiesce();
    const after = await ctx.stripeStats();
    // Charges include those of requests still in flight when the run ended (finished while settling).
    const entry = { label, ...load, charges: after.charges - before.charges, settleSeconds, usage, databaseBefore: sizes };
    if (watched.length) entry.serviceMetrics = await scrapeMetrics(watched.map((s) => s.url));
    if (ctx.pgStatements) entry.pgStatements = await ctx.pgStatements.top();
    if (config.traceDb && watched.length) {
      await sleep(600); // the trace files are written every 500 ms
      // Per charge made: requests still in flight at the end finished (and were traced) while settling.
      entry.dbCommands = perRequest(traceBefore, readTraces(watched), entry.charges);
    }
    if (load.ordersRanOut) {
      const note = `${label} at ${connections} connections: orders ran out after ${load.ranOutAfterSeconds} s (throughput is over that time)`;
      results.notes.push(note);
      log(note);
    }
    log(`${label} c=${connections}: ${load.requestsPerSecond} req/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, non-2xx ${load.non2xx}, errors ${load.errors}, charges ${entry.charges}, settled in ${settleSeconds} s`);
    return entry;
  };
  return ctx;
}

module.exports = { addMeasuring };
