#!/usr/bin/env node
'use strict';
/**
 * The service with everything it needs, on this machine, with no configuration:
 * FerretDB (on PostgreSQL, or SQLite with FERRETDB_BACKEND=sqlite) and NATS Streaming
 * (data kept in DEV_STACK_DIR, default .servers/data),
 * the project's stateful fake Stripe (scripts/fake-stripe.js, the one the tests
 * use: test cards decline and ask for 3-D Secure as Stripe's do, and its events
 * reach the service as signed webhooks) unless STRIPE_KEY is set, and the
 * compiled service on HOST:PORT (127.0.0.1:3000).
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
    ...(webhookSecret ? { STRIPE_WEBHOOK_SECRET: webhookSecret } : {}),
  };
  const userId = 'local-user-1';
  const token = jwt.sign({ id: userId, email: 'local@example.com' }, env.JWT_KEY, { algorithm: 'HS256' });
  const cookie = `session=${Buffer.from(JSON.stringify({ jwt: token })).toString('base64')}`;
  const stackEnv = path.join(dataDir, 'stack.env');
  fs.writeFileSync(
    stackEnv,
    Object.entries({ MONGO_URI: env.MONGO_URI, NATS_URL: natsUrl, NATS_CLUSTER_ID: natsClusterId, PAYMENTS_URL: paymentsUrl, USER_ID: userId, COOKIE: cookie, ...(fake ? { FAKE_STRIPE_URL: fake.url } : {}) })
      .map(([key, value]) => `${key}='${value}'`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );

  console.log(`dev-stack: MongoDB       ${ferret ? `FerretDB at ${ferret.uri} on ${ferret.backend}${ferret.postgres ? ` (${ferret.postgres.url})` : ''}` : 'MONGO_URI'}`);
  console.log(`dev-stack: NATS          ${natsUrl} (cluster ${natsClusterId})`);
  const stripe = fake
    ? `fake Stripe at ${fake.url} (test cards as Stripe's; 3-D Secure: POST ${fake.url}/_test/payment_intents/<pi_…>/authenticate[?outcome=fail]; signed webhooks to the service)`
    : stripeUrl
      ? `stand-in at ${stripeUrl}`
      : `api.stripe.com with your STRIPE_KEY${webhookSecret ? '' : '; no STRIPE_WEBHOOK_SECRET: webhooks answer 503 (see README, "Stripe test mode")'}`;
  console.log(`dev-stack: Stripe        ${stripe}`);
  console.log(`dev-stack: payments      ${paymentsUrl}${host === '127.0.0.1' ? '' : ` (listening on ${host})`}`);
  console.log(`dev-stack: sample user   ${userId}; its cookie and the URLs are in ${path.relative(process.cwd(), stackEnv) || stackEnv}`);

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
  console.error(`dev-stack: ${err.message}`);
  process.exit(1);
});
