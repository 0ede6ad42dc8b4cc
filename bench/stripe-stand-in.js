'use strict';
/**
 * A tiny Stripe stand-in for the benchmark and the local stack: POST
 * /v1/payment_methods, /v1/payment_intents (a succeeded PaymentIntent with its
 * charge) and /v1/charges answer at once, whatever the card; refunds succeed; the
 * PaymentIntents list is empty. No idempotency store, no validation beyond
 * "amount is a positive integer": it exists to take Stripe's network latency out
 * of the measurement, not to play Stripe (stripe-mock checks our requests; its
 * PaymentIntent fixture never succeeds, so it cannot stand in for a payment).
 *
 *   GET /_bench/stats   -> { charges, requests } (what the benchmark reads)
 *
 * Run as a process: `node bench/stripe-stand-in.js [--port N]` prints one JSON
 * line `{"port":N}` on stdout once it listens. Or `require()` it and call start().
 */
const http = require('node:http');
const { randomBytes } = require('node:crypto');

function start({ port = 0, host = '127.0.0.1' } = {}) {
  const stats = { charges: 0, requests: 0, rejected: 0 };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url || '').split('?')[0];
      if (req.method === 'GET' && path === '/_bench/stats') return send(res, 200, stats);
      if (req.method === 'POST' && path === '/_bench/reset') {
        stats.charges = 0;
        stats.requests = 0;
        stats.rejected = 0;
        return send(res, 200, stats);
      }
      stats.requests += 1;
      const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const metadata = {};
      for (const [key, value] of params) {
        if (key.startsWith('metadata[') && key.endsWith(']')) metadata[key.slice(9, -1)] = value;
      }
      const created = Math.floor(Date.now() / 1000);
      // Recovery's lookup: the stand-in keeps nothing, so it lists nothing.
      if (req.method === 'GET' && path === '/v1/payment_intents') {
        return send(res, 200, { object: 'list', url: '/v1/payment_intents', has_more: false, data: [] });
      }
      if (req.method === 'POST' && path === '/v1/payment_methods') {
        return send(res, 200, { id: `pm_${randomBytes(12).toString('hex')}`, object: 'payment_method', type: 'card', created, livemode: false });
      }
      if (req.method === 'POST' && path === '/v1/refunds') {
        return send(res, 200, { id: `re_${randomBytes(12).toString('hex')}`, object: 'refund', amount: Number(params.get('amount')), charge: params.get('charge'), status: 'succeeded', metadata, created });
      }
      const intent = path === '/v1/payment_intents';
      if (req.method !== 'POST' || (path !== '/v1/charges' && !intent)) {
        stats.rejected += 1;
        return send(res, 404, stripeError('invalid_request_error', `Unrecognized request URL (${req.method}: ${path})`));
      }
      const amount = Number(params.get('amount'));
      const currency = params.get('currency');
      if (!Number.isInteger(amount) || amount <= 0 || !currency) {
        stats.rejected += 1;
        return send(res, 400, stripeError('invalid_request_error', 'Invalid amount or currency', { param: 'amount' }));
      }
      stats.charges += 1;
      const charge = `ch_${randomBytes(12).toString('hex')}`;
      if (intent) {
        const id = `pi_${randomBytes(12).toString('hex')}`;
        return send(res, 200, {
          id,
          object: 'payment_intent',
          amount,
          amount_received: amount,
          currency,
          status: 'succeeded',
          client_secret: `${id}_secret_${randomBytes(8).toString('hex')}`,
          latest_charge: charge,
          payment_method: params.get('payment_method'),
          description: params.get('description'),
          metadata,
          livemode: false,
          created,
        });
      }
      send(res, 200, {
        id: charge,
        object: 'charge',
        amount,
        amount_captured: amount,
        amount_refunded: 0,
        currency,
        captured: true,
        paid: true,
        refunded: false,
        status: 'succeeded',
        description: params.get('description'),
        failure_code: null,
        failure_message: null,
        metadata,
        livemode: false,
        created,
      });
    });
  });
  server.keepAliveTimeout = 65_000;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        port: address.port,
        url: `http://${host}:${address.port}`,
        stats,
        stop: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function stripeError(type, message, extra = {}) {
  return { error: { type, message, ...extra } };
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Request-Id': `req_${randomBytes(6).toString('hex')}`,
  });
  res.end(text);
}

module.exports = { start };

if (require.main === module) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 0;
  start({ port }).then(
    (standIn) => {
      process.stdout.write(`${JSON.stringify({ port: standIn.port })}\n`);
      const stop = () => standIn.stop().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      // The benchmark is our parent: never outlive it.
      process.on('disconnect', stop);
    },
    (err) => {
      process.stderr.write(`stripe-stand-in: ${err.message}\n`);
      process.exit(1);
    },
  );
}
