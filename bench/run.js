#!/usr/bin/env node
'use strict';
/**
 * The payments benchmark. `npm run bench` (or `node bench/run.js` after a build).
 *
 *   1. charges   POST /api/payments at 1, 16, 64 connections, every request a
 *                fresh order replicated beforehand through the broker
 *   2. floor     the same loads against bench/floor.js (the same I/O, nothing
 *                else), taking turns with the service load by load
 *   3. scaling   64 connections against 1 and 3 service processes, each count on
 *                a fresh database and broker
 *   4. replication  N order:created + N order:cancelled published while the
 *                service is down, then the time until it has applied them all
 *
 * Real FerretDB and nats-streaming-server, or nats-server with JetStream with
 * `--bus jetstream` (scripts/servers.js), a Stripe
 * stand-in (bench/stripe-stand-in.js) that answers at once. Results go to
 * bench/results/<timestamp>.json and a markdown table to stdout (progress to
 * stderr). It exits non-zero only when it could not run; no figure fails it.
 * `node bench/run.js --help` for the options.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { MongoClient } = require('./lib/mongodb');

const { freePort, startFerretDB } = require('../scripts/servers');
const { BUSES, startBroker } = require('./lib/broker');
const serverVersions = require('../scripts/server-versions');
const procs = require('./lib/procs');
const { ROOT, SERVICE_ENTRY, launch, startService, monitor, round, sleep, onCleanup, cleanupAll } = procs;
const { makeOrders, createdEvent, cancelledEvent, Publisher, waitUntil, countOrders, knownOverHttp } = require('./lib/orders');
const { feeder, chargeLoad } = require('./lib/load');

const HELP = `Usage: node bench/run.js [options]

  --bus <stan|jetstream>  the broker: NATS Streaming (default) or NATS JetStream (EVENT_BUS)
  --quick                 3 s per load, 2,000 replication events (a smoke run)
  --duration <s>          seconds per load (default 10)
  --connections <list>    loads, comma separated (default 1,16,64)
  --events <n>            order:created and as many order:cancelled for the replication run (default 10000)
  --replication-timeout <s>  longest wait for the replication run (default 90, --quick 30); past it the
                          figures cover what was applied in that time
  --instances <n>         service processes for the scaling run (default 3)
  --skip <list>           any of charges,floor,scaling,replication
  --warmup <s>            warm-up seconds at 16 connections, also sizes the orders (default 3)
  --max-orders <n>        most orders pre-created for one phase (default 60000)
  --out <dir>             results folder (default bench/results)
  --trace-db              count the service's MongoDB commands per paid request (preloads
                          bench/lib/mongo-trace.js into the service; adds a little overhead)

Measure another process implementing the contract (no service is started;
replication and scaling, which stop and start the service, are skipped):
  --target-url <url[,url]>  base URL(s) of the running service
  --nats-url <url>          its broker (orders are published there; --bus says which kind)
  --cluster-id <id>         NATS Streaming cluster id (default ticketing)
  --jwt-key <key>           its JWT_KEY (sessions are signed with it)
  --mongo-uri <uri>         optional: its database (to see orders arrive, and for the floor)
  --stripe-port <port>      optional: fixed port for the Stripe stand-in to point it at
  --target-pids <list>      optional: its process ids, to report their CPU and peak RSS
`;

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (['quick', 'help', 'trace-db'].includes(key)) {
      opts[key] = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    opts[key] = value;
  }
  const known = ['bus', 'quick', 'help', 'trace-db', 'duration', 'connections', 'events', 'instances', 'skip', 'warmup', 'max-orders', 'replication-timeout', 'out',
    'target-url', 'nats-url', 'cluster-id', 'jwt-key', 'mongo-uri', 'stripe-port', 'target-pids'];
  for (const key of Object.keys(opts)) if (!known.includes(key)) throw new Error(`unknown option --${key}`);
  const num = (key, fallback, min = 0) => {
    if (opts[key] === undefined) return fallback;
    const n = Number(opts[key]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${key} must be a number >= ${min}`);
    return n;
  };
  const quick = Boolean(opts.quick);
  const config = {
    help: Boolean(opts.help),
    bus: opts.bus ?? 'stan',
    traceDb: Boolean(opts['trace-db']),
    quick,
    durationS: num('duration', quick ? 3 : 10, 1),
    connections: (opts.connections ?? '1,16,64').split(',').map((c) => {
      const n = Number(c);
      if (!Number.isInteger(n) || n < 1) throw new Error('--connections must list positive integers');
      return n;
    }),
    events: num('events', quick ? 2000 : 10_000, 1),
    instances: num('instances', 3, 1),
    replicationTimeoutS: num('replication-timeout', quick ? 30 : 90, 5),
    skip: new Set((opts.skip ?? '').split(',').filter(Boolean)),
    warmupS: num('warmup', quick ? 1 : 3, 1),
    maxOrders: num('max-orders', 60_000, 100),
    outDir: path.resolve(opts.out ?? path.join(__dirname, 'results')),
    targetUrls: opts['target-url'] ? opts['target-url'].split(',').map((u) => u.replace(/\/+$/, '')) : undefined,
    natsUrl: opts['nats-url'],
    clusterId: opts['cluster-id'] ?? 'ticketing',
    jwtKey: opts['jwt-key'],
    mongoUri: opts['mongo-uri'],
    stripePort: opts['stripe-port'] !== undefined ? num('stripe-port', 0) : 0,
    targetPids: (opts['target-pids'] ?? '').split(',').filter(Boolean).map(Number),
  };
  if (!BUSES.includes(config.bus)) throw new Error(`--bus must be one of ${BUSES.join(', ')}`);
  for (const s of config.skip) {
    if (!['charges', 'floor', 'scaling', 'replication'].includes(s)) throw new Error(`--skip: unknown part ${s}`);
  }
  if (config.targetUrls) {
    if (!config.natsUrl || !config.jwtKey) throw new Error('--target-url needs --nats-url and --jwt-key');
  }
  return config;
}

const log = (message) => process.stderr.write(`bench: ${message}\n`);

// ---------------------------------------------------------------- main

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
      bus: config.bus,
      quick: config.quick,
      durationS: config.durationS,
      connections: config.connections,
      events: config.events,
      instances: config.instances,
      warmupS: config.warmupS,
      traceDb: config.traceDb,
      target: external ? config.targetUrls : 'dist/index.js (started by the benchmark)',
    },
    machine: machineInfo(),
    notes: [],
    charges: { service: [], floor: [] },
  };

  // ------------------------------------------------ servers
  let ferret;
  let nats;
  let ferretDir;
  if (!external) {
    log(`starting FerretDB and ${config.bus === 'jetstream' ? 'nats-server (JetStream)' : 'nats-streaming-server'} ...`);
    ferretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-bench-ferretdb-'));
    onCleanup(() => fs.rmSync(ferretDir, { recursive: true, force: true }));
    ferret = await startFerretDB({ dir: ferretDir });
    onCleanup(() => ferret.stop());
    nats = await startBroker(config.bus, { clusterId: config.clusterId });
    onCleanup(() => nats.stop());
    log(`FerretDB ${ferret.uri} (pid ${ferret.pid}), ${config.bus} ${nats.url} (pid ${nats.pid})`);
  }
  const natsTarget = { bus: config.bus, ...(external ? { url: config.natsUrl, clusterId: config.clusterId } : { url: nats.url, clusterId: nats.clusterId }) };

  const standIn = launch('stripe-stand-in', process.execPath, [path.join(__dirname, 'stripe-stand-in.js'), '--port', String(config.stripePort)], {
    env: { PATH: process.env.PATH || '' },
    killAfterMs: 3000,
  });
  const standInPort = Number((await standIn.waitFor(/\{"port":(\d+)\}/, 10_000))[1]);
  const stripeUrl = `http://127.0.0.1:${standInPort}`;
  log(`Stripe stand-in ${stripeUrl}${external ? ' (point the target\'s STRIPE_API_URL here to count its charges)' : ''}`);
  const stripeStats = async () => (await fetch(`${stripeUrl}/_bench/stats`)).json();

  const jwtKey = config.jwtKey ?? `bench-jwt-${randomBytes(16).toString('hex')}`;
  const database = `bench_${runId}`;
  const mongoUri = external ? config.mongoUri : `${ferret.uri}/${database}`;
  let mongo;
  let db;
  if (mongoUri) {
    mongo = await new MongoClient(mongoUri, { serverSelectionTimeoutMS: 10_000 }).connect();
    onCleanup(() => mongo.close());
    db = mongo.db();
  }
  const publisher = await Publisher.connect(natsTarget);
  onCleanup(() => publisher.close());

  const cookieOf = (order) => order.cookie;
  const allOrders = [];

  let traceDir;
  if (config.traceDb) {
    traceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-bench-trace-'));
    onCleanup(() => fs.rmSync(traceDir, { recursive: true, force: true }));
  }
  const serviceEnv = (overrides = {}) => ({
    ...(traceDir
      ? {
          NODE_OPTIONS: `-r ${path.join(__dirname, 'lib', 'mongo-trace.js')}`,
          BENCH_TRACE_FILE: path.join(traceDir, `${randomBytes(6).toString('hex')}.json`),
        }
      : {}),
    JWT_KEY: jwtKey,
    MONGO_URI: mongoUri,
    EVENT_BUS: config.bus,
    NATS_URL: natsTarget.url,
    NATS_CLUSTER_ID: natsTarget.clusterId,
    NATS_CLIENT_ID: `payments-bench-${randomBytes(4).toString('hex')}`,
    STRIPE_KEY: 'sk_test_bench',
    STRIPE_API_URL: stripeUrl,
    LOG_LEVEL: 'warn',
    ...overrides,
  });
  const services = [];
  const startOne = async (name, overrides) => {
    const env = serviceEnv(overrides);
    const service = await startService({ name, port: await freePort(), env });
    service.traceFile = env.BENCH_TRACE_FILE;
    log(`${name} ready at ${service.url} (pid ${service.pid}) after ${round(service.readyMs / 1000, 2)} s`);
    return service;
  };

  let targets;
  if (external) {
    targets = config.targetUrls;
  } else {
    const first = await startOne('payments-1');
    services.push(first);
    targets = [first.url];
  }

  /**
   * Where orders go and where the service keeps them: the publisher, the database
   * it replicates into (if we can see it), how many orders it held already, and
   * the targets (for the HTTP check when the database is out of sight).
   */
  const mainStage = { publisher, db, baseline: db ? await countOrders(db) : 0, targets };

  /** Publishes `count` fresh orders and waits until the service has them all; returns them. */
  const prepareOrders = async (stage, count, label) => {
    count = Math.min(Math.max(1, Math.ceil(count)), config.maxOrders);
    const orders = makeOrders(count, jwtKey);
    const published = performance.now();
    await stage.publisher.publishAll('order:created', orders.map(createdEvent));
    const publishS = (performance.now() - published) / 1000;
    const expected = stage.baseline + count;
    const waited = await waitUntil(
      async () => {
        if (stage.db) return (await countOrders(stage.db)) >= expected;
        // Out of the database's sight: ask about the last published and a sample of the rest.
        const sample = orders.slice(-20).concat(Array.from({ length: 20 }, () => orders[Math.floor(Math.random() * orders.length)]));
        return knownOverHttp(stage.targets[0], sample, jwtKey);
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
    allOrders.push(...orders);
    const prep = { orders: count, publishSeconds: round(publishS, 2), replicatedAfterSeconds: round(replicatedS, 2), ordersPerSecond: round(count / replicatedS, 0) };
    log(`${label}: ${count} orders published in ${prep.publishSeconds} s, replicated after ${prep.replicatedAfterSeconds} s (${prep.ordersPerSecond}/s)`);
    return { orders, prep };
  };

  const groupsFor = (servicePids, { extra = {}, natsPid = nats?.pid } = {}) => ({
    ...(servicePids.length ? { service: servicePids } : {}),
    ...(ferret ? { ferretdb: [ferret.pid] } : {}),
    ...(natsPid ? { nats: [natsPid] } : {}),
    stripe: [standIn.pid],
    ...extra,
  });

  /**
   * Lets the target finish what the last load left in flight (autocannon stops
   * waiting at the end of a run; the service does not stop working): waits until
   * no charge was made for 1.5 s and FerretDB is idle, at most `capS` seconds.
   */
  const quiesce = async (capS = 20) => {
    const started = performance.now();
    let last = (await stripeStats()).charges;
    let stableSince = performance.now();
    let ferretCpu = ferret ? procs.cpuSeconds(ferret.pid) : undefined;
    while ((performance.now() - started) / 1000 < capS) {
      await sleep(500);
      const charges = (await stripeStats()).charges;
      if (charges !== last) {
        last = charges;
        stableSince = performance.now();
      }
      let ferretIdle = true;
      if (ferret) {
        const now = procs.cpuSeconds(ferret.pid);
        ferretIdle = now - ferretCpu < 0.05; // under 10 % of a core over the last 0.5 s
        ferretCpu = now;
      }
      if (ferretIdle && performance.now() - stableSince >= 1500) break;
    }
    return round((performance.now() - started) / 1000, 1);
  };

  /** One measured load: CPU/RSS watched, charges counted, service metrics read. */
  const measure = async ({ label, urls, connections, orders, groups, stage = mainStage, durationS = config.durationS, services: watched = [] }) => {
    const sizes = stage.db
      ? { orders: await countOrders(stage.db), payments: await stage.db.collection('payments').countDocuments({}) }
      : undefined;
    const before = await stripeStats();
    const traceBefore = readTraces(watched);
    const watch = monitor(groups);
    const load = await chargeLoad({ urls, connections, durationS, orders, cookieOf });
    const usage = watch.stop();
    const settleSeconds = await quiesce();
    const after = await stripeStats();
    // Charges include those of requests still in flight when the run ended (finished while settling).
    const entry = { label, ...load, charges: after.charges - before.charges, settleSeconds, usage, databaseBefore: sizes };
    if (watched.length) entry.serviceMetrics = await scrapeMetrics(watched.map((s) => s.url));
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

  // ------------------------------------------------ 1+2. charges: service and floor, load by load
  const servicePids = () => (external ? config.targetPids : services.map((s) => s.pid));
  let floor;
  let floorUrl;
  if (config.skip.has('floor') || config.skip.has('charges')) {
    results.notes.push('floor skipped (--skip)');
  } else if (!mongoUri) {
    results.notes.push('floor skipped: it reads the orders from the database; pass --mongo-uri');
  } else {
    const floorPort = await freePort();
    floor = launch('floor', process.execPath, [path.join(__dirname, 'floor.js')], {
      env: {
        PATH: process.env.PATH || '',
        PORT: String(floorPort),
        MONGO_URI: mongoUri,
        EVENT_BUS: config.bus,
        NATS_URL: natsTarget.url,
        NATS_CLUSTER_ID: natsTarget.clusterId,
        NATS_CLIENT_ID: `payments-floor-${randomBytes(4).toString('hex')}`,
        STRIPE_KEY: 'sk_test_bench',
        STRIPE_API_URL: stripeUrl,
        FLOOR_COLLECTION: `floor_payments_${runId}`,
      },
      killAfterMs: 5000,
    });
    await floor.waitFor(/\{"port":\d+\}/, 30_000);
    floorUrl = `http://127.0.0.1:${floorPort}`;
    log(`floor (bench/floor.js) at ${floorUrl} (pid ${floor.pid})`);
  }
  const floorGroups = () => groupsFor(external ? [] : servicePids(), { extra: { floor: [floor.pid] } });

  log(`warm-up: ${config.warmupS} s at 16 connections ...`);
  const warmOrders = await prepareOrders(mainStage, Math.max(300, 16 * 25 * config.warmupS), 'warm-up');
  const warm = await measure({
    label: 'warm-up',
    urls: targets,
    connections: 16,
    durationS: config.warmupS,
    orders: feeder(warmOrders.orders),
    groups: groupsFor(servicePids()),
  });
  results.warmup = { requestsPerSecond: warm.requestsPerSecond, p50: warm.latencyMs.p50, prep: warmOrders.prep };
  if (floor) {
    await measure({ label: 'floor warm-up', urls: [floorUrl], connections: 16, durationS: config.warmupS, orders: feeder(warmOrders.orders, { cycle: true }), groups: floorGroups() });
  }
  const rate = Math.max(warm.requestsPerSecond, 20);

  if (config.skip.has('charges')) {
    results.notes.push('charges skipped (--skip)');
  } else {
    const chargeNeed = config.connections.reduce((sum, c) => sum + rate * config.durationS * 1.6 + c * 2 + 100, 0);
    const chargeOrders = await prepareOrders(mainStage, chargeNeed, 'charges');
    results.charges.prep = chargeOrders.prep;
    const chargeFeed = feeder(chargeOrders.orders);
    // Service and floor take turns at each load, so that both see the same machine
    // (it may be shared) and the same orders: the floor goes round the very orders
    // the service just paid (FerretDB's cost of a lookup depends on where the
    // document sits in its collection).
    for (const connections of config.connections) {
      const from = chargeFeed.used;
      results.charges.service.push(
        await measure({ label: 'service', urls: targets, connections, orders: chargeFeed, groups: groupsFor(servicePids()), services: external ? [] : services }),
      );
      if (floor) {
        const paid = chargeOrders.orders.slice(from, Math.max(chargeFeed.used, from + 1));
        results.charges.floor.push(
          await measure({ label: 'floor', urls: [floorUrl], connections, orders: feeder(paid, { cycle: true }), groups: floorGroups() }),
        );
      }
    }
  }
  if (floor) {
    await floor.stop();
    floor.unregister();
  }
  results.charges.ratios = config.connections.map((connections) => {
    const s = results.charges.service.find((e) => e.connections === connections);
    const f = results.charges.floor.find((e) => e.connections === connections);
    if (!s || !f) return { connections };
    const ratio = (a, b) => (a && b ? round(a / b, 2) : null);
    return {
      connections,
      throughput: ratio(s.requestsPerSecond, f.requestsPerSecond),
      p50: ratio(s.latencyMs.p50, f.latencyMs.p50),
      p99: ratio(s.latencyMs.p99, f.latencyMs.p99),
    };
  });

  // Totals of the charge phases, from the database: every 2xx is a payment, every payment:created went out.
  if (db && !external) {
    const payments = db.collection('payments');
    results.database = {
      orders: await countOrders(db),
      payments: await payments.countDocuments({}),
      succeeded: await payments.countDocuments({ state: 'succeeded' }),
      eventsOwed: await payments.countDocuments({ state: 'succeeded', eventPublishedAt: null }),
    };
  }
  if (!external) {
    for (const service of services) results.logs = { ...results.logs, [service.name]: service.logSummary() };
  }
  await Promise.all(services.splice(0).map(async (service) => {
    await service.stop();
    service.unregister();
  }));

  // ------------------------------------------------ 3. scaling
  if (external) {
    results.notes.push('scaling skipped: it starts and stops service processes (not possible with --target-url)');
  } else if (config.skip.has('scaling')) {
    results.notes.push('scaling skipped (--skip)');
  } else {
    const connections = Math.max(...config.connections, 64);
    const top = results.charges.service.find((e) => e.connections === connections) ?? results.charges.service.at(-1);
    const r64 = Math.max(top?.requestsPerSecond ?? rate, 20);
    // Each instance count gets a database and a broker of its own, so
    // both start from the same state (FerretDB's cost grows with the collections).
    results.scaling = { connections, runs: [] };
    const counts = config.instances > 1 ? [1, config.instances] : [1];
    for (const k of counts) {
      const natsK = await startBroker(config.bus, { clusterId: config.clusterId });
      const unregisterNats = onCleanup(() => natsK.stop());
      const uriK = `${ferret.uri}/${database}_x${k}`;
      const mongoK = await new MongoClient(uriK, { serverSelectionTimeoutMS: 10_000 }).connect();
      const unregisterMongo = onCleanup(() => mongoK.close());
      const publisherK = await Publisher.connect({ bus: config.bus, url: natsK.url, clusterId: config.clusterId });
      const unregisterPublisher = onCleanup(() => publisherK.close());
      const group = [];
      for (let i = 1; i <= k; i++) group.push(await startOne(`payments-x${k}-${i}`, { MONGO_URI: uriK, NATS_URL: natsK.url }));
      const stage = { publisher: publisherK, db: mongoK.db(), baseline: 0, targets: group.map((s) => s.url) };
      const warmN = 16 * 25;
      const prepared = await prepareOrders(stage, r64 * config.durationS * 1.5 * Math.min(k, 2) + 300 + warmN, `scaling x${k}`);
      const feed = feeder(prepared.orders);
      const groups = groupsFor(group.map((s) => s.pid), { natsPid: natsK.pid });
      await measure({ label: `scaling x${k} warm-up`, urls: stage.targets, connections: 16, durationS: 1, orders: feed, groups, stage });
      const run = await measure({ label: `scaling x${k}`, urls: stage.targets, connections, orders: feed, groups, stage, services: group });
      results.scaling.runs.push({ instances: k, prep: prepared.prep, ...run });
      await Promise.all(group.map(async (service) => {
        await service.stop();
        service.unregister();
      }));
      await publisherK.close();
      unregisterPublisher();
      await mongoK.close();
      unregisterMongo();
      await natsK.stop();
      unregisterNats();
    }
    results.scaling.bottleneck = bottleneck(results.scaling.runs, os.cpus().length);
  }

  // ------------------------------------------------ 4. replication
  if (external) {
    results.notes.push('replication skipped: it needs the service stopped while events are published (not possible with --target-url)');
  } else if (config.skip.has('replication')) {
    results.notes.push('replication skipped (--skip)');
  } else {
    results.replication = await replication({ config, ferret, serviceEnv, results });
  }

  // ------------------------------------------------ results
  results.stripeStandIn = await stripeStats();
  results.totalSeconds = round((performance.now() - runStarted) / 1000, 1);
  fs.mkdirSync(config.outDir, { recursive: true });
  const file = path.join(config.outDir, `${stamp.replace(/:/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${markdown(results)}\n`);
  log(`results written to ${path.relative(ROOT, file)}; total ${results.totalSeconds} s`);
}

// ---------------------------------------------------------------- replication

/**
 * With the service down, N order:created then N order:cancelled (version 1) go
 * to a broker of their own (--bus); then the service starts on a fresh
 * database and the clock runs until it is ready and every order is stored and
 * cancelled.
 */
async function replication({ config, ferret, serviceEnv, results }) {
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
    const watch = monitor({ service: [service.pid], ferretdb: [ferret.pid], nats: [natsR.pid] });
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
    result.eventsPerSecond = round((last.stored + last.cancelled) / elapsedS, 0);
    result.createdPerSecond = storedAt !== undefined ? round(n / ((storedAt - service.spawnedAt) / 1000), 0) : null;
    result.progress = progress;
    if (cancelledAt === undefined) {
      result.incomplete = `after ${round(elapsedS, 1)} s: ${last.stored} of ${n} stored, ${last.cancelled} of ${n} cancelled`;
      results.notes.push(`replication incomplete ${result.incomplete} (events/s over what was applied)`);
    }
    log(`replication: ready after ${result.readySeconds} s, all stored after ${result.storedSeconds} s, all cancelled after ${result.allCancelledSeconds} s (${result.eventsPerSecond} events/s)`);
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

// ---------------------------------------------------------------- helpers

/** The service's own counters: events handled by outcome, outbox backlog, process CPU. */
async function scrapeMetrics(urls) {
  const out = {};
  for (const url of urls) {
    try {
      const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      for (const line of text.split('\n')) {
        const match = line.match(/^(payments_events_handled_total|payments_outbox_backlog|payments_charge_attempts_total)(\{[^}]*\})?\s+([0-9.eE+-]+|NaN)$/);
        if (match) {
          const key = `${match[1]}${match[2] ?? ''}`;
          out[key] = (out[key] ?? 0) + Number(match[3]);
        }
      }
    } catch (err) {
      out[`error ${url}`] = String(err && err.message);
    }
  }
  return out;
}

/** The MongoDB command counts the traced services wrote so far, summed. */
function readTraces(services) {
  const sum = {};
  for (const service of services) {
    if (!service.traceFile) continue;
    let stats;
    try {
      stats = JSON.parse(fs.readFileSync(service.traceFile, 'utf8'));
    } catch {
      continue;
    }
    for (const [key, value] of Object.entries(stats)) {
      const entry = (sum[key] ??= { count: 0, ms: 0, failed: 0 });
      entry.count += value.count;
      entry.ms += value.ms;
      entry.failed += value.failed;
    }
  }
  return sum;
}

/** Commands sent during a load, per 2xx answer, most time first. */
function perRequest(before, after, paid) {
  const rows = [];
  for (const [key, value] of Object.entries(after)) {
    const count = value.count - (before[key]?.count ?? 0);
    if (count <= 0) continue;
    const ms = value.ms - (before[key]?.ms ?? 0);
    rows.push({
      command: key,
      count,
      perPaid: paid ? round(count / paid, 2) : null,
      avgMs: round(ms / count, 1),
      msPerPaid: paid ? round(ms / paid, 1) : null,
      failed: value.failed - (before[key]?.failed ?? 0),
    });
  }
  return rows.sort((a, b) => (b.msPerPaid ?? 0) - (a.msPerPaid ?? 0));
}

/** Reads the CPU figures of the scaling runs and says where the time likely went. */
function bottleneck(runs, cpus) {
  const last = runs.at(-1);
  if (!last) return undefined;
  const cpu = last.usage.cpu;
  const shares = {
    services: cpu.service?.cores ?? 0,
    ferretdb: cpu.ferretdb?.cores ?? 0,
    nats: cpu.nats?.cores ?? 0,
    stripeStandIn: cpu.stripe?.cores ?? 0,
    loadGenerator: cpu.bench?.cores ?? 0,
  };
  const others = last.usage.machine?.otherCores ?? 0;
  const busy = last.usage.machine?.busyCores ?? Object.values(shares).reduce((a, b) => a + b, 0);
  const one = runs[0];
  const gain = one && last !== one && one.requestsPerSecond > 0 ? round(last.requestsPerSecond / one.requestsPerSecond, 2) : null;
  const [top, topCores] = Object.entries(shares).sort((a, b) => b[1] - a[1])[0];
  const parts = [];
  const machineBound = busy >= cpus * 0.85;
  if (shares.ferretdb >= 2 * shares.services && (shares.ferretdb >= 0.7 || machineBound)) {
    parts.push(
      `FerretDB: ${shares.ferretdb} cores against ${shares.services} for all service processes together; its SQLite backend has one writer at a time, so more service processes only queue behind it`,
    );
  } else if (shares.services >= 0.7 && shares.services >= shares.ferretdb) {
    parts.push(`the service processes (${shares.services} cores against ${shares.ferretdb} for FerretDB)`);
  } else {
    parts.push(`no single process saturated; the largest share is ${top} (${topCores} cores): waiting on round trips`);
  }
  if (machineBound) parts.push(`the machine was CPU-bound (${busy} of ${cpus} cores busy${others >= 0.1 ? `, ${others} of them by processes outside the benchmark` : ''})`);
  else if (others >= 0.1) parts.push(`processes outside the benchmark used ${others} cores`);
  return { throughputGain: gain, coresBusy: busy, cpuCores: { ...shares, others }, verdict: `likely bottleneck: ${parts.join('; ')}` };
}

function machineInfo() {
  const cpus = os.cpus();
  const versions = {};
  for (const [name, spec] of Object.entries(serverVersions.servers)) {
    let built;
    try {
      built = fs.readFileSync(path.join(serverVersions.binDir, `${name}.version`), 'utf8').trim();
    } catch {
      built = undefined;
    }
    versions[name] = { pinned: spec.version, built };
  }
  let commit;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (dirty) commit += ' (src modified)';
  } catch {
    commit = undefined;
  }
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryGb: round(os.totalmem() / 1024 ** 3, 1),
    loadAverage: os.loadavg().map((l) => round(l, 2)),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    autocannon: require('autocannon/package.json').version,
    servers: versions,
    commit,
  };
}

