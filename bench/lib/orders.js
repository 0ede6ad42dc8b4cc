'use strict';
/**
 * Plays the orders service: makes users and orders, publishes order:created /
 * order:cancelled through the broker (NATS Streaming or JetStream), and tells when the payments service
 * has them (by counting its `orders` collection, or, for a service whose
 * database we cannot see, by asking it over HTTP as the contract allows).
 */
const { randomBytes } = require('node:crypto');
const jwt = require('jsonwebtoken');
const { ObjectId } = require('./mongodb');
const { connectBroker } = require('./broker');
const { sleep } = require('./procs');

function newId() {
  return new ObjectId().toHexString();
}

/** A session cookie as the auth service writes it: base64 of {"jwt": HS256 JWT of {id, email}}. */
function sessionCookie(userId, jwtKey) {
  const token = jwt.sign({ id: userId, email: `${userId}@bench.dev` }, jwtKey, { algorithm: 'HS256' });
  return `session=${Buffer.from(JSON.stringify({ jwt: token })).toString('base64')}`;
}

const runTag = randomBytes(3).toString('hex');
let orderSeq = 0;
/**
 * Orders, each of a user of its own (the service limits payment attempts per
 * user and minute; one user per order keeps the benchmark clear of it). With a
 * `jwtKey`, each order carries its owner's session cookie.
 */
function makeOrders(count, jwtKey) {
  return Array.from({ length: count }, () => {
    const i = orderSeq++;
    const userId = `bench-${runTag}-${i}`;
    return { id: newId(), userId, price: 10 + (i % 90) + 0.99, cookie: jwtKey ? sessionCookie(userId, jwtKey) : undefined };
  });
}

function createdEvent(order) {
  return {
    id: order.id,
    version: 0,
    status: 'created',
    userId: order.userId,
    expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
    ticket: { id: newId(), price: order.price },
  };
}

function cancelledEvent(order) {
  return { id: order.id, version: 1, ticket: { id: newId() } };
}

class Publisher {
  constructor(conn) {
    this.conn = conn;
  }

  /** `bus`: 'stan' (default) or 'jetstream'. */
  static async connect({ url, clusterId, bus = 'stan' }, clientId = `bench-orders-${randomBytes(4).toString('hex')}`) {
    return new Publisher(await connectBroker({ bus, url, clusterId }, clientId));
  }

  publish(subject, data) {
    return this.conn.publish(subject, JSON.stringify(data));
  }

  /** Publishes every payload, `batch` at a time, each acked by the server. */
  async publishAll(subject, payloads, batch = 2000) {
    for (let i = 0; i < payloads.length; i += batch) {
      await Promise.all(payloads.slice(i, i + batch).map((payload) => this.publish(subject, payload)));
    }
  }

  close() {
    return this.conn.close();
  }
}

/**
 * Waits until `done()` says yes, polling every `intervalMs`; returns the time it
 * took in ms, or undefined on timeout.
 */
async function waitUntil(done, { timeoutMs, intervalMs = 250 }) {
  const started = performance.now();
  for (;;) {
    if (await done()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) return undefined;
    await sleep(intervalMs);
  }
}

/** Counts documents in the service's database (the mongodb driver that mongoose brings). */
async function countOrders(db, filter) {
  if (!filter) {
    const reply = await db.command({ count: 'orders' });
    return reply.n;
  }
  return db.collection('orders').countDocuments(filter);
}

/**
 * For a service whose database is out of reach: the contract answers 404 for an
 * unknown order and 401 for an order of another user, without charging. Asks
 * about the given orders, each time as a new stranger (so no per-user attempt
 * limit gets in the way); true when every one is known.
 */
async function knownOverHttp(targetUrl, orders, jwtKey) {
  const results = await Promise.all(
    orders.map((order) =>
      fetch(`${targetUrl}/api/payments`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          cookie: sessionCookie(`bench-stranger-${randomBytes(6).toString('hex')}`, jwtKey),
        },
        body: JSON.stringify({ token: 'tok_visa', orderId: order.id }),
        signal: AbortSignal.timeout(5000),
      }).then(
        async (res) => {
          await res.arrayBuffer();
          return res.status;
        },
        () => 0,
      ),
    ),
  );
  return results.every((status) => status === 401);
}

module.exports = {
  newId,
  sessionCookie,
  makeOrders,
  createdEvent,
  cancelledEvent,
  Publisher,
  waitUntil,
  countOrders,
  knownOverHttp,
};
