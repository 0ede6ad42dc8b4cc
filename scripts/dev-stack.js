#!/usr/bin/env node
'use strict';
/**
 * The service with everything it needs, on this machine, with no configuration:
 * FerretDB and NATS Streaming (data kept in .servers/data), a Stripe stand-in
 * (bench/stripe-stand-in.js: every card succeeds) unless STRIPE_KEY is set, and the
 * compiled service on PORT (3000). stripe-mock cannot play Stripe here: its
 * PaymentIntent fixture never succeeds.
 * Prints a session cookie for a sample user so the API can be tried with curl.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const jwt = require('jsonwebtoken');
const { startFerretDB, startNatsStreaming } = require('./servers');
const stripeStandIn = require('../bench/stripe-stand-in');

const root = path.join(__dirname, '..');
const dataDir = path.join(root, '.servers', 'data');

async function main() {
  fs.mkdirSync(path.join(dataDir, 'ferretdb'), { recursive: true });
  fs.mkdirSync(path.join(dataDir, 'nats'), { recursive: true });
  const ferret = await startFerretDB({ dir: path.join(dataDir, 'ferretdb'), logFile: path.join(dataDir, 'ferretdb.log') });
  const nats = await startNatsStreaming({ store: 'file', dir: path.join(dataDir, 'nats'), logFile: path.join(dataDir, 'nats.log') });
  const stripeMock = process.env.STRIPE_KEY ? undefined : await stripeStandIn.start();

  const env = {
    ...process.env,
    PORT: process.env.PORT ?? '3000',
    JWT_KEY: process.env.JWT_KEY ?? 'local-dev-jwt-key',
    MONGO_URI: `${ferret.uri}/payments`,
    NATS_URL: nats.url,
    NATS_CLUSTER_ID: 'ticketing',
    NATS_CLIENT_ID: process.env.NATS_CLIENT_ID ?? `payments-local-${process.pid}`,
    STRIPE_KEY: process.env.STRIPE_KEY ?? 'sk_test_localstandin',
    ...(stripeMock ? { STRIPE_API_URL: stripeMock.url } : {}),
  };
  const userId = 'local-user-1';
  const token = jwt.sign({ id: userId, email: 'local@example.com' }, env.JWT_KEY, { algorithm: 'HS256' });
  const cookie = `session=${Buffer.from(JSON.stringify({ jwt: token })).toString('base64')}`;
  fs.writeFileSync(
    path.join(dataDir, 'stack.env'),
    Object.entries({ NATS_URL: nats.url, NATS_CLUSTER_ID: 'ticketing', PAYMENTS_URL: `http://127.0.0.1:${env.PORT}`, USER_ID: userId, COOKIE: cookie })
      .map(([key, value]) => `${key}='${value}'`)
      .join('\n') + '\n',
  );

  console.log(`dev-stack: FerretDB      ${ferret.uri}`);
  console.log(`dev-stack: NATS          ${nats.url} (cluster ticketing)`);
  console.log(`dev-stack: Stripe        ${stripeMock ? `a stand-in at ${stripeMock.url}` : 'api.stripe.com with your STRIPE_KEY'}`);
  console.log(`dev-stack: payments      http://127.0.0.1:${env.PORT}`);
  console.log(`dev-stack: sample user   ${userId}; its cookie and the URLs are in .servers/data/stack.env`);

  const service = spawn(process.execPath, [path.join(root, 'dist', 'index.js')], { env, stdio: 'inherit' });
  const stopAll = async () => {
    await Promise.all([ferret.stop(), nats.stop(), stripeMock?.stop()]);
  };
  // Ctrl-C in a terminal reaches the service too (same process group): only wait for it.
  // A SIGTERM is for this script alone: pass it on.
  process.on('SIGINT', () => {});
  process.once('SIGTERM', () => service.kill('SIGTERM'));
  service.on('exit', async (code) => {
    await stopAll();
    process.exit(code ?? 0);
  });
}

main().catch((err) => {
  console.error(`dev-stack: ${err.message}`);
  process.exit(1);
});
