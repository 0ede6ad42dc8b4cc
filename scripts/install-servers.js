#!/usr/bin/env node
'use strict';
/**
 * Builds the servers the tests and the local stack run (FerretDB, NATS Streaming,
 * nats-server with JetStream, stripe-mock) from the Go module proxy into
 * .servers/bin. Each is built once per pinned version; a stamp file beside the
 * binary records which.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { binDir, servers } = require('./server-versions');

const root = path.join(__dirname, '..');

function main() {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    console.error('install-servers: Go is required to build the test servers (go not found on PATH)');
    process.exit(1);
  }
  fs.mkdirSync(binDir, { recursive: true });
  for (const [name, spec] of Object.entries(servers)) {
    const binary = path.join(binDir, name);
    const stamp = `${binary}.version`;
    if (fs.existsSync(binary) && readOr(stamp) === spec.version) continue;
    const started = Date.now();
    console.log(`install-servers: building ${name} ${spec.version} ...`);
    const env = { ...process.env, GOBIN: binDir, GOFLAGS: '-buildvcs=false' };
    if (spec.build === 'local') {
      execFileSync('go', ['build', '-o', binary, '.'], { cwd: path.join(root, spec.dir), env, stdio: 'inherit' });
    } else {
      execFileSync('go', ['install', `${spec.module}@${spec.version}`], { cwd: root, env, stdio: 'inherit' });
    }
    fs.writeFileSync(stamp, spec.version);
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
