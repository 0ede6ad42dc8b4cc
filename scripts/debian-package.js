'use strict';
/**
 * Installing a program's Debian package when it is missing, for the servers the
 * tests need beside the Go-built ones (PostgreSQL for FerretDB, Prometheus for the
 * alert rules): postgres-bin.js and prometheus-bin.js say what to look for.
 */
const { execFileSync } = require('node:child_process');

/**
 * Returns `find()` when it finds the programs; else, as root, installs Debian's
 * `debianPackage` (apt-get update, then a noninteractive install without
 * recommends) and returns `find()` again; else throws `${missing}. Install …` with
 * `otherwise` (what else the user may do). `what` names the programs in the log
 * lines ("PostgreSQL"); `ifInstallFails` ends the error when apt-get fails.
 * `find`, `isRoot`, `run` and `log` are there for tests.
 */
function ensureDebianPackage({
  what,
  debianPackage,
  missing,
  otherwise,
  ifInstallFails,
  find,
  isRoot = process.getuid?.() === 0,
  run = (file, args) => execFileSync(file, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }),
  log = console.log,
}) {
  const found = find();
  if (found) return found;
  if (!isRoot) throw new Error(`${missing}. Install Debian's \`${debianPackage}\` package (sudo apt-get install ${debianPackage}), ${otherwise}`);
  log(`install-servers: ${what} not found; installing Debian's ${debianPackage} package (apt-get) ...`);
  const started = Date.now();
  try {
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', '--no-install-recommends', debianPackage]);
  } catch (err) {
    throw new Error(`installing ${debianPackage} with apt-get failed (${err.message}); ${ifInstallFails}`);
  }
  const installed = find();
  if (!installed) throw new Error(`${missing}, even after installing ${debianPackage}`);
  log(`install-servers: ${what} installed in ${((Date.now() - started) / 1000).toFixed(1)} s (${installed})`);
  return installed;
}

module.exports = { ensureDebianPackage };
