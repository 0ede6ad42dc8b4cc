'use strict';
/** The benchmark's command line: `node bench/run.js --help`. */
const path = require('node:path');
const { BUSES } = require('./broker');

const BACKENDS = ['postgresql', 'sqlite'];
const PARTS = ['charges', 'floor', 'scaling', 'growth', 'replication'];

const HELP = `Usage: node bench/run.js [options]

  --backend <postgresql|sqlite>  FerretDB's backend (default postgresql; passed to startFerretDB as \`backend\`)
  --bus <stan|jetstream>  the broker: NATS Streaming (default) or NATS JetStream (EVENT_BUS)
  --quick                 3 s per load, 2,000 replication events (a smoke run)
  --duration <s>          seconds per load (default 10)
  --connections <list>    loads, comma separated (default 1,16,64)
  --events <n>            order:created and as many order:cancelled for the replication run (default 10000)
  --replication-timeout <s>  longest wait for the replication run (default 90, --quick 30); past it the
                          figures cover what was applied in that time
  --instances <n>         service processes for the scaling run (default 3)
  --growth <list>         payments (with their orders) stored before each growth load, comma
                          separated (default 0,5000,20000); the first 0 is the baseline of the ratios
  --growth-connections <n>  connections of each growth load (default 16)
  --skip <list>           any of ${PARTS.join(',')}
  --warmup <s>            warm-up seconds at 16 connections, also sizes the orders (default 3)
  --max-orders <n>        most orders pre-created for one phase (default 60000)
  --out <dir>             results folder (default bench/results)
  --trace-db              count the service's MongoDB commands per paid request (preloads
                          bench/lib/mongo-trace.js into the service; adds a little overhead)
  --floor <bare|safe>     the floor's steps (bench/floor.js): the bare I/O (default; the issue's
                          targets are against it) or the service's own I/O, nothing else (FLOOR_STEPS=safe)
  --pg-statements         PostgreSQL loads pg_stat_statements; each service load and the replay
                          print the SQL FerretDB spent its time on (bench/lib/pg-statements.js)

Measure another process implementing the contract (no service is started;
replication, scaling and growth, which stop and start the service, are skipped):
  --target-url <url[,url]>  base URL(s) of the running service
  --nats-url <url>          its broker (orders are published there; --bus says which kind)
  --cluster-id <id>         NATS Streaming cluster id (default ticketing)
  --jwt-key <key>           its JWT_KEY (sessions are signed with it)
  --mongo-uri <uri>         optional: its database (to see orders arrive, and for the floor)
  --stripe-port <port>      optional: fixed port for the Stripe stand-in to point it at
  --target-pids <list>      optional: its process ids, to report their CPU and peak RSS
`;

const FLAGS = ['quick', 'help', 'trace-db', 'pg-statements'];
const KNOWN = [...FLAGS, 'backend', 'bus', 'duration', 'connections', 'events', 'instances', 'skip', 'warmup', 'max-orders', 'replication-timeout', 'out',
  'floor', 'growth', 'growth-connections', 'target-url', 'nats-url', 'cluster-id', 'jwt-key', 'mongo-uri', 'stripe-port', 'target-pids'];

function positiveIntegers(text, option, { allowZero = false } = {}) {
  return text.split(',').filter((c) => c !== '').map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new Error(`--${option} must list ${allowZero ? 'non-negative' : 'positive'} integers`);
    return n;
  });
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (FLAGS.includes(key)) {
      opts[key] = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    opts[key] = value;
  }
  for (const key of Object.keys(opts)) if (!KNOWN.includes(key)) throw new Error(`unknown option --${key}`);
  const num = (key, fallback, min = 0) => {
    if (opts[key] === undefined) return fallback;
    const n = Number(opts[key]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${key} must be a number >= ${min}`);
    return n;
  };
  const quick = Boolean(opts.quick);
  const config = {
    help: Boolean(opts.help),
    backend: opts.backend ?? 'postgresql',
    bus: opts.bus ?? 'stan',
    floor: opts.floor ?? 'bare',
    traceDb: Boolean(opts['trace-db']),
    pgStatements: Boolean(opts['pg-statements']),
    quick,
    durationS: num('duration', quick ? 3 : 10, 1),
    connections: positiveIntegers(opts.connections ?? '1,16,64', 'connections'),
    events: num('events', quick ? 2000 : 10_000, 1),
    instances: num('instances', 3, 1),
    growth: positiveIntegers(opts.growth ?? '0,5000,20000', 'growth', { allowZero: true }),
    growthConnections: num('growth-connections', 16, 1),
    replicationTimeoutS: num('replication-timeout', quick ? 30 : 90, 5),
    skip: new Set((opts.skip ?? '').split(',').filter(Boolean)),
    warmupS: num('warmup', quick ? 1 : 3, 1),
    maxOrders: num('max-orders', 60_000, 100),
    outDir: path.resolve(opts.out ?? path.join(__dirname, '..', 'results')),
    targetUrls: opts['target-url'] ? opts['target-url'].split(',').map((u) => u.replace(/\/+$/, '')) : undefined,
    natsUrl: opts['nats-url'],
    clusterId: opts['cluster-id'] ?? 'ticketing',
    jwtKey: opts['jwt-key'],
    mongoUri: opts['mongo-uri'],
    stripePort: opts['stripe-port'] !== undefined ? num('stripe-port', 0) : 0,
    targetPids: (opts['target-pids'] ?? '').split(',').filter(Boolean).map(Number),
  };
  if (!BACKENDS.includes(config.backend)) throw new Error(`--backend must be one of ${BACKENDS.join(', ')}`);
  if (!BUSES.includes(config.bus)) throw new Error(`--bus must be one of ${BUSES.join(', ')}`);
  if (!['bare', 'safe'].includes(config.floor)) throw new Error('--floor must be bare or safe');
  for (const s of config.skip) if (!PARTS.includes(s)) throw new Error(`--skip: unknown part ${s}`);
  if (config.targetUrls && (!config.natsUrl || !config.jwtKey)) throw new Error('--target-url needs --nats-url and --jwt-key');
  return config;
}

const log = (message) => process.stderr.write(`bench: ${message}\n`);

module.exports = { HELP, parseArgs, log };
