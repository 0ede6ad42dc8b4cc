'use strict';
/** The machine and the software a run measured on, saved with its figures. */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const serverVersions = require('../../scripts/server-versions');
const { ROOT, round } = require('./procs');

function machineInfo() {
  const cpus = os.cpus();
  const versions = {};
  for (const [name, spec] of Object.entries(serverVersions.servers)) {
    let built;
    try {
      built = fs.readFileSync(path.join(serverVersions.binDir, `${name}.version`), 'utf8').trim();
    } catch {
      built = undefined;
    }
    versions[name] = { pinned: spec.version, built };
  }
  let commit;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (dirty) commit += ' (src modified)';
  } catch {
    commit = undefined;
  }
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryGb: round(os.totalmem() / 1024 ** 3, 1),
    loadAverage: os.loadavg().map((l) => round(l, 2)),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    autocannon: require('autocannon/package.json').version,
    servers: versions,
    commit,
  };
}

module.exports = { machineInfo };
