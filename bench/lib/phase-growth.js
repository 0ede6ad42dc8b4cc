'use strict';
/**
 * The growth run: the same charge load (--growth-connections, --duration) on a
 * database that already holds 0, 5,000, 20,000 ... payments and their orders
 * (--growth), seeded in bulk (seed.js). Each size gets a database, a broker and
 * a service process of its own, and the floor takes its turn on that database
 * too. Figures are set against the empty database's: flat as data grows.
 */
const { feeder } = require('./load');
const { freshStage } = require('./stack');
const { seed, countStored } = require('./seed');
const { startFloor, stopFloor, floorRatio } = require('./phase-charges');
const { round } = require('./procs');

/** `rate`: orders per second the service was last seen to pay, to size the orders. */
async function runGrowth(ctx, rate) {
  const { config, results, log } = ctx;
  const connections = config.growthConnections;
  const seen = results.charges.service.find((e) => e.connections === connections);
  const expected = Math.max(seen?.requestsPerSecond ?? rate, 20);
  results.growth = { connections, durationS: config.durationS, runs: [] };
  for (const size of config.growth) {
    const stage = await freshStage(ctx, `g${size}`);
    log(`growth: seeding ${size} payments with their orders ...`);
    const seeded = await seed(stage.db, size);
    log(`growth: seeded ${seeded.payments} payments, ${seeded.orders} orders, ${seeded.refunds} refunds in ${seeded.seconds} s`);
    const service = await ctx.startOne(`payments-g${size}`, { MONGO_URI: stage.uri, NATS_URL: stage.nats.url });
    stage.targets = [service.url];
    stage.baseline = seeded.orders;
    const warmN = 16 * 25;
    const prepared = await ctx.prepareOrders(stage, expected * config.durationS * 1.6 + connections * 2 + 100 + warmN, `growth ${size}`);
    const feed = feeder(prepared.orders);
    const groups = ctx.groupsFor([service.pid], { natsPid: stage.nats.pid });
    await ctx.measure({ label: `growth ${size} warm-up`, urls: stage.targets, connections: 16, durationS: 1, orders: feed, groups, stage });
    const from = feed.used;
    const run = await ctx.measure({ label: `growth ${size}`, urls: stage.targets, connections, orders: feed, groups, stage, services: [service] });
    const entry = { stored: size, seeded, prep: prepared.prep, ...run };
    if (!config.skip.has('floor')) {
      // The floor on the same database, over the orders the service just paid.
      const floor = await startFloor(ctx, { mongoUri: stage.uri, natsUrl: stage.nats.url });
      const paid = prepared.orders.slice(from, Math.max(feed.used, from + 1));
      entry.floor = await ctx.measure({
        label: `growth ${size} floor`, urls: [floor.url], connections, orders: feeder(paid, { cycle: true }), groups: ctx.groupsFor([], { natsPid: stage.nats.pid, extra: { floor: [floor.proc.pid] } }), stage,
      });
      entry.floorRatio = floorRatio(entry, entry.floor);
      await stopFloor(floor);
    }
    entry.databaseAfter = await countStored(stage.db);
    entry.logs = service.logSummary();
    results.growth.runs.push(entry);
    await ctx.stopServices([service]);
    await stage.close();
  }
  const empty = results.growth.runs.find((r) => r.stored === 0);
  if (!empty) results.notes.push('growth: no run on an empty database (--growth without 0): no ratios to empty');
  for (const r of results.growth.runs) {
    const ratio = (a, b) => (empty && a && b ? round(a / b, 2) : null);
    r.toEmpty = {
      throughput: ratio(r.requestsPerSecond, empty?.requestsPerSecond),
      p50: ratio(r.latencyMs.p50, empty?.latencyMs.p50),
      p99: ratio(r.latencyMs.p99, empty?.latencyMs.p99),
    };
    log(`growth ${r.stored}: ${r.requestsPerSecond} req/s (×${r.toEmpty.throughput} of empty), p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms (×${r.toEmpty.p99})`);
  }
}

module.exports = { runGrowth };
