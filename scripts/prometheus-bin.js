'use strict';
/**
 * Where Prometheus's `prometheus` and `promtool` are, for the alert rules' tests
 * (test/alerts.test.ts, test/alerts-scrape.test.ts), and installing them from
 * Debian's packages when they are not. Found in PROMETHEUS_BIN_DIR when set, else
 * on PATH (Debian's `prometheus` package puts both in /usr/bin).
 */
const fs = require('node:fs');
const path = require('node:path');
const { ensureDebianPackage } = require('./debian-package');

const PROGRAMS = ['prometheus', 'promtool'];

/** Debian's package: both programs (Prometheus 2.42 on Debian 12). */
const DEBIAN_PACKAGE = 'prometheus';

function executable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The folder holding prometheus and promtool, or undefined: PROMETHEUS_BIN_DIR when
 * set (and only when it holds both), else the first folder of PATH that holds both.
 */
function findPrometheusBinDir({ env = process.env } = {}) {
  const holdsBoth = (dir) => PROGRAMS.every((name) => executable(path.join(dir, name)));
  if (env.PROMETHEUS_BIN_DIR) return holdsBoth(env.PROMETHEUS_BIN_DIR) ? env.PROMETHEUS_BIN_DIR : undefined;
  return (env.PATH ?? '').split(path.delimiter).filter(Boolean).find(holdsBoth);
}

/** The path of `name` ('prometheus' or 'promtool'); throws saying how to get it when missing. */
function prometheusProgram(name, options) {
  const dir = findPrometheusBinDir(options);
  if (!dir) throw new Error(`${MISSING}: run \`npm run servers:install\` (as root it installs Debian's ${DEBIAN_PACKAGE}), or set PROMETHEUS_BIN_DIR`);
  return path.join(dir, name);
}

const MISSING = `Prometheus's programs (${PROGRAMS.join(', ')}) were not found in PROMETHEUS_BIN_DIR or on PATH`;

/**
 * Makes sure both programs are there: as root, installs Debian's `prometheus`
 * (apt-get update, then a noninteractive install without recommends); otherwise
 * fails saying what to install. Returns the folder. Debian's post-install enables
 * and starts a `prometheus` service on port 9090 where systemd runs (not in a
 * container without it); nothing here uses that port (the tests start their own
 * on a free port). `find`, `isRoot`, `run` and `log` are there for tests.
 */
function ensurePrometheus({ find = findPrometheusBinDir, ...options } = {}) {
  return ensureDebianPackage({
    what: 'Prometheus',
    debianPackage: DEBIAN_PACKAGE,
    missing: MISSING,
    otherwise: 'or point PROMETHEUS_BIN_DIR at a folder holding both',
    ifInstallFails: 'install it by hand or set PROMETHEUS_BIN_DIR',
    find,
    ...options,
  });
}

module.exports = { DEBIAN_PACKAGE, ensurePrometheus, findPrometheusBinDir, prometheusProgram };
