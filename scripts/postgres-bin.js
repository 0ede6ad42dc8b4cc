'use strict';
/**
 * Where PostgreSQL's server programs are (initdb, postgres, pg_ctl), for FerretDB's
 * PostgreSQL backend, and installing them from Debian's packages when they are not.
 * Found by PG_BIN_DIR, else the newest /usr/lib/postgresql/<version>/bin (Debian's
 * layout), else `pg_config --bindir`: never a hard-coded version.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PROGRAMS = ['initdb', 'postgres', 'pg_ctl'];

/** Debian's package, and what it pulls in: the server of Debian's PostgreSQL version (15 on Debian 12). */
const DEBIAN_PACKAGE = 'postgresql';

function hasPrograms(dir) {
  return PROGRAMS.every((name) => {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function pgConfigBinDir(pgConfig) {
  try {
    return execFileSync(pgConfig, ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/**
 * The folder holding initdb, postgres and pg_ctl, or undefined. `root`
 * (/usr/lib/postgresql) and `pgConfig` are there for tests.
 */
function findPostgresBinDir({ env = process.env, root = '/usr/lib/postgresql', pgConfig = 'pg_config' } = {}) {
  if (env.PG_BIN_DIR) return hasPrograms(env.PG_BIN_DIR) ? env.PG_BIN_DIR : undefined;
  let versions = [];
  try {
    versions = fs.readdirSync(root).filter((name) => /^\d+(\.\d+)?$/.test(name));
  } catch {
    // no Debian layout
  }
  versions.sort((a, b) => parseFloat(b) - parseFloat(a));
  for (const version of versions) {
    const dir = path.join(root, version, 'bin');
    if (hasPrograms(dir)) return dir;
  }
  const fromConfig = pgConfigBinDir(pgConfig);
  return fromConfig && hasPrograms(fromConfig) ? fromConfig : undefined;
}

const MISSING = `PostgreSQL's server programs (${PROGRAMS.join(', ')}) were not found in PG_BIN_DIR, /usr/lib/postgresql/*/bin or \`pg_config --bindir\``;

/**
 * Makes sure the server programs are there: as root, installs Debian's `postgresql`
 * (apt-get update, then apt-get install, noninteractive); otherwise fails saying what
 * to install. Returns the folder. Its post-install may create and start Debian's own
 * cluster on port 5432: nothing here uses it (our servers run in throwaway folders on
 * free ports). `find`, `isRoot`, `run` and `log` are there for tests.
 */
function ensurePostgres({
  find = findPostgresBinDir,
  isRoot = process.getuid?.() === 0,
  run = (file, args) => execFileSync(file, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }),
  log = console.log,
} = {}) {
  const found = find();
  if (found) return found;
  if (!isRoot) {
    throw new Error(
      `${MISSING}. Install Debian's \`${DEBIAN_PACKAGE}\` package (sudo apt-get install ${DEBIAN_PACKAGE}), or point PG_BIN_DIR at the folder holding them, ` +
        'or run FerretDB on SQLite instead with FERRETDB_BACKEND=sqlite',
    );
  }
  log(`install-servers: PostgreSQL not found; installing Debian's ${DEBIAN_PACKAGE} package (apt-get) ...`);
  const started = Date.now();
  try {
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', '--no-install-recommends', DEBIAN_PACKAGE]);
  } catch (err) {
    throw new Error(`installing ${DEBIAN_PACKAGE} with apt-get failed (${err.message}); install it by hand or set FERRETDB_BACKEND=sqlite`);
  }
  const installed = find();
  if (!installed) throw new Error(`${MISSING}, even after installing ${DEBIAN_PACKAGE}`);
  log(`install-servers: PostgreSQL installed in ${((Date.now() - started) / 1000).toFixed(1)} s (${installed})`);
  return installed;
}

/** The backend FerretDB runs on unless told: FERRETDB_BACKEND, else PostgreSQL. */
function defaultBackend(env = process.env) {
  const backend = env.FERRETDB_BACKEND || 'postgresql';
  if (backend !== 'postgresql' && backend !== 'sqlite') {
    throw new Error(`FERRETDB_BACKEND must be postgresql or sqlite, not ${JSON.stringify(backend)}`);
  }
  return backend;
}

module.exports = { DEBIAN_PACKAGE, defaultBackend, ensurePostgres, findPostgresBinDir };
