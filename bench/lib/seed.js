'use strict';
/**
 * Old business, written straight into the service's database for the growth
 * run: `n` payments with their orders, as the service leaves them once all is
 * done, plus orders cancelled before anyone paid. The one place in the
 * benchmark that knows the stored shapes; it mirrors
 *
 *   src/data-access/order-model.ts orders   (replicated; `complete` once paid)
 *   src/data-access/payment-model.ts payments (succeeded, payment:created published)
 *   src/data-access/refund-model.ts refunds  (order cancelled after it was paid: refunded, payment:refunded published)
 *
 * and src/data-access/payment-claims.ts, src/payments/refund-payment.ts and outbox.ts for the values (keys,
 * history steps). Change it with those. Not seeded: stripe_events and dead
 * letters (the load does not read them).
 */
const { createHash, randomBytes } = require('node:crypto');
const { ObjectId } = require('./mongodb');

/** Shares of the seeded business. */
const MIX = {
  /** Of the payments: order cancelled after it was paid, refunded. */
  refunded: 0.05,
  /** Orders cancelled (expired) before anyone paid, per payment: no payment, no refund. */
  cancelledUnpaid: 0.1,
  /** Of the payments: a declined card came first (a failed attempt on record, the order freed). */
  declinedFirst: 0.1,
};
const CURRENCY = 'usd';
const DAY_MS = 86_400_000;

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const stripeId = (prefix) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
/** An ObjectId made at `ms` (old documents have old ids: the index order the service sees). */
const idAt = (ms) => new ObjectId(ObjectId.generate(Math.floor(ms / 1000)));
const step = (at, name, detail) => (detail === undefined ? { at, step: name } : { at, step: name, detail });

/** One paid order: its order, its payment and, when refunded, its refund. */
function paidOrder(i, now, refunded) {
  const claimedAt = new Date(now - DAY_MS * 90 * Math.random() - 60_000);
  const at = (ms) => new Date(claimedAt.getTime() + ms);
  const orderId = idAt(claimedAt.getTime() - 60_000).toHexString();
  const userId = `seed-${i}`;
  const price = 10 + (i % 90) + 0.99;
  const amount = Math.round(price * 100);
  const token = `tok_${randomBytes(6).toString('hex')}`;
  const paymentId = idAt(claimedAt.getTime());
  const charge = stripeId('ch');
  const order = {
    _id: orderId,
    version: refunded ? 1 : 0,
    userId,
    price,
    status: refunded ? 'cancelled' : 'complete',
    createdAt: at(-60_000),
    updatedAt: at(refunded ? 3_600_000 : 400),
  };
  const payment = {
    _id: paymentId,
    orderId,
    orderLock: orderId,
    attemptSlot: `${userId}:${claimedAt.getTime() - (claimedAt.getTime() % 60_000)}:0`,
    userId,
    method: 'token',
    tokenHash: sha256(token),
    idempotencyKey: `order-${orderId}-${sha256(`${orderId}:${token}:${paymentId}`).slice(0, 40)}`,
    amount,
    currency: CURRENCY,
    state: 'succeeded',
    leaseUntil: at(30_000),
    chargeAttempts: 1,
    stripeId: charge,
    paymentIntentId: stripeId('pi'),
    chargedAt: at(350),
    eventsOwed: [],
    owesEvents: false,
    eventsDueAt: null,
    history: [step(at(0), 'claimed', `${amount} ${CURRENCY}`), step(at(350), 'charged', charge), step(at(380), 'published', 'payment:created')],
    createdAt: at(0),
    updatedAt: at(380),
  };
  const declined = Math.random() < MIX.declinedFirst ? declinedAttempt(payment, at(-20_000)) : undefined;
  if (!refunded) return { order, payment, declined };
  const refundId = stripeId('re');
  const refund = {
    _id: idAt(claimedAt.getTime() + 3_600_000),
    paymentId,
    orderId,
    stripeId: charge,
    amount,
    currency: CURRENCY,
    reason: 'order_cancelled',
    idempotencyKey: `refund-${paymentId}`,
    state: 'refunded',
    leaseUntil: at(3_630_000),
    attempts: 1,
    refundId,
    refundedAt: at(3_600_300),
    eventsOwed: [],
    owesEvents: false,
    eventsDueAt: null,
    history: [step(at(3_600_000), 'owed', 'order cancelled'), step(at(3_600_300), 'refunded', refundId), step(at(3_600_320), 'published', 'payment:refunded')],
    createdAt: at(3_600_000),
    updatedAt: at(3_600_320),
  };
  return { order, payment, refund, declined };
}

