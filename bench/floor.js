'use strict';
/**
 * The floor: the least a payment can cost on this stack. A bare node:http server
 * doing the same I/O as one paid POST /api/payments and nothing else:
 *
 *   read the order from Mongo -> one charge through the real `stripe` SDK ->
 *   insert one document -> publish one message (NATS Streaming, or JetStream with EVENT_BUS=jetstream) -> 201.
 *
 * No express, no session/JWT check, no validation, no claim/lease protocol, no
 * outbox, no metrics, no logging. The service/floor ratio says what all of that
 * costs.
 *
 * FLOOR_STEPS=safe (`node bench/run.js --floor safe`) makes it do the I/O of the
 * service's own paid request instead, still with nothing else: read the order ->
 * insert the claim (under a unique index, as the service's lock) -> a PaymentMethod from the token, then a
 * confirmed PaymentIntent -> record the charge with the event owed
 * (findOneAndUpdate {_id, state}) -> 201; after the answer read the order again,
 * publish, clear the debt (updateOne). Service ÷ this floor is what the service's
 * code costs over its own protocol; this floor ÷ the bare one is what the
 * protocol (charge once, lose nothing) costs. Configured like the service through its environment:
 * PORT, MONGO_URI (with the database that holds `orders`), NATS_URL,
 * NATS_CLUSTER_ID, NATS_CLIENT_ID, STRIPE_KEY, STRIPE_API_URL.
 * Prints `{"port":N}` on stdout when it answers.
 */
const http = require('node:http');
const { MongoClient, ObjectId } = require('./lib/mongodb');
const Stripe = require('stripe');
const { connectBroker } = require('./lib/broker');

async function main() {
  const env = process.env;
  const mongo = await new MongoClient(env.MONGO_URI, { serverSelectionTimeoutMS: 10_000 }).connect();
  const db = mongo.db();
  const orders = db.collection('orders');
  const payments = db.collection(env.FLOOR_COLLECTION || 'floor_payments');

  const stripeUrl = new URL(env.STRIPE_API_URL);
  const stripe = new Stripe(env.STRIPE_KEY, {
    host: stripeUrl.hostname,
    port: stripeUrl.port,
    protocol: stripeUrl.protocol.replace(':', ''),
    timeout: 20_000,
    maxNetworkRetries: 1, // as the service
    telemetry: false,
  });

  const safe = env.FLOOR_STEPS === 'safe';
  if (safe) await payments.createIndex({ orderLock: 1 }, { unique: true });

  const nats = await connectBroker({ bus: env.EVENT_BUS || 'stan', url: env.NATS_URL, clusterId: env.NATS_CLUSTER_ID }, env.NATS_CLIENT_ID);
  const publish = (subject, data) => nats.publish(subject, JSON.stringify(data));

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        if (req.method !== 'POST' || req.url !== '/api/payments') return send(res, 404, { errors: [{ message: 'Not found' }] });
        const { token, orderId } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const order = await orders.findOne({ _id: orderId });
        if (!order) return send(res, 404, { errors: [{ message: 'Order not found' }] });
        if (safe) return await paySafely(res, { orderId, token, order });
        const paymentId = new ObjectId();
        const charge = await stripe.charges.create(
          {
            amount: Math.round(order.price * 100),
            currency: 'usd',
            source: token,
            metadata: { orderId, paymentId: paymentId.toHexString() },
            description: `Order ${orderId}`,
          },
          { idempotencyKey: `floor-${paymentId.toHexString()}` },
        );
        await payments.insertOne({ _id: paymentId, orderId, userId: order.userId, stripeId: charge.id, amount: charge.amount, createdAt: new Date() });
        await publish('payment:created', { id: paymentId.toHexString(), orderId, stripeId: charge.id });
        send(res, 201, { id: paymentId.toHexString(), orderId, stripeId: charge.id });
      } catch (err) {
        send(res, 500, { errors: [{ message: String(err && err.message) }] });
      }
    });
  });
  /** The service's I/O for one paid request (see the top of this file), answered after the record. */
  async function paySafely(res, { orderId, token, order }) {
    const _id = new ObjectId();
    const key = `floor-${_id.toHexString()}`;
    const amount = Math.round(order.price * 100);
    // The lock's unique index entry costs what the service's does; the key carries the claim's id too, because the
    // floor pays the orders the service just paid, and when it runs out of them it pays them again.
    const orderLock = `${orderId}:${_id.toHexString()}`;
    await payments.insertOne({ _id, orderId, orderLock, userId: order.userId, amount, currency: 'usd', state: 'charging', token, createdAt: new Date() });
    const method = await stripe.paymentMethods.create({ type: 'card', card: { token } }, { idempotencyKey: `${key}-pm` });
    const intent = await stripe.paymentIntents.create(
      { amount, currency: 'usd', payment_method: method.id, automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, confirm: true, metadata: { orderId, paymentId: _id.toHexString() } },
      { idempotencyKey: key },
    );
    const stripeId = typeof intent.latest_charge === 'string' ? intent.latest_charge : intent.latest_charge?.id ?? intent.id;
    await payments.findOneAndUpdate(
      { _id, state: 'charging' },
      { $set: { state: 'succeeded', stripeId, paymentIntentId: intent.id, eventsOwed: ['payment:created'], owesEvents: true }, $unset: { token: 1 } },
      { returnDocument: 'after' },
    );
    send(res, 201, { id: _id.toHexString(), orderId, stripeId });
    const current = await orders.findOne({ _id: orderId }, { projection: { status: 1 } });
    if (current?.status !== 'cancelled') await publish('payment:created', { id: _id.toHexString(), orderId, stripeId });
    await payments.updateOne({ _id }, { $set: { eventsOwed: [], owesEvents: false } });
  }

  server.keepAliveTimeout = 65_000;
  await new Promise((resolve) => server.listen(Number(env.PORT || 0), '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);

  const stop = () => {
    server.close();
    server.closeAllConnections();
    nats.close().finally(() => mongo.close().finally(() => process.exit(0)));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

main().catch((err) => {
  process.stderr.write(`floor: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
