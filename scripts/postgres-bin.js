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
const { ensureDebianPackage } = require('./debian-package');

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
function ensurePostgres({ find = findPostgresBinDir, ...options } = {}) {
  return ensureDebianPackage({
    what: 'PostgreSQL',
    debianPackage: DEBIAN_PACKAGE,
    missing: MISSING,
    otherwise: 'or point PG_BIN_DIR at the folder holding them, or run FerretDB on SQLite instead with FERRETDB_BACKEND=sqlite',
    ifInstallFails: 'install it by hand or set FERRETDB_BACKEND=sqlite',
    find,
    ...options,
  });
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
