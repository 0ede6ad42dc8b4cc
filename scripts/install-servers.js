#!/usr/bin/env node
'use strict';
/**
 * Builds the servers the tests and the local stack run (FerretDB, NATS Streaming,
 * nats-server with JetStream, stripe-mock) from the Go module proxy into
 * .servers/bin. Each is built once per pinned version; a stamp file beside the
 * binary records which.
 * `--needed` (the local stack) skips the servers the environment points elsewhere
 * (MONGO_URI, NATS_URL, STRIPE_MOCK_URL). `--for-tests` skips them too, except
 * those some tests start and stop themselves to play an outage (FerretDB, NATS Streaming, nats-server).
 * When FerretDB is wanted on its PostgreSQL backend (the default; FERRETDB_BACKEND=sqlite
 * for the other), PostgreSQL's server programs must be there too: as root, Debian's
 * `postgresql` package is installed when they are not (see postgres-bin.js).
 */
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { defaultBackend, ensurePostgres } = require('./postgres-bin');
const { binDir, servers } = require('./server-versions');

const root = path.join(__dirname, '..');

/** The variable that makes each server unnecessary when set. */
const REPLACED_BY = { ferretdb: 'MONGO_URI', 'nats-streaming-server': 'NATS_URL', 'nats-server': 'NATS_URL', 'stripe-mock': 'STRIPE_MOCK_URL' };

function main() {
  const forTests = process.argv.includes('--for-tests');
  const onlyNeeded = forTests || process.argv.includes('--needed');
  const wanted = Object.entries(servers).filter(([name, spec]) => {
    const variable = REPLACED_BY[name];
    if (!onlyNeeded || !process.env[variable] || (forTests && spec.stoppedByTests)) return true;
    console.log(`install-servers: ${name} not needed (${variable} is set)`);
    return false;
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
    } else {
      execFileSync('go', ['install', `${spec.module}@${spec.version}`], { cwd: root, env, stdio: 'inherit' });
    }
    fs.writeFileSync(stamp, stampOf(spec));
    console.log(`install-servers: ${name} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

function readOr(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

main();
