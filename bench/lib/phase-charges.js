'use strict';
/**
 * Phases 1 and 2, charges and floor: a warm-up, then POST /api/payments at each
 * load (--connections), the service and bench/floor.js (the same I/O, nothing
 * else) taking turns load by load, each load paying fresh orders.
 */
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { freePort } = require('../../scripts/servers');
const { launch } = require('./procs');
const { feeder } = require('./load');
const { countStored } = require('./seed');
const { BENCH_DIR } = require('./stack');

/** Starts bench/floor.js on the database at `mongoUri` and the broker at `natsUrl`; resolves with { proc, url }. */
async function startFloor(ctx, { mongoUri = ctx.mongoUri, natsUrl = ctx.natsTarget.url, collection = `floor_payments_${ctx.runId}` } = {}) {
  const port = await freePort();
  const proc = launch('floor', process.execPath, [path.join(BENCH_DIR, 'floor.js')], {
    env: {
      PATH: process.env.PATH || '',
      PORT: String(port),
      MONGO_URI: mongoUri,
      EVENT_BUS: ctx.config.bus,
      NATS_URL: natsUrl,
      NATS_CLUSTER_ID: ctx.natsTarget.clusterId,
      NATS_CLIENT_ID: `payments-floor-${randomBytes(4).toString('hex')}`,
      STRIPE_KEY: 'sk_test_bench',
      STRIPE_API_URL: ctx.stripeUrl,
      FLOOR_COLLECTION: collection,
      FLOOR_STEPS: ctx.config.floor,
    },
    killAfterMs: 5000,
  });
  await proc.waitFor(/\{"port":\d+\}/, 30_000);
  const url = `http://127.0.0.1:${port}`;
  ctx.log(`floor (bench/floor.js) at ${url} (pid ${proc.pid})`);
  return { proc, url };
}

async function stopFloor(floor) {
  if (!floor) return;
  await floor.proc.stop();
  floor.proc.unregister();
}

/** Service ÷ floor at one load: throughput and latency ratios (null when either is missing). */
function floorRatio(service, floor) {
  if (!service || !floor) return { throughput: null, p50: null, p99: null };
  const ratio = (a, b) => (a && b ? Math.round((a / b) * 100) / 100 : null);
  return {
    throughput: ratio(service.requestsPerSecond, floor.requestsPerSecond),
    p50: ratio(service.latencyMs.p50, floor.latencyMs.p50),
    p99: ratio(service.latencyMs.p99, floor.latencyMs.p99),
  };
}

/** Runs the warm-up and the charge loads; returns the warm-up's rate (orders per second), which sizes later phases. */
async function runCharges(ctx) {
  const { config, results, log } = ctx;
  const targets = ctx.mainStage.targets;
  let floor;
  if (config.skip.has('floor') || config.skip.has('charges')) {
    results.notes.push('floor skipped (--skip)');
  } else if (!ctx.mongoUri) {
    results.notes.push('floor skipped: it reads the orders from the database; pass --mongo-uri');
  } else {
    floor = await startFloor(ctx);
  }
  const floorGroups = () => ctx.groupsFor(ctx.external ? [] : ctx.servicePids(), { extra: { floor: [floor.proc.pid] } });

  log(`warm-up: ${config.warmupS} s at 16 connections ...`);
  const warmOrders = await ctx.prepareOrders(ctx.mainStage, Math.max(300, 16 * 25 * config.warmupS), 'warm-up');
  const warm = await ctx.measure({
    label: 'warm-up', urls: targets, connections: 16, durationS: config.warmupS, orders: feeder(warmOrders.orders), groups: ctx.groupsFor(ctx.servicePids()),
  });
  results.warmup = { requestsPerSecond: warm.requestsPerSecond, p50: warm.latencyMs.p50, prep: warmOrders.prep };
  if (floor) {
    await ctx.measure({ label: 'floor warm-up', urls: [floor.url], connections: 16, durationS: config.warmupS, orders: feeder(warmOrders.orders, { cycle: true }), groups: floorGroups() });
  }
  const rate = Math.max(warm.requestsPerSecond, 20);

  if (config.skip.has('charges')) {
    results.notes.push('charges skipped (--skip)');
  } else {
    const chargeNeed = config.connections.reduce((sum, c) => sum + rate * config.durationS * 1.6 + c * 2 + 100, 0);
    const chargeOrders = await ctx.prepareOrders(ctx.mainStage, chargeNeed, 'charges');
    results.charges.prep = chargeOrders.prep;
    const chargeFeed = feeder(chargeOrders.orders);
    // Service and floor take turns at each load, so that both see the same machine
    // (it may be shared) and the same orders: the floor goes round the very orders
    // the service just paid (the database's cost of a lookup depends on where the
    // document sits in its collection).
    for (const connections of config.connections) {
      const from = chargeFeed.used;
      const service = await ctx.measure({
        label: 'service', urls: targets, connections, orders: chargeFeed, groups: ctx.groupsFor(ctx.servicePids()), services: ctx.external ? [] : ctx.services,
      });
      results.charges.service.push(service);
      if (floor) {
        const paid = chargeOrders.orders.slice(from, Math.max(chargeFeed.used, from + 1));
        const f = await ctx.measure({ label: 'floor', urls: [floor.url], connections, orders: feeder(paid, { cycle: true }), groups: floorGroups() });
        results.charges.floor.push(f);
        service.floorRatio = floorRatio(service, f);
        log(`service ÷ floor at ${connections} connections: throughput ×${service.floorRatio.throughput}, p99 ×${service.floorRatio.p99}`);
      }
    }
  }
  await stopFloor(floor);
  results.charges.ratios = config.connections.map((connections) => ({
    connections,
    ...floorRatio(results.charges.service.find((e) => e.connections === connections), results.charges.floor.find((e) => e.connections === connections)),
  }));

  // Totals of the charge phases, from the database: every 2xx is a payment, and the events still owed (none, once settled).
  if (ctx.db && !ctx.external) results.database = await countStored(ctx.db);
  if (!ctx.external) {
    for (const service of ctx.services) results.logs = { ...results.logs, [service.name]: service.logSummary() };
  }
  await ctx.stopServices(ctx.services.splice(0));
  return rate;
}

module.exports = { runCharges, startFloor, stopFloor, floorRatio };