function markdown(results) {
  const m = results.machine;
  const lines = [];
  const fmt = (v, digits = 1) => (v === null || v === undefined ? '–' : typeof v === 'number' ? v.toFixed(digits) : String(v));
  lines.push(`### Payments benchmark, ${results.startedAt.slice(0, 19).replace('T', ' ')} UTC`);
  lines.push('');
  const stack = Array.isArray(results.options.target)
    ? `target ${results.options.target.join(', ')}`
    : results.options.bus === 'jetstream'
      ? `FerretDB ${m.servers.ferretdb?.built ?? '?'} (SQLite), nats-server ${m.servers['nats-server']?.built ?? '?'} (JetStream)`
      : `FerretDB ${m.servers.ferretdb?.built ?? '?'} (SQLite), nats-streaming-server ${m.servers['nats-streaming-server']?.built ?? '?'}`;
  lines.push(`${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}, ${stack}, autocannon ${m.autocannon}; ${results.options.durationS} s per load${results.options.quick ? ' (--quick)' : ''}.`);
  lines.push('');
  lines.push('| target | conns | req/s | p50 ms | p90 ms | p99 ms | non-2xx | errors | peak RSS MB | CPU cores: target / FerretDB / NATS / load gen / other processes |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  const row = (name, e, rssKey) => {
    const c = e.usage.cpu;
    const targetCpu = c[rssKey]?.cores;
    lines.push(
      `| ${name} | ${e.connections} | ${fmt(e.requestsPerSecond)}${e.ordersRanOut ? ' ⚠' : ''} | ${fmt(e.latencyMs.p50)} | ${fmt(e.latencyMs.p90)} | ${fmt(e.latencyMs.p99)} | ${e.non2xx} | ${e.errors} | ${fmt(e.usage.peakRssMb[rssKey], 0)} | ${fmt(targetCpu, 2)} / ${fmt(c.ferretdb?.cores, 2)} / ${fmt(c.nats?.cores, 2)} / ${fmt(c.bench?.cores, 2)} / ${fmt(e.usage.machine?.otherCores, 2)} |`,
    );
  };
  for (const e of results.charges.service) row('service', e, 'service');
  for (const e of results.charges.floor) row('floor', e, 'floor');
  const sized = results.charges.service.filter((e) => e.databaseBefore);
  if (sized.length) {
    const first = sized[0].databaseBefore;
    const last = sized.at(-1).databaseBefore;
    const ranOut = results.charges.service.some((e) => e.ordersRanOut) ? '; ⚠ = orders ran out (see notes)' : '';
    lines.push('', `Service loads ran against ${first.orders} orders and ${first.payments}–${last.payments} payments already in the database${ranOut}.`);
  }
  const traced = results.charges.service.filter((e) => e.dbCommands?.length);
  if (traced.length) {
    const e = traced.find((x) => x.connections === 1) ?? traced[0];
    lines.push('', `MongoDB commands per charge made (service, ${e.connections} connection${e.connections === 1 ? ': the cost without queueing' : 's'}; --trace-db; more in the JSON):`, '');
    lines.push('| command collection {filter fields} | per charge | avg ms | ms per charge |');
    lines.push('| --- | ---: | ---: | ---: |');
    for (const r of e.dbCommands.slice(0, 12)) lines.push(`| ${r.command} | ${fmt(r.perPaid, 2)} | ${fmt(r.avgMs)} | ${fmt(r.msPerPaid)} |`);
  }
  if (results.charges.floor.length) {
    lines.push('');
    lines.push('| conns | throughput service/floor | p50 service/floor | p99 service/floor |');
    lines.push('| ---: | ---: | ---: | ---: |');
    for (const r of results.charges.ratios) lines.push(`| ${r.connections} | ${fmt(r.throughput, 2)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} |`);
  }
  if (results.scaling) {
    lines.push('');
    lines.push(`| instances (${results.scaling.connections} conns) | req/s | p50 ms | p99 ms | non-2xx | CPU cores: services / FerretDB / NATS / Stripe stand-in / load gen / others | machine busy |`);
    lines.push('| ---: | ---: | ---: | ---: | ---: | --- | ---: |');
    for (const r of results.scaling.runs) {
      const c = r.usage.cpu;
      lines.push(
        `| ${r.instances} | ${fmt(r.requestsPerSecond)}${r.ordersRanOut ? ' ⚠' : ''} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p99)} | ${r.non2xx} | ${fmt(c.service?.cores, 2)} / ${fmt(c.ferretdb?.cores, 2)} / ${fmt(c.nats?.cores, 2)} / ${fmt(c.stripe?.cores, 2)} / ${fmt(c.bench?.cores, 2)} / ${fmt(r.usage.machine?.otherCores, 2)} | ${fmt(r.usage.machine?.busyCores, 2)} of ${m.cpus} |`,
      );
    }
    if (results.scaling.bottleneck) lines.push('', `Scaling 1 → ${results.scaling.runs.at(-1).instances} instances: ×${fmt(results.scaling.bottleneck.throughputGain, 2)} throughput; ${results.scaling.bottleneck.verdict}.`);
  }
  if (results.replication) {
    const r = results.replication;
    lines.push('');
    lines.push('| replication events | /readyz 200 after s | all stored after s | all cancelled after s | applied: stored / cancelled | events/s | peak RSS MB | handler failures logged |');
    lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const failures = Object.entries(r.logs ?? {})
      .filter(([k]) => k.startsWith('error:'))
      .reduce((sum, [, v]) => sum + v.count, 0);
    const never = `> ${r.watchedSeconds}`;
    lines.push(
      `| ${r.events} | ${r.readySeconds ?? `> ${r.readyNotSeenWithinSeconds}`} | ${r.storedSeconds ?? never} | ${r.allCancelledSeconds ?? never} | ${r.applied.stored} / ${r.applied.cancelled} | ${fmt(r.eventsPerSecond, 0)} | ${fmt(r.peakRssMb, 0)} | ${failures} |`,
    );
  }
  if (results.notes.length) {
    lines.push('');
    for (const note of results.notes) lines.push(`- ${note}`);
  }
  lines.push('');
  lines.push(`Total run time ${results.totalSeconds} s.`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- entry

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