/** A declined attempt on the same order before `payment`: failed, its lock given up, its attempt slot kept. */
function declinedAttempt(payment, when) {
  const _id = idAt(when.getTime());
  const { stripeId: _charge, chargedAt: _chargedAt, paymentIntentId: _intent, ...attempt } = payment;
  return {
    ...attempt,
    _id,
    orderLock: `released:${_id}`,
    attemptSlot: `${payment.userId}:${when.getTime() - (when.getTime() % 60_000)}:1`,
    idempotencyKey: `order-${payment.orderId}-${sha256(`${_id}`).slice(0, 40)}`,
    state: 'failed',
    failure: { kind: 'declined', message: 'Your card was declined.' },
    failedAt: new Date(when.getTime() + 300),
    history: [step(when, 'claimed', `${payment.amount} ${CURRENCY}`), step(new Date(when.getTime() + 300), 'failed: declined', 'Your card was declined.')],
    createdAt: when,
    updatedAt: new Date(when.getTime() + 300),
  };
}

/** An order cancelled (expired) before anyone paid it: a replica at version 1, nothing else. */
function cancelledOrder(i, now) {
  const createdAt = new Date(now - DAY_MS * 90 * Math.random() - 60_000);
  return {
    _id: idAt(createdAt.getTime()).toHexString(),
    version: 1,
    userId: `seed-x${i}`,
    price: 10 + (i % 90) + 0.99,
    status: 'cancelled',
    createdAt,
    updatedAt: new Date(createdAt.getTime() + 15 * 60_000),
  };
}

/**
 * Stores `n` payments (with their orders; MIX.refunded of them refunded) and
 * MIX.cancelledUnpaid × n unpaid cancelled orders in `db`, `batch` documents per
 * insertMany. Resolves with what was stored and how long it took.
 */
async function seed(db, n, { batch = 1000 } = {}) {
  const started = performance.now();
  const now = Date.now();
  const counts = { orders: 0, payments: 0, refunds: 0 };
  const insert = async (collection, docs) => {
    if (docs.length === 0) return;
    await db.collection(collection).insertMany(docs, { ordered: false });
    counts[collection] += docs.length;
  };
  const refundEvery = Math.round(1 / MIX.refunded);
  for (let from = 0; from < n; from += batch) {
    const docs = { orders: [], payments: [], refunds: [] };
    for (let i = from; i < Math.min(n, from + batch); i++) {
      const { order, payment, refund, declined } = paidOrder(i, now, i % refundEvery === refundEvery - 1);
      docs.orders.push(order);
      docs.payments.push(payment);
      if (declined) docs.payments.push(declined);
      if (refund) docs.refunds.push(refund);
    }
    await insert('orders', docs.orders);
    await insert('payments', docs.payments);
    await insert('refunds', docs.refunds);
  }
  const unpaid = Math.round(n * MIX.cancelledUnpaid);
  for (let from = 0; from < unpaid; from += batch) {
    await insert('orders', Array.from({ length: Math.min(batch, unpaid - from) }, (_, k) => cancelledOrder(from + k, now)));
  }
  return { ...counts, cancelledUnpaid: unpaid, seconds: Math.round((performance.now() - started) / 10) / 100 };
}

/** What the database holds, and the events its outbox still owes (payments and refunds). */
async function countStored(db) {
  const owing = { owesEvents: true };
  return {
    orders: (await db.command({ count: 'orders' })).n,
    payments: await db.collection('payments').countDocuments({}),
    succeeded: await db.collection('payments').countDocuments({ state: 'succeeded' }),
    refunds: await db.collection('refunds').countDocuments({}),
    eventsOwed: (await db.collection('payments').countDocuments(owing)) + (await db.collection('refunds').countDocuments(owing)),
  };
}

module.exports = { seed, countStored, MIX };
