#!/usr/bin/env node
'use strict';
/**
 * What one command costs on FerretDB over PostgreSQL, by how the stand-in's
 * indexes are made (scripts/servers.js, GIN_TWINS_SQL). A `payments` collection
 * with the service's indexes (src/data-access/payment-model.ts), `--seed` documents
 * shaped like payments, then `--ops` of each command the request path sends, at
 * `--concurrency`: commands/s, and CPU milliseconds per command in FerretDB, in
 * PostgreSQL (every backend) and in this client.
 *
 * Variants, each on a fresh cluster:
 *   current       the twins as the scripts make them: the leading field of each
 *                 index, without GIN's pending list (fastupdate = off)
 *   pending-list  a twin for every field of every index, with the pending list
 *                 (PostgreSQL's default; the scripts' twins until 2026-11-30)
 *   none          no twins: FerretDB's own btree indexes only
 *
 * Usage: node bench/ferretdb-ops.js [--variants current,pending-list,none] [--seed 5000] [--ops 3000] [--concurrency 16]
 */
const { MongoClient, ObjectId } = require('./lib/mongodb');
const { startFerretDB } = require('../scripts/servers');
const { cpuSeconds, descendants } = require('./lib/proc-stats');

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}
const VARIANTS = option('variants', 'current,pending-list,none').split(',');
const SEED = Number(option('seed', 5000));
const OPS = Number(option('ops', 3000));
const CONCURRENCY = Number(option('concurrency', 16));

/** The GIN indexes on the benchmark's collection: `schema.name` and the definition of each. */
async function twins(db) {
  const rows = await db.postgres.query("SELECT schemaname || '.' || indexname, indexdef FROM pg_indexes WHERE indexdef LIKE '% USING gin %' AND tablename LIKE 'payments\\_%'");
  return rows.map(([name, def]) => ({ name, def }));
}

/** Makes the collection's indexes as `variant` says (the scripts made them `current` already). */
async function shapeIndexes(db, variant) {
  if (variant === 'current') return;
  for (const twin of await twins(db)) await db.postgres.query(`DROP INDEX ${twin.name}`);
  if (variant === 'none') return;
  if (variant !== 'pending-list') throw new Error(`unknown variant ${variant}`);
  // Every field of every btree index, with PostgreSQL's default fastupdate = on.
  const [[table]] = await db.postgres.query("SELECT schemaname || '.' || tablename FROM pg_tables WHERE tablename LIKE 'payments\\_%'");
  const btrees = await db.postgres.query(`SELECT indexdef FROM pg_indexes WHERE schemaname || '.' || tablename = '${table}' AND indexdef LIKE '% USING btree %'`);
  const fields = new Set(btrees.flatMap(([def]) => [...def.matchAll(/\(_jsonb -> '([^']+)'::text\)/g)].map((m) => m[1])));
  for (const field of fields) await db.postgres.query(`CREATE INDEX ON ${table} USING gin ((_jsonb -> '${field}')) WITH (fastupdate = on)`);
}

function payment(i, overrides = {}) {
  const orderId = new ObjectId().toHexString();
  const now = new Date();
  return {
    _id: new ObjectId(), orderId, orderLock: orderId, attemptSlot: `user${i % 100}:${now.getTime()}:${i}`, userId: `user${i % 100}`,
    history: [{ at: now, step: 'claimed', detail: '1000 usd' }], token: 'tok_visa', method: 'token', tokenHash: 'f'.repeat(64),
    idempotencyKey: `order-${orderId}-${'a'.repeat(40)}`, amount: 1000, currency: 'usd', state: 'charging', leaseUntil: new Date(now.getTime() + 42_000),
    chargeAttempts: 1, eventsOwed: [], owesEvents: false, eventsDueAt: null, createdAt: now, updatedAt: now, ...overrides,
  };
}

async function inParallel(n, concurrency, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++);
  }));
}

