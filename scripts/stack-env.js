'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The local stack's stack.env (in DEV_STACK_DIR, default .servers/data) as an object; empty when there is none. */
function readStackEnv() {
  const file = path.resolve(path.join(__dirname, '..'), process.env.DEV_STACK_DIR || path.join('.servers', 'data'), 'stack.env');
  if (!fs.existsSync(file)) return {};
  return Object.fromEntries(
    fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1).replace(/^'|'$/g, '')];
    }),
  );
}

module.exports = { readStackEnv };
