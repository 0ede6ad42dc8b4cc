'use strict';
/**
 * Starts the local servers on free loopback ports and waits until each really
 * answers: FerretDB (MongoDB wire protocol over PostgreSQL, or SQLite with
 * FERRETDB_BACKEND=sqlite), nats-streaming-server (cluster id `ticketing`),
 * nats-server with JetStream, stripe-mock, and Jaeger (a trace receiver, tests only).
 * Used by the tests and the local stack.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { defaultBackend, findPostgresBinDir } = require('./postgres-bin');
const { binDir } = require('./server-versions');

const HOST = '127.0.0.1';
const children = new Set();
/** The PostgreSQL servers among them: ended with an immediate shutdown, not SIGKILL (see below). */
const postmasters = new Set();
/** Temporary data folders this process made: removed when it exits, so no test leaves data behind. */
const scratchDirs = new Set();

process.on('exit', () => {
  for (const child of children) if (!postmasters.has(child)) child.kill('SIGKILL');
  // SIGKILL would leave PostgreSQL's backends and shared memory behind: an immediate shutdown
  // (SIGQUIT) ends them, and waiting for it lets the data folder go.
  for (const child of postmasters) child.kill('SIGQUIT');
  for (const child of postmasters) waitGone(child.pid, 5000);
  for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

/** Blocks (this is for the exit handler) until the process is gone or a zombie, at most `ms`. */
function waitGone(pid, ms) {
  const deadline = Date.now() + ms;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < deadline) {
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return;
    }
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return;
    Atomics.wait(pause, 0, 0, 20);
  }
}

/**
 * A fresh folder under the system's temporary directory (or the test run's own,
 * PAYMENTS_SCRATCH_DIR, which the run removes at its end), never the local stack's data.
 */
function scratchDir(prefix) {
  const dir = fs.mkdtempSync(path.join(process.env.PAYMENTS_SCRATCH_DIR || os.tmpdir(), prefix));
  scratchDirs.add(dir);
  return dir;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function binary(name) {
  const file = path.join(binDir, name);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: run \`npm run servers:install\` first`);
  }
  return file;
}

/**
 * Spawns a server; `ready(output)` tells from its output (or by probing) that it answers.
 * `detached` puts it in a process group of its own, out of reach of a terminal's Ctrl-C.
 * `file` is the program when it is not one of .servers/bin; `spawnOptions` adds e.g. uid, gid, cwd.
 * `stop()` sends `stopSignal`, then `killSignal` after 5 s.
 */