async function measureVariant(variant) {
  const db = await startFerretDB({ backend: 'postgresql' });
  const client = await new MongoClient(db.uri, { maxPoolSize: CONCURRENCY * 2 }).connect();
  try {
    const payments = client.db('bench').collection('payments');
    await payments.createIndex({ orderLock: 1 }, { unique: true });
    await payments.createIndex({ attemptSlot: 1 }, { unique: true });
    await payments.createIndex({ orderId: 1 });
    await payments.createIndex({ state: 1, leaseUntil: 1 });
    await payments.createIndex({ owesEvents: 1, eventsDueAt: 1 });
    await payments.createIndex({ paymentIntentId: 1 });
    await payments.createIndex({ stripeId: 1 });
    await shapeIndexes(db, variant);
    const twinCount = (await twins(db)).length;
    for (let i = 0; i < SEED; i += 500) {
      await payments.insertMany(Array.from({ length: Math.min(500, SEED - i) }, (_, k) => payment(i + k, { state: 'succeeded', stripeId: `ch_seed${i + k}` })));
    }
    const docs = Array.from({ length: OPS }, (_, i) => payment(SEED + i));
    const databasePids = () => [db.pid, ...descendants(process.pid, 'postgres')];
    const rows = [];
    const measure = async (name, fn) => {
      const before = new Map(databasePids().map((pid) => [pid, cpuSeconds(pid) ?? 0]));
      const client0 = process.cpuUsage();
      const started = performance.now();
      await inParallel(OPS, CONCURRENCY, fn);
      const seconds = (performance.now() - started) / 1000;
      let ferret = 0;
      let postgres = 0;
      for (const pid of new Set([...before.keys(), ...databasePids()])) {
        const used = (cpuSeconds(pid) ?? 0) - (before.get(pid) ?? 0);
        if (pid === db.pid) ferret += used;
        else postgres += used;
      }
      const own = process.cpuUsage(client0);
      const perOp = (s) => ((s * 1000) / OPS).toFixed(2);
      rows.push(`| ${variant} (${twinCount} twins) | ${name} | ${Math.round(OPS / seconds)} | ${perOp(ferret)} | ${perOp(postgres)} | ${perOp((own.user + own.system) / 1e6)} |`);
    };
    await measure('insertOne', (k) => payments.insertOne(docs[k]));
    await measure('findOne {_id}', (k) => payments.findOne({ _id: docs[k]._id }));
    await measure('findOne {orderLock}', (k) => payments.findOne({ orderLock: docs[k].orderLock }));
    await measure('findOneAndUpdate {_id, state}', (k) =>
      payments.findOneAndUpdate(
        { _id: docs[k]._id, state: 'charging' },
        { $set: { state: 'succeeded', stripeId: `ch_${k}`, eventsOwed: ['payment:created'], owesEvents: true, eventsDueAt: new Date() }, $unset: { token: 1 }, $push: { history: { at: new Date(), step: 'charged' } } },
        { returnDocument: 'after' },
      ),
    );
    await measure('updateOne {_id}', (k) =>
      payments.updateOne({ _id: docs[k]._id }, { $set: { eventsOwed: [], owesEvents: false, eventsDueAt: null }, $push: { history: { at: new Date(), step: 'published' } } }),
    );
    return rows;
  } finally {
    await client.close();
    await db.stop();
  }
}

(async () => {
  const rows = [];
  for (const variant of VARIANTS) {
    process.stderr.write(`ferretdb-ops: ${variant} ...\n`);
    rows.push(...(await measureVariant(variant)));
  }
  process.stdout.write(`FerretDB ${'(PostgreSQL)'}: ${SEED} payments stored, ${OPS} commands of each kind at ${CONCURRENCY} at once\n\n`);
  process.stdout.write('| indexes | command | commands/s | FerretDB CPU ms | PostgreSQL CPU ms | client CPU ms |\n| --- | --- | ---: | ---: | ---: | ---: |\n');
  process.stdout.write(`${rows.join('\n')}\n`);
  process.exit(0);
})().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
