#!/usr/bin/env node
'use strict';
/**
 * The payments benchmark. `npm run bench` (or `node bench/run.js` after a build).
 *
 *   1. charges      POST /api/payments at 1, 16, 64 connections, every request a
 *                   fresh order replicated beforehand through the broker
 *                   (lib/phase-charges.js)
 *   2. floor        the same loads against bench/floor.js (the same I/O, nothing
 *                   else), taking turns with the service load by load; service ÷
 *                   floor for each load
 *   3. scaling      64 connections against 1 and 3 service processes, each count on
 *                   a fresh database and broker (lib/phase-scaling.js)
 *   4. growth       16 connections on a database already holding 0, 5,000, 20,000
 *                   payments and orders (lib/phase-growth.js, seeded by lib/seed.js)
 *   5. replication  N order:created + N order:cancelled published while the
 *                   service is down, then the time until it has applied them all
 *                   (lib/phase-replication.js)
 *
 * Then the targets, each met or not (lib/targets.js). Real FerretDB (on
 * PostgreSQL, or SQLite with `--backend sqlite`) and nats-streaming-server, or
 * nats-server with JetStream with `--bus jetstream` (scripts/servers.js), a
 * Stripe stand-in (bench/stripe-stand-in.js) that answers at once. Results go to
 * bench/results/<timestamp>.json and a markdown table (lib/report.js) to stdout
 * (progress to stderr). It exits non-zero only when it could not run; no figure
 * fails it. `node bench/run.js --help` for the options.
 */
const fs = require('node:fs');
const path = require('node:path');
const { randomBytes } = require('node:crypto');

const { HELP, parseArgs, log } = require('./lib/options');
const { ROOT, SERVICE_ENTRY, round, cleanupAll, serviceNodeArgs } = require('./lib/procs');
const { countOrders } = require('./lib/orders');
const { startStack } = require('./lib/stack');
const { addMeasuring } = require('./lib/measure');
const { runCharges } = require('./lib/phase-charges');
const { runScaling } = require('./lib/phase-scaling');
const { runGrowth } = require('./lib/phase-growth');
const { replication } = require('./lib/phase-replication');
const { machineInfo } = require('./lib/machine');
const { judge } = require('./lib/targets');
const { markdown } = require('./lib/report');

async function main() {
  const config = parseArgs(process.argv.slice(2));
  if (config.help) {
    process.stdout.write(HELP);
    return;
  }
  const external = Boolean(config.targetUrls);
  if (!external && !fs.existsSync(SERVICE_ENTRY)) throw new Error(`${SERVICE_ENTRY} is missing: run \`npm run build\` first`);

  const runStarted = performance.now();
  const stamp = new Date().toISOString();
  const runId = `${stamp.replace(/[-:.TZ]/g, '').slice(0, 14)}_${randomBytes(2).toString('hex')}`;
  const results = {
    startedAt: stamp,
    options: {
      backend: external ? undefined : config.backend,
      bus: config.bus,
      floor: config.floor,
      quick: config.quick,
      durationS: config.durationS,
      connections: config.connections,
      growth: config.growth,
      growthConnections: config.growthConnections,
      events: config.events,
      instances: config.instances,
      warmupS: config.warmupS,
      traceDb: config.traceDb,
      target: external ? config.targetUrls : 'dist/index.js (started by the benchmark)',
      // Production's (package.json's start script), then BENCH_SERVICE_NODE_ARGS.
      serviceNodeArgs: external ? undefined : serviceNodeArgs(),
    },
    machine: machineInfo(),
    notes: [],
    charges: { service: [], floor: [] },
  };

  if (config.floor === 'safe') {
    results.notes.push("--floor safe: the floor did the service's own I/O (claim, PaymentMethod and PaymentIntent, record, publish, the outbox's read and write), so the ÷ floor figures and the targets below compare with that floor, not with the issue's bare one");
  }
  const ctx = addMeasuring(await startStack(config, results, runId));
  if (external) {
    ctx.targets = config.targetUrls;
  } else {
    ctx.services.push(await ctx.startOne('payments-1'));
    ctx.targets = [ctx.services[0].url];
  }
  // Where orders go and where the service keeps them: the publisher, the database
  // it replicates into (if we can see it), how many orders it held already, and
  // the targets (for the HTTP check when the database is out of sight).
  ctx.mainStage = { publisher: ctx.publisher, db: ctx.db, baseline: ctx.db ? await countOrders(ctx.db) : 0, targets: ctx.targets };

  // 1+2. charges: service and floor, load by load
  const rate = await runCharges(ctx);

  // 3. scaling, 4. growth, 5. replication: each starts and stops service processes of its own
  const phases = [
    ['scaling', () => runScaling(ctx, rate)],
    ['growth', () => runGrowth(ctx, rate)],
    ['replication', async () => (results.replication = await replication(ctx))],
  ];
  for (const [name, run] of phases) {
    if (external) results.notes.push(`${name} skipped: it starts and stops service processes (not possible with --target-url)`);
    else if (config.skip.has(name)) results.notes.push(`${name} skipped (--skip)`);
    else await run();
  }

  // results
  results.targets = judge(results);
  results.stripeStandIn = await ctx.stripeStats();
  results.totalSeconds = round((performance.now() - runStarted) / 1000, 1);
  fs.mkdirSync(config.outDir, { recursive: true });
  const file = path.join(config.outDir, `${stamp.replace(/:/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${markdown(results)}\n`);
  log(`results written to ${path.relative(ROOT, file)}; total ${results.totalSeconds} s`);
}

let exiting = false;
async function finish(code, err) {
  if (exiting) return;
  exiting = true;
  if (err) process.stderr.write(`bench: could not run: ${err && err.stack ? err.stack : err}\n`);
  await cleanupAll();
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void finish(130, new Error(`interrupted (${signal})`)));
process.on('unhandledRejection', (err) => void finish(1, err));
process.on('uncaughtException', (err) => void finish(1, err));

main().then(
  () => finish(0),
  (err) => finish(1, err),
);
