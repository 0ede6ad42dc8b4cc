'use strict';
/**
 * What a traced call costs with tracing off (no SDK: the @opentelemetry/api no-op
 * tracer, as the service runs without OTEL_EXPORTER_OTLP_ENDPOINT) and on (the SDK
 * started as src/index.ts starts it, exporting to a local OTLP endpoint that
 * answers 200). Measures, in ns per call (median of 7 rounds of 200,000 calls, each
 * round in one process per mode: the API's global registration cannot be undone):
 *
 *   direct      await port.read(id): the port itself, no decorator
 *   traced      await traced(port).read(id): the tracing decorator of src/tracing.ts
 *   log line    logger.info(...) into a null stream, inside a span (the mixin's trace ids)
 *
 * Needs `npm run build` (it loads dist/). Run: `node bench/tracing.js`.
 */
const { spawnSync } = require('node:child_process');
const http = require('node:http');
const { Writable } = require('node:stream');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const CALLS = 200_000;
const ROUNDS = 7;

async function measure(mode) {
  let server;
  if (mode === 'on') {
    server = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { startTracing } = require(path.join(dist, 'tracing-sdk.js'));
    var tracing = startTracing({ endpoint: new URL(`http://127.0.0.1:${server.address().port}`), serviceName: 'bench' });
  }
  const { traced, inSpan } = require(path.join(dist, 'tracing.js'));
  const { createLogger } = require(path.join(dist, 'logger.js'));
  const port = { async read(id) { return { _id: id }; } };
  const wrapped = traced(port, 'things', { read: { args: (id) => ({ 'thing.id': id }), result: (found) => ({ 'db.found': found !== null }) } });
  const logger = createLogger('info', new Writable({ write: (_chunk, _enc, done) => done() }));

  const time = async (fn) => {
    const rounds = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i += 1) await fn(i);
      rounds.push(Number(process.hrtime.bigint() - started) / CALLS);
    }
    return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
  };
  const result = {
    mode,
    directNs: await time(() => port.read('x')),
    tracedNs: await time(() => wrapped.read('x')),
  };
  result.logLineNs = await inSpan('bench', {}, () => time(() => logger.info({ n: 1 }, 'line')));
  await tracing?.shutdown();
  server?.close();
  return result;
}

if (process.argv[2] === 'off' || process.argv[2] === 'on') {
  measure(process.argv[2]).then((result) => console.log(JSON.stringify(result)));
} else {
  const rows = ['off', 'on'].map((mode) => JSON.parse(spawnSync(process.execPath, [__filename, mode], { encoding: 'utf8' }).stdout));
  console.log('mode  direct ns/call  traced ns/call  decorator adds  log line in a span ns');
  for (const r of rows) {
    console.log(`${r.mode.padEnd(4)}  ${r.directNs.toFixed(0).padStart(14)}  ${r.tracedNs.toFixed(0).padStart(14)}  ${(r.tracedNs - r.directNs).toFixed(0).padStart(14)}  ${r.logLineNs.toFixed(0).padStart(20)}`);
  }
}
