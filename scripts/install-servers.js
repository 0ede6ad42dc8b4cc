#!/usr/bin/env node
'use strict';
/**
 * Builds the servers the tests and the local stack run (FerretDB, NATS Streaming,
 * nats-server with JetStream, stripe-mock, and Jaeger for the tests) from the Go module proxy into
 * .servers/bin. Each is built once per pinned version; a stamp file beside the
 * binary records which.
 * `--needed` builds only what the local stack (dev-stack.js) runs: FerretDB unless
 * MONGO_URI is set, and unless NATS_URL is set NATS Streaming, or nats-server with
 * EVENT_BUS=jetstream; never stripe-mock (the stack runs the fake Stripe) nor Jaeger. `--for-tests`
 * skips the servers the environment points elsewhere (MONGO_URI, NATS_URL, STRIPE_MOCK_URL),
 * except those some tests start and stop themselves to play an outage (FerretDB, NATS Streaming, nats-server).
 * When FerretDB is wanted on its PostgreSQL backend (the default; FERRETDB_BACKEND=sqlite
 * for the other), PostgreSQL's server programs must be there too: as root, Debian's
 * `postgresql` package is installed when they are not (see postgres-bin.js).
 * The tests (and servers:install) also need Prometheus's `prometheus` and `promtool`
 * for the alert rules: as root, Debian's `prometheus` package is installed when they
 * are not (see prometheus-bin.js); the local stack does not need them.
 */
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { defaultBackend, ensurePostgres } = require('./postgres-bin');
const { ensurePrometheus } = require('./prometheus-bin');
const { binDir, servers } = require('./server-versions');

const root = path.join(__dirname, '..');

/** The variable that makes each server unnecessary when set. */
const REPLACED_BY = { ferretdb: 'MONGO_URI', 'nats-streaming-server': 'NATS_URL', 'nats-server': 'NATS_URL', 'stripe-mock': 'STRIPE_MOCK_URL' };

/** Why the local stack runs no `name` in environment `env`; undefined when it runs it. */
function notRunByStack(name, env) {
  if (env[REPLACED_BY[name]]) return `${REPLACED_BY[name]} is set`;
  const jetstream = env.EVENT_BUS?.trim() === 'jetstream';
  if (name === 'nats-streaming-server' && jetstream) return 'EVENT_BUS is jetstream: the local stack runs nats-server';
  if (name === 'nats-server' && !jetstream) return 'the local stack runs it only with EVENT_BUS=jetstream';
  if (name === 'stripe-mock') return 'the local stack runs the fake Stripe';
  if (name === 'jaeger') return 'the local stack sends no traces (the tests run Jaeger)';
  return undefined;
}

/** Why `mode` ('stack', 'tests' or 'all') needs no `name` in `env`; undefined when it needs it. */
function notNeeded(mode, name, env = process.env) {
  if (mode === 'stack') return notRunByStack(name, env);
  if (mode === 'tests' && env[REPLACED_BY[name]] && !servers[name].stoppedByTests) return `${REPLACED_BY[name]} is set`;
  return undefined;
}

function main(argv = process.argv) {
  const mode = argv.includes('--for-tests') ? 'tests' : argv.includes('--needed') ? 'stack' : 'all';
  const wanted = Object.entries(servers).filter(([name]) => {
    const reason = notNeeded(mode, name);
    if (reason) console.log(`install-servers: ${name} not needed (${reason})`);
    return !reason;
  });
  const missing = wanted.filter(([name, spec]) => !(fs.existsSync(path.join(binDir, name)) && readOr(`${path.join(binDir, name)}.version`) === stampOf(spec)));
  if (missing.length > 0) build(missing);
  if (wanted.some(([name]) => name === 'ferretdb') && defaultBackend() === 'postgresql') {
    try {
      ensurePostgres();
    } catch (err) {
      console.error(`install-servers: ${err.message}`);
      process.exit(1);
    }
  }
  if (needsPrometheus(mode)) {
    try {
      ensurePrometheus();
    } catch (err) {
      console.error(`install-servers: ${err.message}`);
      process.exit(1);
    }
  }
}

/** Whether `mode` needs prometheus and promtool: the tests and a full install do (the alert rules' tests), the local stack does not. */
function needsPrometheus(mode) {
  return mode !== 'stack';
}

/**
 * What the stamp beside a binary records: the pinned version, and for a server built
 * from this repository (FerretDB's wrapper) a digest of its sources too, so a change
 * to the wrapper rebuilds it.
 */
function stampOf(spec) {
  if (spec.build !== 'local') return spec.version;
  const hash = crypto.createHash('sha256');
  const dir = path.join(root, spec.dir);
  for (const file of fs.readdirSync(dir).sort()) hash.update(file).update(fs.readFileSync(path.join(dir, file)));
  return `${spec.version}+${hash.digest('hex').slice(0, 12)}`;
}

function build(missing) {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    console.error(`install-servers: Go 1.24 or later is required to build ${missing.map(([name]) => name).join(', ')} (go not found on PATH)`);
    process.exit(1);
  }
  fs.mkdirSync(binDir, { recursive: true });
  for (const [name, spec] of missing) {
    const binary = path.join(binDir, name);
    const stamp = `${binary}.version`;
    const started = Date.now();
    console.log(`install-servers: building ${name} ${spec.version} ...`);
    const env = { ...process.env, GOBIN: binDir, GOFLAGS: '-buildvcs=false' };
    if (spec.build === 'local') {
      execFileSync('go', ['build', '-o', binary, '.'], { cwd: path.join(root, spec.dir), env, stdio: 'inherit' });
    } else if (spec.build === 'tool') {
      buildTool(spec, binary, env);
    } else {
      execFileSync('go', ['install', `${spec.module}@${spec.version}`], { cwd: root, env, stdio: 'inherit' });
    }
    fs.writeFileSync(stamp, stampOf(spec));
    console.log(`install-servers: ${name} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

/**
 * Builds a program whose module `go install m@v` refuses (a replace directive in its
 * go.mod): in a throwaway module that requires it as a tool at the pinned version
 * (`go get -tool`), then `go build` of its package. The module's own replace
 * directives do not apply there; the proxy's pinned versions of its requirements do.
 */
function buildTool(spec, binary, env) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-go-tool-'));
  try {
    execFileSync('go', ['mod', 'init', 'payments.local/servers-tool'], { cwd: dir, env, stdio: 'ignore' });
    execFileSync('go', ['get', '-tool', `${spec.package}@${spec.version}`], { cwd: dir, env, stdio: 'inherit' });
    execFileSync('go', ['build', '-o', binary, spec.package], { cwd: dir, env, stdio: 'inherit' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function readOr(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

module.exports = { notNeeded, needsPrometheus, main };

if (require.main === module) main();
