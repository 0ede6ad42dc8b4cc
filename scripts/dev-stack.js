#!/usr/bin/env node
'use strict';
/**
 * The service with everything it needs, on this machine, with no configuration:
 * FerretDB (on PostgreSQL, or SQLite with FERRETDB_BACKEND=sqlite) and NATS Streaming,
 * or nats-server with JetStream when EVENT_BUS=jetstream (data kept in DEV_STACK_DIR,
 * default .servers/data, which one stack at a time may use),
 * the project's stateful fake Stripe (scripts/fake-stripe.js, the one the tests
 * use: test cards decline and ask for 3-D Secure as Stripe's do, and its events
 * reach the service as signed webhooks) unless STRIPE_KEY is set, and the
 * compiled service on HOST:PORT (127.0.0.1:3000).
 * MONGO_URI, NATS_URL or STRIPE_API_URL use servers that already run instead of starting them.
 * Writes the URLs and a session cookie for a sample user to <DEV_STACK_DIR>/stack.env.
 * The service's settings are checked by its own config module (dist/config.js) before
 * anything starts, so a wrong one is named at once.
 */
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const jwt = require('jsonwebtoken');
const { startFerretDB, startNatsServer, startNatsStreaming } = require('./servers');
const { FakeStripe } = require('./fake-stripe');
const { serviceNodeArgs } = require('./service-node-args');

const root = path.join(__dirname, '..');
const dataDir = path.resolve(root, process.env.DEV_STACK_DIR || path.join('.servers', 'data'));

/** Fails before anything starts when the service's address is taken, naming the variable to change. */
function checkFree(host, port) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`port ${port} on ${host} is already in use (another dev:stack?); choose a free one with PORT, e.g. PORT=3100 npm run dev:stack`)
          : err,
      ),
    );
    probe.listen(port, host, () => probe.close(resolve));
  });
}

/** The folder as the user would type it. */
const shown = (folder) => path.relative(process.cwd(), folder) || folder;

/** The advice for a second stack: a data folder and a port of its own. */
const ANOTHER_STACK = 'DEV_STACK_DIR=.servers/data-2 PORT=3100 npm run dev:stack';

/** Whether `pid` is a dev-stack that still runs (not a process that got its number since). */
function stackRuns(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dev-stack');
  } catch {
    return false;
  }
}

/** One stack per data folder: its pid is in <DEV_STACK_DIR>/dev-stack.pid while it runs. */
function lockDataDir() {
  const file = path.join(dataDir, 'dev-stack.pid');
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (stackRuns(pid)) {
        throw new Error(`a stack already runs on ${shown(dataDir)} (dev-stack pid ${pid}): stop it, or give this one a data folder and a port of its own: ${ANOTHER_STACK}`);
      }
      fs.rmSync(file, { force: true }); // left by a stack that did not stop cleanly
    }
  }
  process.on('exit', () => fs.rmSync(file, { force: true }));
}

/** PostgreSQL's own lock error, when a server of an earlier stack outlived it (its dev-stack was killed). */
function explain(err) {
  const held = /lock file "postmaster\.pid" already exists[\s\S]*?\(PID (\d+)\)/.exec(err.message);
  if (!held) return err.message;
  return `the servers of an earlier stack still run on ${shown(dataDir)} without their dev-stack (it was killed): stop them (its PostgreSQL is pid ${held[1]}; \`ps -ef | grep -e ${shown(dataDir)} -e ferretdb\` lists the others), or give this stack a data folder and a port of its own: ${ANOTHER_STACK}`;
}

/**
 * The service's settings as its config module reads them (dist/config.js, built by
 * `npm run dev:stack`), with stand-ins for the addresses of servers not started yet:
 * a wrong setting is named before anything starts.
 */
function checkSettings(env) {
  let loadConfig;
  try {
    ({ loadConfig } = require(path.join(root, 'dist', 'config.js')));
  } catch {
    throw new Error('dist/config.js is missing: run `npm run build` (npm run dev:stack does it first)');
  }
  const config = loadConfig({ MONGO_URI: 'mongodb://127.0.0.1:1/payments', NATS_URL: 'nats://127.0.0.1:1', ...env });
  if (config.port === 0) throw new Error('PORT=0 (any free port) does not suit the stack, whose fake Stripe and stack.env need the port: choose one, e.g. PORT=3100');
  return config;
}

