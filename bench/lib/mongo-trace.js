'use strict';
/**
 * Preloaded into the service process (`node -r bench/lib/mongo-trace.js`) by
 * `bench/run.js --trace-db`: counts the MongoDB commands the service sends, by
 * command, collection and filter shape, with their time, through the driver's
 * command monitoring. Written as JSON to $BENCH_TRACE_FILE every 500 ms. The
 * service's code is not touched; only the driver instance mongoose uses is.
 */
const fs = require('node:fs');
const path = require('node:path');

const file = process.env.BENCH_TRACE_FILE;
if (file) {
  let mongodb;
  try {
    const mongoose = path.dirname(require.resolve('mongoose/package.json', { paths: [process.cwd(), __dirname] }));
    mongodb = require(require.resolve('mongodb', { paths: [mongoose] }));
  } catch {
    mongodb = undefined;
  }
  if (mongodb) {
    const stats = {};
    const pending = new Map();
    const shape = (filter) => `{${Object.keys(filter ?? {}).sort().join(',')}}`;
    const keyOf = (event) => {
      const c = event.command;
      const name = event.commandName;
      const collection = typeof c[name] === 'string' ? c[name] : '';
      let filter = '';
      if (name === 'find' || name === 'count') filter = shape(c.filter ?? c.query);
      else if (name === 'findAndModify') filter = shape(c.query) + (c.sort && Object.keys(c.sort).length ? ' sorted' : '');
      else if (name === 'update' || name === 'delete') filter = shape((c.updates ?? c.deletes)?.[0]?.q);
      else if (name === 'aggregate') filter = shape(c.pipeline?.find((stage) => stage.$match)?.$match);
      return `${name} ${collection} ${filter}`.trim();
    };
    const connect = mongodb.MongoClient.prototype.connect;
    mongodb.MongoClient.prototype.connect = function patchedConnect(...args) {
      this.monitorCommands = true;
      this.on('commandStarted', (event) => pending.set(event.requestId, { at: performance.now(), key: keyOf(event) }));
      const done = (event) => {
        const started = pending.get(event.requestId);
        if (!started) return;
        pending.delete(event.requestId);
        const entry = (stats[started.key] ??= { count: 0, ms: 0, failed: 0 });
        entry.count += 1;
        entry.ms += performance.now() - started.at;
        if (event.failure) entry.failed += 1;
      };
      this.on('commandSucceeded', done);
      this.on('commandFailed', done);
      return connect.apply(this, args);
    };
    const write = () => {
      try {
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(stats));
        fs.renameSync(`${file}.tmp`, file);
      } catch {
        /* the benchmark reads what it can */
      }
    };
    setInterval(write, 500).unref();
    process.on('exit', write);
  }
}
