'use strict';
/**
 * The stack a run measures: FerretDB (on PostgreSQL or SQLite, --backend) and a
 * broker (--bus), the Stripe stand-in, the database and publisher the benchmark
 * itself uses, and how service processes are started. With --target-url nothing
 * is started but the stand-in: the target's own broker and database are used.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { MongoClient } = require('./mongodb');
const { freePort, startFerretDB } = require('../../scripts/servers');
const { pgStatements } = require('./pg-statements');
const { startBroker } = require('./broker');
const { launch, startService, onCleanup, round } = require('./procs');
const { descendants } = require('./proc-stats');
const { Publisher } = require('./orders');
const { log } = require('./options');

const BENCH_DIR = path.join(__dirname, '..');

/** The backend FerretDB really runs on, from what it says or from its command line. */
function ferretBackend(ferret) {
  if (ferret.backend) return ferret.backend;
  let args = '';
  try {
    args = fs.readFileSync(`/proc/${ferret.pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
  if (/postgres/i.test(args)) return 'postgresql';
  if (/sqlite/i.test(args)) return 'sqlite';
  return undefined;
}

/** Starts the stack; returns the context every phase works with (`ctx`). */
async function startStack(config, results, runId) {
  const external = Boolean(config.targetUrls);
  const ctx = { config, results, runId, external, log };

  if (!external) {
    log(`starting FerretDB (${config.backend}) and ${config.bus === 'jetstream' ? 'nats-server (JetStream)' : 'nats-streaming-server'} ...`);
    const ferretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-bench-ferretdb-'));
    onCleanup(() => fs.rmSync(ferretDir, { recursive: true, force: true }));
    // `backend` is startFerretDB's (its default is postgresql, env FERRETDB_BACKEND); one that does not know it yet ignores it.
    ctx.ferret = await startFerretDB({ dir: ferretDir, backend: config.backend, statements: config.pgStatements });
    onCleanup(() => ctx.ferret.stop());
    ctx.nats = await startBroker(config.bus, { clusterId: config.clusterId });
    onCleanup(() => ctx.nats.stop());
    const actual = ferretBackend(ctx.ferret);
    results.backend = { requested: config.backend, actual: actual ?? 'unknown' };
    if (actual !== config.backend) {
      const note = `--backend ${config.backend} asked for, but FerretDB runs on ${actual ?? 'an unknown backend'} (this startFerretDB does not take \`backend\` yet): the figures are ${actual ?? 'unknown'}'s`;
      results.notes.push(note);
      log(note);
    }
    log(`FerretDB ${ctx.ferret.uri} on ${results.backend.actual} (pid ${ctx.ferret.pid}), ${config.bus} ${ctx.nats.url} (pid ${ctx.nats.pid})`);
  }
  ctx.natsTarget = {
    bus: config.bus,
    ...(external ? { url: config.natsUrl, clusterId: config.clusterId } : { url: ctx.nats.url, clusterId: ctx.nats.clusterId }),
  };

  const standIn = launch('stripe-stand-in', process.execPath, [path.join(BENCH_DIR, 'stripe-stand-in.js'), '--port', String(config.stripePort)], {
    env: { PATH: process.env.PATH || '' },
    killAfterMs: 3000,
  });
  ctx.standIn = standIn;
  const standInPort = Number((await standIn.waitFor(/\{"port":(\d+)\}/, 10_000))[1]);
  ctx.stripeUrl = `http://127.0.0.1:${standInPort}`;
  log(`Stripe stand-in ${ctx.stripeUrl}${external ? " (point the target's STRIPE_API_URL here to count its charges)" : ''}`);
  ctx.stripeStats = async () => (await fetch(`${ctx.stripeUrl}/_bench/stats`)).json();

  ctx.jwtKey = config.jwtKey ?? `bench-jwt-${randomBytes(16).toString('hex')}`;
  ctx.database = `bench_${runId}`;
  ctx.mongoUri = external ? config.mongoUri : `${ctx.ferret.uri}/${ctx.database}`;
  if (ctx.mongoUri) {
    const mongo = await new MongoClient(ctx.mongoUri, { serverSelectionTimeoutMS: 10_000 }).connect();
    onCleanup(() => mongo.close());
    ctx.db = mongo.db();
  }
  ctx.publisher = await Publisher.connect(ctx.natsTarget);
  onCleanup(() => ctx.publisher.close());

  let traceDir;
  if (config.traceDb) {
    traceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-bench-trace-'));
    onCleanup(() => fs.rmSync(traceDir, { recursive: true, force: true }));
  }
  ctx.serviceEnv = (overrides = {}) => ({
    ...(traceDir
      ? {
          NODE_OPTIONS: `-r ${path.join(__dirname, 'mongo-trace.js')}`,
          BENCH_TRACE_FILE: path.join(traceDir, `${randomBytes(6).toString('hex')}.json`),
        }
      : {}),
    JWT_KEY: ctx.jwtKey,
    MONGO_URI: ctx.mongoUri,
    EVENT_BUS: config.bus,
    NATS_URL: ctx.natsTarget.url,
    NATS_CLUSTER_ID: ctx.natsTarget.clusterId,
    NATS_CLIENT_ID: `payments-bench-${randomBytes(4).toString('hex')}`,
    STRIPE_KEY: 'sk_test_bench',
    STRIPE_API_URL: ctx.stripeUrl,
    LOG_LEVEL: 'warn',
    ...overrides,
  });
  ctx.services = [];
  ctx.startOne = async (name, overrides) => {
    const env = ctx.serviceEnv(overrides);
    const service = await startService({ name, port: await freePort(), env });
    service.traceFile = env.BENCH_TRACE_FILE;
    log(`${name} ready at ${service.url} (pid ${service.pid}) after ${round(service.readyMs / 1000, 2)} s`);
    return service;
  };
  ctx.stopServices = (services) =>
    Promise.all(services.map(async (service) => {
      await service.stop();
      service.unregister();
    }));

  /** `--pg-statements`: pg_stat_statements of FerretDB's PostgreSQL (bench/lib/pg-statements.js), else undefined. */
  ctx.pgStatements = config.pgStatements ? pgStatements(ctx.ferret?.postgres) : undefined;
  /** FerretDB and, on PostgreSQL, the postgres processes under this one (its backends come and go). */
  ctx.databasePids = () => (ctx.ferret ? [ctx.ferret.pid, ...descendants(process.pid, 'postgres')] : []);
  /** The process groups a measurement watches. */
  ctx.groupsFor = (servicePids, { extra = {}, natsPid = ctx.nats?.pid } = {}) => ({
    ...(servicePids.length ? { service: servicePids } : {}),
    ...(ctx.ferret ? { ferretdb: ctx.databasePids } : {}),
    ...(natsPid ? { nats: [natsPid] } : {}),
    stripe: [standIn.pid],
    ...extra,
  });
  ctx.servicePids = () => (external ? config.targetPids : ctx.services.map((s) => s.pid));
  return ctx;
}

/** A broker and a database of their own (scaling, growth): the same start for every run of a phase. */
async function freshStage(ctx, suffix) {
  const { config } = ctx;
  const nats = await startBroker(config.bus, { clusterId: config.clusterId });
  const unregisterNats = onCleanup(() => nats.stop());
  const uri = `${ctx.ferret.uri}/${ctx.database}_${suffix}`;
  const mongo = await new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 }).connect();
  const unregisterMongo = onCleanup(() => mongo.close());
  const publisher = await Publisher.connect({ bus: config.bus, url: nats.url, clusterId: config.clusterId });
  const unregisterPublisher = onCleanup(() => publisher.close());
  return {
    nats,
    uri,
    db: mongo.db(),
    publisher,
    baseline: 0,
    targets: [],
    async close() {
      await publisher.close();
      unregisterPublisher();
      await mongo.close();
      unregisterMongo();
      await nats.stop();
      unregisterNats();
    },
  };
}

module.exports = { startStack, freshStage, BENCH_DIR };
