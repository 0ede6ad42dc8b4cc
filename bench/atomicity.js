#!/usr/bin/env node
'use strict';
/**
 * Is a single-document write atomic under concurrency on FerretDB's backends? On
 * MongoDB each is, and the service counts on it (a conditional write is its lock).
 * For each backend: FerretDB on a fresh database, `--clients` connections (one
 * MongoClient each), and `--rounds` rounds of each race, all clients released at once:
 *
 *   findOneAndUpdate {_id, state:'a'} -> b   winners per round (MongoDB: exactly 1)
 *   updateOne {_id, state:'a'} -> b          documents modified, summed (MongoDB: 1)
 *   updateOne {key, state:'a'} -> b          the same with no _id in the filter (MongoDB: 1)
 *   $inc, clients x --incs                   final count (MongoDB: exact)
 *   insertOne, unique index on key           inserts that succeed (MongoDB: 1)
 *   upsert {key}, unique index on key        documents with the key afterwards (MongoDB: 1)
 *
 * Usage: node bench/atomicity.js [--backends postgresql,sqlite] [--clients 50] [--rounds 20] [--incs 100] [--uri mongodb://...]
 * (`--uri` runs the races against a server that already runs, e.g. a real MongoDB, instead.)
 */
const { MongoClient } = require('mongoose').mongo; // the driver mongoose ships (package.json declares no other)
const { startFerretDB } = require('../scripts/servers');

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const CLIENTS = Number(option('clients', 50));
const ROUNDS = Number(option('rounds', 20));
const INCS = Number(option('incs', 100));

/** Runs `fn(client, i)` on every client at once; resolves to each outcome ({ ok, value } or { ok: false, error }). */
function race(clients, fn) {
  return Promise.all(
    clients.map((client, i) =>
      fn(client, i).then(
        (value) => ({ ok: true, value }),
        (error) => ({ ok: false, error }),
      ),
    ),
  );
}

function summary(values, expected) {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const right = values.filter((value) => value === expected).length;
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return `${right}/${values.length} right` + (right === values.length ? '' : ` (mean ${Math.round(mean * 10) / 10}, ${min} to ${max})`);
}