async function launch(name, args, { ready, timeoutMs = 30_000, logFile, detached = false, file, spawnOptions = {}, postmaster = false, stopSignal = 'SIGTERM', killSignal = 'SIGKILL' }) {
  // stripe-mock also listens on $PORT when it is set: keep the service's PORT away from it.
  const { PORT: _servicePort, ...env } = process.env;
  const child = spawn(file ?? binary(name), args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached, ...spawnOptions });
  children.add(child);
  if (postmaster) postmasters.add(child);
  let output = '';
  const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : undefined;
  const collect = (chunk) => {
    output = (output + chunk.toString()).slice(-20_000);
    log?.write(chunk);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  const exit = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      children.delete(child);
      postmasters.delete(child);
      log?.end();
      resolve({ code, signal });
    }),
  );

  const deadline = Date.now() + timeoutMs;
  while (!(await ready(output))) {
    if (exited) throw new Error(`${name} exited during start-up:\n${output}`);
    if (Date.now() > deadline) {
      child.kill(killSignal);
      throw new Error(`${name} did not answer within ${timeoutMs} ms:\n${output}`);
    }
    await sleep(50);
  }

  return {
    pid: child.pid,
    output: () => output,
    async stop(signal = stopSignal) {
      if (exited) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill(killSignal), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * FerretDB on `backend` 'postgresql' (the default, or FERRETDB_BACKEND) or 'sqlite';
 * its data in `dir`, or in a fresh temporary folder (removed when this process exits)
 * when omitted. On PostgreSQL, `dir` holds a PostgreSQL cluster of this FerretDB's own
 * (see startPostgres), started before it and stopped after it: `stop()` stops both, and
 * starting again with the same `dir` finds the same data, so a test can play a database
 * outage. `postgres` is that server, to stop it alone.
 */
async function startFerretDB({ port, dir, logFile, detached, backend = defaultBackend(), durable, statements, postgresLogFile, ownedFrom } = {}) {
  if (backend !== 'postgresql' && backend !== 'sqlite') throw new Error(`FerretDB backend must be postgresql or sqlite, not ${backend}`);
  port = port ?? (await freePort());
  dir = dir ?? scratchDir('payments-ferretdb-');
  const listen = ['-listen-addr', `${HOST}:${port}`];
  const uri = `mongodb://${HOST}:${port}`;
  if (backend === 'sqlite') {
    const server = await launch('ferretdb', [...listen, '-handler', 'sqlite', '-sqlite-dir', dir], { ready: () => canConnect(port), logFile, detached });
    return { ...server, port, dir, uri, backend };
  }
  const postgres = await startPostgres({ dir, durable, statements, logFile: postgresLogFile, detached, ownedFrom });
  let server;
  try {
    // FerretDB's pool holds 50 PostgreSQL connections by default, and a findAndModify keeps its query's
    // connection while it takes another for the update: with about 50 running at once every connection
    // waits for a second one and FerretDB stops answering (seen at 64 bench connections). A pool far
    // larger than the clients' concurrency keeps the stand-in out of that deadlock.
    const url = `${postgres.url}?pool_max_conns=${FERRETDB_PG_POOL}`;
    server = await launch('ferretdb', [...listen, '-handler', 'postgresql', '-postgresql-url', url], { ready: () => canConnect(port), logFile, detached });
  } catch (err) {
    await postgres.stop();
    throw err;
  }
  return {
    ...server,
    port,
    dir,
    uri,
    backend,
    postgres,
    async stop(signal) {
      await server.stop(signal);
      await postgres.stop();
    },
  };
}

/** The user PostgreSQL runs as: none (this process's own) unless we are root, which PostgreSQL refuses to be. */
function postgresOwner() {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) {
    throw new Error(
      "PostgreSQL refuses to run as root, and there is no `postgres` user to run it as (Debian's postgresql package creates it): run `npm run servers:install`, or FERRETDB_BACKEND=sqlite",
    );
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Whether `folder` is `root` or inside it. */
function within(root, folder) {
  const relative = path.relative(root, folder);
  return relative === '' || !(relative.startsWith('..') || path.isAbsolute(relative));
}

/**
 * Lets `owner` reach `dir`: each folder from `dir` up to / must let it pass (x for it).
 * Folders from `ownedFrom` (default: `dir` itself) down, and this process's (or the test
 * run's) scratch folders, get o+x (passing, not listing) when they do not; any other
 * folder in the way is an error that names it.
 */
function makeTraversable(dir, owner, ownedFrom = dir) {
  const ours = [ownedFrom, ...scratchDirs, process.env.PAYMENTS_SCRATCH_DIR].filter(Boolean).map((folder) => path.resolve(folder));
  for (let folder = dir; ; folder = path.dirname(folder)) {
    const stat = fs.statSync(folder);
    const bit = stat.uid === owner.uid ? 0o100 : stat.gid === owner.gid ? 0o010 : 0o001;
    if (!(stat.mode & bit)) {
      if (!ours.some((root) => within(root, folder))) {
        throw new Error(
          `PostgreSQL runs as the postgres user, which cannot enter ${folder} (mode ${(stat.mode & 0o777).toString(8)}): keep FerretDB's data elsewhere, or chmod o+x ${folder}`,
        );
      }
      fs.chmodSync(folder, (stat.mode & 0o7777) | 0o001);
    }
    if (folder === path.dirname(folder)) return;
  }
}

function runToEnd(file, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${path.basename(file)} ${args.join(' ')} failed (${code}):\n${output}`))));
  });
}

/**
 * Makes FerretDB's finds use indexes, as MongoDB's do: FerretDB 1.x pushes an
 * equality down as `@>`, which its btree indexes cannot serve; this event trigger
 * gives each btree index a GIN twin on its leading field (without the pending list).
 * Idempotent, run at every start. Why and the figures: docs/ferretdb.md#gin-twins.
 */
const GIN_TWINS_SQL = String.raw`
CREATE OR REPLACE FUNCTION ferretdb_gin_twins() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
DECLARE cmd record; def text; tbl regclass; field text[];
BEGIN
  FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' LOOP
    def := pg_get_indexdef(cmd.objid);
    CONTINUE WHEN def NOT LIKE '% USING btree %';
    SELECT indrelid::regclass INTO tbl FROM pg_index WHERE indexrelid = cmd.objid;
    field := regexp_match(def, '\(_jsonb -> ''([^'']+)''::text\)');
    CONTINUE WHEN field IS NULL;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L)) WITH (fastupdate = off)', 'gin_' || md5(tbl::text || field[1]), tbl, field[1]);
  END LOOP;
END $fn$;
DROP EVENT TRIGGER IF EXISTS ferretdb_gin_twins;
CREATE EVENT TRIGGER ferretdb_gin_twins ON ddl_command_end WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION ferretdb_gin_twins();
DO $do$
DECLARE twin record;
BEGIN
  FOR twin IN SELECT format('%I.%I', schemaname, indexname) AS name FROM pg_indexes WHERE indexname LIKE 'gin\_%' LOOP
    EXECUTE format('ALTER INDEX %s SET (fastupdate = off)', twin.name);
  END LOOP;
END $do$;
`;

/**
 * Plans made for each query's own values, never a cached generic plan (a generic plan
 * made on a nearly empty collection stays a sequential scan as it grows); MongoDB plans
 * by query shape. The replay that showed it: docs/ferretdb.md#plans-for-each-querys-own-values.
 */
const MONGODB_LIKE_PLANS = ['plan_cache_mode=force_custom_plan'];

/** Settings for a throwaway cluster: no waiting for the disk (safe against a crash of PostgreSQL, not of the machine). */
const NOT_DURABLE = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];

/** FerretDB's PostgreSQL pool (see startFerretDB), and room for it in PostgreSQL's `max_connections`. */
const FERRETDB_PG_POOL = 400;

/**
 * A PostgreSQL cluster for one FerretDB, in `dir`/postgresql (initdb'ed the first
 * time, found again after), listening on a free loopback port and on a unix socket
 * in `dir`/postgresql-socket, with trust authentication (loopback only) and a
 * database `ferretdb`. Unless `durable` (or FERRETDB_PG_DURABLE=1), it runs with
 * fsync, synchronous_commit and full_page_writes off. As root, it runs as the
 * `postgres` user, which owns those two folders, and `dir` and the folders above it
 * must let that user pass (see makeTraversable: `ownedFrom`). `stop()` is a fast shutdown.
 * With `statements` (or FERRETDB_PG_STATEMENTS=1) it loads pg_stat_statements, which
 * totals the time of every SQL statement FerretDB sends: `query(sql)` reads it (the
 * rows, tab-separated), as `node bench/run.js --pg-statements` does.
 */
async function startPostgres({
  dir,
  durable = /^(1|true|on|yes)$/i.test(process.env.FERRETDB_PG_DURABLE ?? ''),
  statements = /^(1|true|on|yes)$/i.test(process.env.FERRETDB_PG_STATEMENTS ?? ''),
  logFile,
  detached,
  ownedFrom,
} = {}) {
  const bin = findPostgresBinDir();
  if (!bin) {
    throw new Error("PostgreSQL's server programs (initdb, postgres) are missing: run `npm run servers:install`, or run FerretDB on SQLite with FERRETDB_BACKEND=sqlite");
  }
  dir = dir ?? scratchDir('payments-postgres-');
  fs.mkdirSync(dir, { recursive: true });
  const owner = postgresOwner();
  if (owner) makeTraversable(path.resolve(dir), owner, ownedFrom);
  const dataDir = path.join(dir, 'postgresql');
  // Written once the cluster and its database exist: without it, a half-made cluster is made anew.
  const made = path.join(dir, 'postgresql.made');
  let socketDir = path.join(dir, 'postgresql-socket');
  // A unix socket's path has at most 107 bytes (with `/.s.PGSQL.<port>`): a short folder of our own when it would be longer.
  if (Buffer.byteLength(socketDir) > 85) socketDir = scratchDir('payments-pgsock-');
  const spawnOptions = { ...owner, cwd: dir };
  const own = (folder) => {
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (owner) fs.chownSync(folder, owner.uid, owner.gid);
  };
  const fresh = !fs.existsSync(made);
  if (fresh) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    own(dataDir);
    const initArgs = ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-locale', '-E', 'UTF8'];
    await runToEnd(path.join(bin, 'initdb'), durable ? initArgs : [...initArgs, '--no-sync'], spawnOptions);
  }
  own(socketDir);
  let port;
  let server;
  // A free port can be taken by another process between freePort() and postgres binding it: try another.
  for (let attempt = 1; !server; attempt += 1) {
    port = await freePort();
    const settings = ['listen_addresses=127.0.0.1', `port=${port}`, `unix_socket_directories=${socketDir}`, `max_connections=${FERRETDB_PG_POOL + 20}`, ...MONGODB_LIKE_PLANS, ...(durable ? [] : NOT_DURABLE), ...(statements ? ['shared_preload_libraries=pg_stat_statements'] : [])];
    try {
      server = await launch('postgres', ['-D', dataDir, ...settings.flatMap((setting) => ['-c', setting])], {
        file: path.join(bin, 'postgres'),
        spawnOptions,
        postmaster: true,
        // SIGINT is a fast shutdown (SIGTERM would wait for clients); SIGQUIT an immediate one.
        stopSignal: 'SIGINT',
        killSignal: 'SIGQUIT',
        ready: (output) => output.includes('database system is ready to accept connections'),
        logFile,
        detached,
      });
    } catch (err) {
      if (attempt >= 3 || !/could not bind|could not create any TCP\/IP sockets/.test(err.message)) throw err;
    }
  }
  const database = 'ferretdb';
  /** Runs `sql` in the cluster's database; resolves to its rows, each an array of column texts. */
  const query = async (sql) => {
    const output = await runToEnd(path.join(bin, 'psql'), ['-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-q', '-A', '-t', '-F', '\t', '-c', sql], spawnOptions);
    return output.split('\n').filter(Boolean).map((row) => row.split('\t'));
  };
  try {
    if (fresh) await runToEnd(path.join(bin, 'createdb'), ['-h', socketDir, '-p', String(port), '-U', 'postgres', database], spawnOptions);
    // Every start, so a cluster made by an earlier version of this script gets the current twins.
    const extension = statements ? 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements;' : '';
    await query(`SET client_min_messages = warning; ${extension} ${GIN_TWINS_SQL}`);
  } catch (err) {
    await server.stop();
    throw err;
  }
  if (fresh) fs.writeFileSync(made, `${new Date().toISOString()}\n`);
  return { ...server, port, dir, dataDir, socketDir, durable, statements, database, query, url: `postgres://postgres@${HOST}:${port}/${database}` };
}

/**
 * nats-streaming-server, cluster `ticketing`. `store: 'file'` keeps channels,
 * clients and subscriptions across restarts in `dir`.
 */
async function startNatsStreaming({ port, store = 'memory', dir, clusterId = 'ticketing', logFile, detached } = {}) {
  port = port ?? (await freePort());
  const args = ['-cid', clusterId, '-a', HOST, '-p', String(port), '-hbi', '1s', '-hbt', '1s', '-hbf', '2'];
  if (store === 'file') {
    dir = dir ?? scratchDir('payments-nats-');
    args.push('-st', 'FILE', '--dir', dir);
  }
  const server = await launch('nats-streaming-server', args, {
    ready: (output) => output.includes('Streaming Server is ready'),
    logFile,
    detached,
  });
  return { ...server, port, dir, store, clusterId, url: `nats://${HOST}:${port}` };
}

/**
 * nats-server with JetStream (`-js`), its store in `dir` (a fresh scratch folder,
 * removed like the others, when omitted). Start it again with the same `dir` and its
 * streams and consumers are back; `store: 'memory'` forgets them on restart (a fresh
 * folder each time), like a NATS Streaming memory store. `clusterId` is only there
 * so callers can treat both brokers alike.
 */
async function startNatsServer({ port, store = 'file', dir, logFile, detached } = {}) {
  port = port ?? (await freePort());
  if (store === 'memory' || !dir) dir = scratchDir('payments-jetstream-');
  const args = ['-js', '-sd', dir, '-a', HOST, '-p', String(port)];
  const server = await launch('nats-server', args, {
    ready: (output) => output.includes('Server is ready'),
    logFile,
    detached,
  });
  return { ...server, port, dir, store, clusterId: 'ticketing', url: `nats://${HOST}:${port}` };
}

/** Stripe's official mock: validates every request against Stripe's OpenAPI description. */
async function startStripeMock({ port, logFile, detached } = {}) {
  port = port ?? (await freePort());
  // Without an HTTPS address it also takes the fixed port 12112, which parallel runs would share.
  const httpsPort = await freePort();
  const server = await launch('stripe-mock', ['-http-addr', `${HOST}:${port}`, '-https-addr', `${HOST}:${httpsPort}`], {
    ready: () => canConnect(port),
    logFile,
    detached,
  });
  return { ...server, port, url: `http://${HOST}:${port}` };
}

/**
 * Prometheus (Debian's package, see prometheus-bin.js) scraping `targets` (host:port
 * pairs, `/metrics`) every `intervalSeconds` and evaluating `ruleFiles` (absolute
 * paths) as often, its configuration and data in a scratch folder, its web API on a
 * free loopback port: `url` (e.g. `${url}/api/v1/alerts`). Ready once `/-/ready` answers 200.
 */
async function startPrometheus({ targets, ruleFiles = [], intervalSeconds = 1, port, logFile } = {}) {
  const { prometheusProgram } = require('./prometheus-bin');
  port = port ?? (await freePort());
  const dir = scratchDir('payments-prometheus-');
  const config = {
    global: { scrape_interval: `${intervalSeconds}s`, scrape_timeout: `${intervalSeconds}s`, evaluation_interval: `${intervalSeconds}s` },
    rule_files: ruleFiles,
    scrape_configs: [{ job_name: 'payments', static_configs: [{ targets }] }],
  };
  // JSON is YAML: no YAML writer needed.
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  const url = `http://${HOST}:${port}`;
  const args = [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=${HOST}:${port}`];
  const server = await launch('prometheus', args, {
    file: prometheusProgram('prometheus'),
    ready: async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200,
    logFile,
  });
  return { ...server, port, url };
}

/**
 * Jaeger v2 (cmd/jaeger) as a trace receiver for the tests: OTLP over HTTP on
 * `otlpUrl` (the service's OTEL_EXPORTER_OTLP_ENDPOINT), spans kept in memory, and
 * the query API on `queryUrl` (`/api/traces?service=…`, `/api/v3/traces`). Its own
 * config (not the all-in-one one, whose ports are fixed): every listener on a free
 * loopback port, no metrics endpoint, no batching (a span is queryable once received).
 */
async function startJaeger({ logFile, detached } = {}) {
  const [otlpPort, queryPort, queryGrpcPort] = [await freePort(), await freePort(), await freePort()];
  const dir = scratchDir('payments-jaeger-');
  const config = path.join(dir, 'jaeger.yaml');
  fs.writeFileSync(
    config,
    [
      'service:',
      '  extensions: [jaeger_storage, jaeger_query]',
      '  pipelines:',
      '    traces:',
      '      receivers: [otlp]',
      '      exporters: [jaeger_storage_exporter]',
      '  telemetry:',
      '    metrics:',
      '      level: none',
      '    logs:',
      '      level: warn',
      'extensions:',
      '  jaeger_storage:',
      '    backends:',
      '      memstore:',
      '        memory:',
      '          max_traces: 100000',
      '  jaeger_query:',
      '    storage:',
      '      traces: memstore',
      '    http:',
      `      endpoint: ${HOST}:${queryPort}`,
      '    grpc:',
      `      endpoint: ${HOST}:${queryGrpcPort}`,
      'receivers:',
      '  otlp:',
      '    protocols:',
      '      http:',
      `        endpoint: ${HOST}:${otlpPort}`,
      'exporters:',
      '  jaeger_storage_exporter:',
      '    trace_storage: memstore',
      '',
    ].join('\n'),
  );
  const server = await launch('jaeger', [`--config=file:${config}`], {
    ready: async () => (await canConnect(otlpPort)) && (await canConnect(queryPort)),
    logFile,
    detached,
  });
  return { ...server, port: otlpPort, queryPort, otlpUrl: `http://${HOST}:${otlpPort}`, queryUrl: `http://${HOST}:${queryPort}` };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { freePort, startFerretDB, startJaeger, startNatsServer, startNatsStreaming, startPostgres, startPrometheus, startStripeMock };
