'use strict';
/**
 * The node options the service runs with, read from package.json's `start`
 * script (`node <options> dist/index.js`), their one source. The Dockerfile's
 * runtime CMD is the same command (test/dockerfile.test.ts checks it); the
 * benchmark and the dev stack start the service with them, so that what they
 * measure is what production runs.
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

/** The words between `node` and the entry in package.json's start script. */
function serviceNodeArgs(root = ROOT) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const words = String(pkg.scripts?.start ?? '').trim().split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== pkg.main || words.slice(1, -1).some((w) => !w.startsWith('--'))) {
    throw new Error(`package.json: the start script should be "node [--options] ${pkg.main}", not "${pkg.scripts?.start}"`);
  }
  return words.slice(1, -1);
}

module.exports = { serviceNodeArgs };
