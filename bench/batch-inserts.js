'use strict';
/**
 * What one insert command costs against many, on the FerretDB the tests use
 * (PostgreSQL; FERRETDB_BACKEND=sqlite for SQLite): the figures behind the
 * batch size of src/data-access/insert-batches.ts. Prints documents stored per second for
 *
 *   - 64 concurrent insertOne (how replication stored orders before batching),
 *   - insertMany of 16, 64 and 256 (two in flight),
 *   - insertMany of 16 and 64 where some documents are stored already: FerretDB
 *     then stores the batch one document at a time on one connection, where
 *     MongoDB reports the duplicates and stores the rest in one pass,
 *
 * and whether an unordered bulk of upserts goes on past a duplicate key
 * (MongoDB: it does). Usage: npm run build && node bench/batch-inserts.js [--docs 4000]
 */
const { startFerretDB } = require('../scripts/servers');
const { MongoClient } = require('./lib/mongodb');

const docsArg = process.argv.indexOf('--docs');
const N = docsArg > 0 ? Number(process.argv[docsArg + 1]) : 4000;

const order = (prefix, i) => ({ _id: `${prefix}-${i}`, version: 0, userId: `user-${i}`, price: 10, status: 'created', createdAt: new Date(), updatedAt: new Date() });

/** Runs `jobs` with `width` of them in flight; answers documents per second. */
async function rate(count, jobs, width) {
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < jobs.length) await jobs[next++]();
  }));
  return Math.round(count / ((performance.now() - started) / 1000));
}

function batchesOf(size, prefix) {
  const batches = [];
  for (let start = 0; start < N; start += size) batches.push(Array.from({ length: Math.min(size, N - start) }, (_, j) => order(prefix, start + j)));
  return batches;
}

async function main() {
  const ferret = await startFerretDB({});
  const client = await new MongoClient(ferret.uri, { maxPoolSize: 64 }).connect();
  const db = client.db(`batch_inserts_${Date.now().toString(36)}`);
  const rows = [];
  try {
    const singles = db.collection('singles');
    rows.push(['insertOne, 64 concurrent', await rate(N, Array.from({ length: N }, (_, i) => () => singles.insertOne(order('one', i))), 64)]);
    for (const size of [16, 64, 256]) {
      const collection = db.collection(`many_${size}`);
      rows.push([`insertMany of ${size}, 2 in flight`, await rate(N, batchesOf(size, 'many').map((docs) => () => collection.insertMany(docs, { ordered: false })), 2)]);
    }
    for (const size of [16, 64]) {
      const collection = db.collection(`dups_${size}`);
      // One document in 8 is stored already.
      await collection.insertMany(Array.from({ length: Math.ceil(N / 8) }, (_, k) => order('dup', k * 8)));
      const tolerant = (docs) => () => collection.insertMany(docs, { ordered: false }).catch((err) => {
        if (!err.writeErrors) throw err;
      });
      rows.push([`insertMany of ${size}, 1 in 8 stored already, 2 in flight`, await rate(N, batchesOf(size, 'dup').map(tolerant), 2)]);
    }
    const upserts = db.collection('upserts');
    await upserts.insertOne({ _id: 'taken', version: 5 });
    const bulk = await upserts.bulkWrite([
      { updateOne: { filter: { _id: 'taken', version: { $lt: 1 } }, update: { $set: { version: 1 } }, upsert: true } },
      { updateOne: { filter: { _id: 'fresh', version: { $lt: 1 } }, update: { $set: { version: 1 } }, upsert: true } },
    ], { ordered: false }).catch((err) => err);
    const goesOn = (await upserts.countDocuments({ _id: 'fresh' })) === 1;
    console.log(`FerretDB ${ferret.backend}, ${N} documents each\n`);
    console.log('| insert | documents/s |\n| --- | ---: |');
    for (const [what, perSecond] of rows) console.log(`| ${what} | ${perSecond} |`);
    console.log(`\nAn unordered bulk of 2 upserts whose first meets a duplicate key: the second was ${goesOn ? 'applied' : 'NOT applied'} (${bulk.writeErrors?.length ?? 0} write error reported).`);
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
    await ferret.stop();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
