'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The local stack's stack.env, in DEV_STACK_DIR (default .servers/data). */
const stackEnvFile = () => path.resolve(path.join(__dirname, '..'), process.env.DEV_STACK_DIR || path.join('.servers', 'data'), 'stack.env');

/** The local stack's stack.env as an object; empty when there is none. */
function readStackEnv() {
  const file = stackEnvFile();
  if (!fs.existsSync(file)) return {};
  return Object.fromEntries(
    fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1).replace(/^'|'$/g, '')];
    }),
  );
}

/**
 * What a CLI says when `what` does not answer at `url`, the value of setting `name`
 * (from the environment, else from stack.env, else the CLI's default): where the
 * address came from, and that `npm run dev:stack` starts the stack. A password in
 * the URL is not shown.
 */
function notReachable(what, url, name) {
  const file = path.relative(process.cwd(), stackEnvFile());
  const from = process.env[name] ? name : readStackEnv()[name] ? `${name} in ${file}, written by the last local stack` : `the default: no ${name}, and no ${file}`;
  const shown = String(url).replace(/\/\/[^@/]*@/, '//…@');
  return `cannot reach ${what} at ${shown} (${from}): nothing answers there. Is the local stack running? \`npm run dev:stack\` starts it`;
}

module.exports = { readStackEnv, notReachable };