async function main() {
  const host = process.env.HOST || '127.0.0.1';
  const port = process.env.PORT || '3000';
  const planned = {
    ...process.env,
    HOST: host,
    PORT: port,
    // A fresh key each start unless one is given: a cookie signed with a published key is no secret.
    JWT_KEY: process.env.JWT_KEY ?? crypto.randomBytes(32).toString('hex'),
    NATS_CLIENT_ID: process.env.NATS_CLIENT_ID ?? `payments-local-${process.pid}`,
    STRIPE_KEY: process.env.STRIPE_KEY ?? 'sk_test_localstandin',
  };
  const config = checkSettings(planned);
  const jetstream = config.eventBus === 'jetstream';
  fs.mkdirSync(dataDir, { recursive: true });
  lockDataDir();
  await checkFree(host, config.port);

  // Own process groups: Ctrl-C reaches the service, which drains and closes while its servers still run.
  const detached = true;
  // FerretDB on PostgreSQL (FERRETDB_BACKEND=sqlite for SQLite): its cluster in ferretdb/postgresql, kept across restarts.
  const ferret = process.env.MONGO_URI
    ? undefined
    : await startFerretDB({
        dir: mkdir(path.join(dataDir, 'ferretdb')),
        logFile: path.join(dataDir, 'ferretdb.log'),
        postgresLogFile: path.join(dataDir, 'postgresql.log'),
        ownedFrom: dataDir,
        detached,
      });
  // NATS Streaming, or with EVENT_BUS=jetstream nats-server with JetStream: their stores in nats/ and jetstream/.
  const nats = process.env.NATS_URL
    ? undefined
    : jetstream
      ? await startNatsServer({ store: 'file', dir: mkdir(path.join(dataDir, 'jetstream')), logFile: path.join(dataDir, 'nats-server.log'), detached })
      : await startNatsStreaming({ store: 'file', dir: mkdir(path.join(dataDir, 'nats')), logFile: path.join(dataDir, 'nats.log'), detached });
  // The fake Stripe, unless Stripe itself (STRIPE_KEY) or another stand-in (STRIPE_API_URL) is asked for.
  const fake = process.env.STRIPE_KEY || process.env.STRIPE_API_URL ? undefined : await FakeStripe.start();
  const stripeUrl = fake?.url ?? process.env.STRIPE_API_URL;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const paymentsUrl = `http://${urlHost}:${port}`;
  // The fake signs its webhooks with a secret made afresh at each start, unless one is given.
  const webhookSecret = process.env.STRIPE_WEBHOOK_SECRET ?? (fake ? `whsec_${crypto.randomBytes(24).toString('hex')}` : undefined);
  if (fake) {
    fake.webhooks = { url: `${paymentsUrl}/api/payments/webhooks/stripe`, secret: webhookSecret };
    fake.log = (line) => console.log(`dev-stack: fake Stripe: ${line}`);
  }

  const natsUrl = nats?.url ?? process.env.NATS_URL;
  const natsClusterId = nats ? 'ticketing' : process.env.NATS_CLUSTER_ID || 'ticketing';
  const env = {
    ...planned,
    MONGO_URI: ferret ? `${ferret.uri}/payments` : process.env.MONGO_URI,
    NATS_URL: natsUrl,
    NATS_CLUSTER_ID: natsClusterId,
    ...(stripeUrl ? { STRIPE_API_URL: stripeUrl } : {}),
    ...(webhookSecret ? { STRIPE_WEBHOOK_SECRET: webhookSecret } : {}),
  };
  const userId = 'local-user-1';
  const token = jwt.sign({ id: userId, email: 'local@example.com' }, env.JWT_KEY, { algorithm: 'HS256' });
  const cookie = `session=${Buffer.from(JSON.stringify({ jwt: token })).toString('base64')}`;
  const stackEnv = path.join(dataDir, 'stack.env');
  fs.writeFileSync(
    stackEnv,
    Object.entries({ MONGO_URI: env.MONGO_URI, EVENT_BUS: config.eventBus, NATS_URL: natsUrl, NATS_CLUSTER_ID: natsClusterId, PAYMENTS_URL: paymentsUrl, USER_ID: userId, COOKIE: cookie, ...(stripeUrl ? { STRIPE_API_URL: stripeUrl } : {}), ...(fake ? { FAKE_STRIPE_URL: fake.url, STRIPE_KEY: env.STRIPE_KEY } : {}) })
      .map(([key, value]) => `${key}='${value}'`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );

  console.log(`dev-stack: MongoDB       ${ferret ? `FerretDB at ${ferret.uri} on ${ferret.backend}${ferret.postgres ? ` (${ferret.postgres.url})` : ''}` : 'MONGO_URI'}`);
  console.log(`dev-stack: NATS          ${natsUrl} ${jetstream ? '(JetStream)' : `(NATS Streaming, cluster ${natsClusterId})`}`);
  const stripe = fake
    ? `fake Stripe at ${fake.url} (test cards as Stripe's; 3-D Secure: POST ${fake.url}/_test/payment_intents/<pi_…>/authenticate[?outcome=fail]; signed webhooks to the service)`
    : stripeUrl
      ? `stand-in at ${stripeUrl}`
      : `api.stripe.com with your STRIPE_KEY${webhookSecret ? '' : '; no STRIPE_WEBHOOK_SECRET: webhooks answer 503 (see docs/local-stack.md#stripe-test-mode)'}`;
  console.log(`dev-stack: Stripe        ${stripe}`);
  console.log(`dev-stack: payments      ${paymentsUrl}${host === '127.0.0.1' ? '' : ` (listening on ${host})`}`);
  console.log(`dev-stack: sample user   ${userId}; its cookie and the URLs are in ${shown(stackEnv)}`);

  // With production's node options (package.json's start script, the image's CMD).
  const service = spawn(process.execPath, [...serviceNodeArgs(root), path.join(root, 'dist', 'index.js')], { env, stdio: 'inherit' });
  const stopAll = async () => {
    await Promise.all([ferret?.stop(), nats?.stop(), fake?.stop()]);
  };
  // Ctrl-C in a terminal reaches the service too (same process group): only wait for it.
  // A SIGTERM or SIGHUP is for this script alone: pass it on.
  process.on('SIGINT', () => {});
  process.once('SIGTERM', () => service.kill('SIGTERM'));
  process.once('SIGHUP', () => service.kill('SIGTERM'));
  service.on('exit', async (code) => {
    await stopAll();
    process.exit(code ?? 0);
  });
}

function mkdir(dir) {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

main().catch((err) => {
  console.error(`dev-stack: ${explain(err)}`);
  process.exit(1);
});