function errorsOf(outcomes, seen) {
  for (const outcome of outcomes) {
    if (!outcome.ok) {
      const key = `${outcome.error.code ?? ''} ${outcome.error.codeName ?? outcome.error.name}: ${String(outcome.error.message).slice(0, 100)}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
}

async function measure(uri, label) {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => MongoClient.connect(uri, { maxPoolSize: 1 })));
  const db = (client) => client.db('atomicity').collection('docs');
  const coll = db(clients[0]);
  await coll.deleteMany({});
  await coll.createIndex({ key: 1 }, { unique: true, name: 'key_unique' });
  // Every connection has done a round trip before the first race.
  await Promise.all(clients.map((client) => db(client).findOne({ _id: 'warm-up' })));
  const errors = new Map();
  const results = {};
  let n = 0;
  const fresh = (fields) => `${label}-${(n += 1)}-${Date.now()}-${JSON.stringify(fields).length}`;

  const casWinners = [];
  const updateById = [];
  const updateByKey = [];
  const inserted = [];
  const upserted = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    let id = fresh({});
    await coll.insertOne({ _id: id, key: id, state: 'a' });
    let outcomes = await race(clients, (client) => db(client).findOneAndUpdate({ _id: id, state: 'a' }, { $set: { state: 'b' } }));
    errorsOf(outcomes, errors);
    casWinners.push(outcomes.filter((o) => o.ok && o.value).length);

    id = fresh({});
    await coll.insertOne({ _id: id, key: id, state: 'a' });
    outcomes = await race(clients, (client) => db(client).updateOne({ _id: id, state: 'a' }, { $set: { state: 'b' } }));
    errorsOf(outcomes, errors);
    updateById.push(outcomes.reduce((sum, o) => sum + (o.ok ? o.value.modifiedCount : 0), 0));

    id = fresh({});
    await coll.insertOne({ _id: id, key: id, state: 'a' });
    outcomes = await race(clients, (client) => db(client).updateOne({ key: id, state: 'a' }, { $set: { state: 'b' } }));
    errorsOf(outcomes, errors);
    updateByKey.push(outcomes.reduce((sum, o) => sum + (o.ok ? o.value.modifiedCount : 0), 0));

    id = fresh({});
    outcomes = await race(clients, (client, i) => db(client).insertOne({ _id: `${id}-${i}`, key: id }));
    const duplicates = outcomes.filter((o) => !o.ok && o.error.code === 11000).length;
    errorsOf(outcomes.filter((o) => !(!o.ok && o.error.code === 11000)), errors);
    inserted.push(outcomes.filter((o) => o.ok).length);
    if (duplicates + outcomes.filter((o) => o.ok).length !== CLIENTS) errors.set('insert: neither inserted nor duplicate', (errors.get('insert: neither inserted nor duplicate') ?? 0) + 1);

    id = fresh({});
    outcomes = await race(clients, (client) => db(client).updateOne({ key: id }, { $setOnInsert: { key: id } }, { upsert: true }));
    errorsOf(outcomes.filter((o) => !(!o.ok && o.error.code === 11000)), errors);
    upserted.push(await coll.countDocuments({ key: id }));
  }

  // Clients x INCS increments of one counter, each client's one after another, the clients at once.
  const counts = [];
  for (let round = 0; round < Math.max(1, Math.round(ROUNDS / 4)); round += 1) {
    const id = fresh({});
    await coll.insertOne({ _id: id, key: id, count: 0 });
    const outcomes = await race(clients, async (client) => {
      for (let i = 0; i < INCS; i += 1) await db(client).updateOne({ _id: id }, { $inc: { count: 1 } });
    });
    errorsOf(outcomes, errors);
    counts.push((await coll.findOne({ _id: id })).count);
  }

  results[`findOneAndUpdate {_id, state} (winners: 1)`] = summary(casWinners, 1);
  results[`updateOne {_id, state} (modified: 1)`] = summary(updateById, 1);
  results[`updateOne {key, state}, no _id (modified: 1)`] = summary(updateByKey, 1);
  results[`$inc ${CLIENTS}x${INCS} (count: ${CLIENTS * INCS})`] = summary(counts, CLIENTS * INCS);
  results[`insertOne, unique key (inserted: 1)`] = summary(inserted, 1);
  results[`upsert, unique key (documents: 1)`] = summary(upserted, 1);
  await Promise.all(clients.map((client) => client.close()));
  return { results, errors };
}

async function main() {
  const uri = option('uri');
  const targets = uri ? [{ label: 'given', uri }] : option('backends', 'postgresql,sqlite').split(',').map((backend) => ({ label: backend, backend }));
  const columns = {};
  for (const target of targets) {
    const started = Date.now();
    const ferret = target.backend ? await startFerretDB({ backend: target.backend }) : undefined;
    try {
      const { results, errors } = await measure(ferret?.uri ?? target.uri, target.label);
      const name = ferret ? `FerretDB+${target.backend}` : target.uri;
      columns[name] = results;
      console.error(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const [error, count] of errors) console.error(`  error x${count}: ${error}`);
    } finally {
      await ferret?.stop();
    }
  }
  const names = Object.keys(columns);
  const rows = Object.keys(columns[names[0]]);
  console.log(`${CLIENTS} clients, ${ROUNDS} rounds (the $inc race: ${Math.max(1, Math.round(ROUNDS / 4))} rounds); "right" = rounds with MongoDB's answer`);
  console.log(`| race | ${names.join(' | ')} |`);
  console.log(`| --- | ${names.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row} | ${names.map((name) => columns[name][row]).join(' | ')} |`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
