#!/usr/bin/env node
/**
 * What FerretDB pushes down to its backend: `explain` for the filters the service uses, and on
 * PostgreSQL the indexes createIndex made (pg_indexes) and whether PostgreSQL can use them for
 * the SQL FerretDB sends. Usage: node bench/pushdown.js [postgresql|sqlite] [documents, default 5000]
 */
const { startFerretDB } = require('../scripts/servers');
const { MongoClient } = require('mongoose').mongo; // the driver mongoose ships (package.json declares no other)
const { execFileSync } = require('child_process');
(async () => {
  const backend = process.argv[2] || 'postgresql';
  const f = await startFerretDB({ backend });
  const c = await MongoClient.connect(f.uri);
  const coll = c.db('payments').collection('payments');
  await coll.insertMany(Array.from({ length: Number(process.argv[3] || 5000) }, (_, i) => ({ _id: `p${i}`, state: i % 2 ? 'x' : 'y', field: i % 3 ? null : 1, n: i, at: new Date(Date.UTC(2026, 0, 1) + i * 3600e3), orderId: `o${i}` })));
  await coll.createIndex({ state: 1 });
  await coll.createIndex({ orderId: 1 }, { unique: true });
  await coll.createIndex({ at: 1, state: 1 });
  const filters = [
    ['{_id}', { _id: 'p1' }],
    ['{_id, state}', { _id: 'p1', state: 'x' }],
    ["{state: 'x'}", { state: 'x' }],
    ['{field: null}', { field: null }],
    ['{n: 5}', { n: 5 }],
    ['{orderId} (unique index)', { orderId: 'o5' }],
    ['{at: {$lt: date}}', { at: { $lt: new Date(Date.UTC(2026, 0, 2)) } }],
    ['{at: date}', { at: new Date(Date.UTC(2026, 0, 2)) }],
    ["{state: {$in: ['x']}}", { state: { $in: ['x'] } }],
    ["{state: {$ne: 'x'}}", { state: { $ne: 'x' } }],
  ];
  for (const [name, filter] of filters) {
    const e = await c.db('payments').command({ explain: { find: 'payments', filter }, verbosity: 'queryPlanner' });
    const q = e.queryPlanner || {};
    const plan = JSON.stringify(q.Plan ?? q).replace(/\s+/g, ' ');
    console.log(`${name}: filterPushdown=${e.filterPushdown} sortPushdown=${e.sortPushdown} limitPushdown=${e.limitPushdown}\n   ${plan.slice(0, 600)}`);
  }
  const sorted = await c.db('payments').command({ explain: { find: 'payments', filter: { state: 'x' }, sort: { at: 1 }, limit: 5 }, verbosity: 'queryPlanner' });
  console.log('sort {at:1} limit 5 on {state:x}: sortPushdown=', sorted.sortPushdown, 'limitPushdown=', sorted.limitPushdown);
  const e0 = await c.db('payments').command({ explain: { find: 'payments', filter: { _id: 'p1' } } });
  if (f.postgres) {
    const psql = (sql) => execFileSync('psql', ['-h', f.postgres.socketDir, '-p', String(f.postgres.port), '-U', 'postgres', '-d', 'ferretdb', '-c', sql], { encoding: 'utf8' });
    console.log(psql("select schemaname, tablename, indexname, indexdef from pg_indexes where schemaname = 'payments'"));
    const table = JSON.stringify(e0.queryPlanner).match(/"Relation Name":"([^"]+)"/)[1];
    // What FerretDB sends (jsonb containment, @>) against what a btree expression index serves (=), seq scans made dear.
    for (const where of [`(_jsonb -> '_id') @> '"p1"'`, `(_jsonb -> '_id') = '"p1"'`, `(_jsonb -> 'state') @> '"x"'`, `(_jsonb -> 'orderId') = '"o5"'`]) {
      console.log(psql(`set enable_seqscan = off; explain select _jsonb from payments.${table} where ${where}`));
    }
  }
  await c.close();
  await f.stop();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
