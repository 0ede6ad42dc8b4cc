'use strict';
/**
 * Starts the local servers on free loopback ports and waits until each really
 * answers: FerretDB (MongoDB wire protocol over SQLite), nats-streaming-server
 * (cluster id `ticketing`), nats-server with JetStream, and stripe-mock. Used by
 * the tests and the local stack.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { binDir } = require('./server-versions');

const HOST = '127.0.0.1';
const children = new Set();
/** Temporary data folders this process made: removed when it exits, so no test leaves data behind. */
const scratchDirs = new Set();

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
});

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
 */
async function launch(name, args, { ready, timeoutMs = 30_000, logFile, detached = false }) {
  // stripe-mock also listens on $PORT when it is set: keep the service's PORT away from it.
  const { PORT: _servicePort, ...env } = process.env;
  const child = spawn(binary(name), args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached });
  children.add(child);
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
      log?.end();
      resolve({ code, signal });
    }),
  );

  const deadline = Date.now() + timeoutMs;
  while (!(await ready(output))) {
    if (exited) throw new Error(`${name} exited during start-up:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not answer within ${timeoutMs} ms:\n${output}`);
    }
    await sleep(50);
  }

  return {
    pid: child.pid,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (exited) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
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
 * FerretDB with its SQLite backend; data in `dir`, or in a fresh temporary folder
 * (removed when this process exits) when omitted.
 */
async function startFerretDB({ port, dir, logFile, detached } = {}) {
  port = port ?? (await freePort());
  dir = dir ?? scratchDir('payments-ferretdb-');
  const server = await launch('ferretdb', ['-listen-addr', `${HOST}:${port}`, '-sqlite-dir', dir], {
    ready: () => canConnect(port),
    logFile,
    detached,
  });
  return { ...server, port, dir, uri: `mongodb://${HOST}:${port}` };
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
 * nats-server with JetStream (`-js`), its store in `dir` (a fresh temporary folder
 * when omitted). Start it again with the same `dir` and its streams and consumers
 * are back; `store: 'memory'` forgets them on restart (a fresh folder each time),
 * like a NATS Streaming memory store. `clusterId` is only there so callers can
 * treat both brokers alike.
 */
async function startNatsServer({ port, store = 'file', dir, logFile } = {}) {
  port = port ?? (await freePort());
  if (store === 'memory' || !dir) dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-jetstream-'));
  const args = ['-js', '-sd', dir, '-a', HOST, '-p', String(port)];
  const server = await launch('nats-server', args, {
    ready: (output) => output.includes('Server is ready'),
    logFile,
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

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { freePort, startFerretDB, startNatsServer, startNatsStreaming, startStripeMock };
