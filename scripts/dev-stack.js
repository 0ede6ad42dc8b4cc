#!/usr/bin/env node
'use strict';
/**
 * The service with everything it needs, on this machine, with no configuration:
 * FerretDB (on PostgreSQL, or SQLite with FERRETDB_BACKEND=sqlite) and NATS Streaming
 * (data kept in DEV_STACK_DIR, default .servers/data),
 * a Stripe stand-in (bench/stripe-stand-in.js: every card succeeds; stripe-mock
 * cannot play Stripe here, its PaymentIntent fixture never succeeds) unless
 * STRIPE_KEY is set, and the compiled service on HOST:PORT (127.0.0.1:3000).
 * MONGO_URI, NATS_URL or STRIPE_API_URL use servers that already run instead of starting them.
 * Writes the URLs and a session cookie for a sample user to <DEV_STACK_DIR>/stack.env.
 */
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const jwt = require('jsonwebtoken');
const { startFerretDB, startNatsStreaming } = require('./servers');
const stripeStandIn = require('../bench/stripe-stand-in');

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

async function main() {
  const host = process.env.HOST || '127.0.0.1';
  const port = process.env.PORT || '3000';
  await checkFree(host, Number(port));
  fs.mkdirSync(dataDir, { recursive: true });

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
  const nats = process.env.NATS_URL
    ? undefined
    : await startNatsStreaming({ store: 'file', dir: mkdir(path.join(dataDir, 'nats')), logFile: path.join(dataDir, 'nats.log'), detached });
  // stripe-mock cannot stand in here (its PaymentIntents never succeed): the stand-in, unless Stripe itself
  // (STRIPE_KEY) or another stand-in (STRIPE_API_URL) is asked for.
  const stripeMock = process.env.STRIPE_KEY || process.env.STRIPE_API_URL ? undefined : await stripeStandIn.start();
  const stripeUrl = stripeMock?.url ?? process.env.STRIPE_API_URL;

  const natsUrl = nats?.url ?? process.env.NATS_URL;
  const natsClusterId = nats ? 'ticketing' : process.env.NATS_CLUSTER_ID || 'ticketing';
  const env = {
    ...process.env,
    HOST: host,
    PORT: port,
    // A fresh key each start unless one is given: a cookie signed with a published key is no secret.
    JWT_KEY: process.env.JWT_KEY ?? crypto.randomBytes(32).toString('hex'),
    MONGO_URI: ferret ? `${ferret.uri}/payments` : process.env.MONGO_URI,
    NATS_URL: natsUrl,
    NATS_CLUSTER_ID: natsClusterId,
    NATS_CLIENT_ID: process.env.NATS_CLIENT_ID ?? `payments-local-${process.pid}`,
    STRIPE_KEY: process.env.STRIPE_KEY ?? 'sk_test_localstandin',
    ...(stripeUrl ? { STRIPE_API_URL: stripeUrl } : {}),
  };
  const userId = 'local-user-1';
  const token = jwt.sign({ id: userId, email: 'local@example.com' }, env.JWT_KEY, { algorithm: 'HS256' });
  const cookie = `session=${Buffer.from(JSON.stringify({ jwt: token })).toString('base64')}`;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const stackEnv = path.join(dataDir, 'stack.env');
  fs.writeFileSync(
    stackEnv,
    Object.entries({ MONGO_URI: env.MONGO_URI, NATS_URL: natsUrl, NATS_CLUSTER_ID: natsClusterId, PAYMENTS_URL: `http://${urlHost}:${port}`, USER_ID: userId, COOKIE: cookie })
      .map(([key, value]) => `${key}='${value}'`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );

  console.log(`dev-stack: MongoDB       ${ferret ? `FerretDB at ${ferret.uri} on ${ferret.backend}${ferret.postgres ? ` (${ferret.postgres.url})` : ''}` : 'MONGO_URI'}`);
  console.log(`dev-stack: NATS          ${natsUrl} (cluster ${natsClusterId})`);
  console.log(`dev-stack: Stripe        ${stripeUrl ? `stand-in at ${stripeUrl}` : 'api.stripe.com with your STRIPE_KEY'}`);
  console.log(`dev-stack: payments      http://${urlHost}:${port}${host === '127.0.0.1' ? '' : ` (listening on ${host})`}`);
  console.log(`dev-stack: sample user   ${userId}; its cookie and the URLs are in ${path.relative(process.cwd(), stackEnv) || stackEnv}`);

  const service = spawn(process.execPath, [path.join(root, 'dist', 'index.js')], { env, stdio: 'inherit' });
  const stopAll = async () => {
    await Promise.all([ferret?.stop(), nats?.stop(), stripeMock?.stop()]);
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
  console.error(`dev-stack: ${err.message}`);
  process.exit(1);
});
