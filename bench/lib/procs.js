'use strict';
/**
 * Child processes of the benchmark: every one is stopped on exit, error or
 * signal. What /proc says about them is in proc-stats.js (re-exported here).
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const { cpuSeconds, statusMb, monitor, round, sleep } = require('./proc-stats');
const { serviceNodeArgs: productionNodeArgs } = require('../../scripts/service-node-args');

const ROOT = path.join(__dirname, '..', '..');
/** The compiled service; BENCH_SERVICE_ENTRY measures another build of it (an older commit's dist/index.js) on the same harness. */
const SERVICE_ENTRY = process.env.BENCH_SERVICE_ENTRY || path.join(ROOT, 'dist', 'index.js');

// ---------------------------------------------------------------- cleanup

const cleanups = [];
const children = new Set();

/** Registers an async cleanup; they run last-in first-out. Returns an unregister function. */
function onCleanup(fn) {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

async function cleanupAll() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`bench: cleanup failed: ${err && err.message}\n`);
    }
  }
}

// Last line of defence: whatever is still running when we exit gets SIGKILL.
process.on('exit', () => {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

// ---------------------------------------------------------------- processes

/**
 * Spawns a process, keeps the tail of its output and registers it for cleanup.
 * `stop()` sends SIGTERM, then SIGKILL after `killAfterMs`.
 */
function launch(name, command, args, { env, killAfterMs = 20_000 } = {}) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  let partial = '';
  const logs = {};
  const listeners = new Set();
  const collect = (chunk) => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    // JSON log lines at warn (40) and above, counted by message: evidence for the report.
    const lines = (partial + text).split('\n');
    partial = lines.pop().slice(-100_000);
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line);
        if (typeof entry.level === 'number' && entry.level >= 40) {
          const key = `${entry.level >= 50 ? 'error' : 'warn'}: ${entry.msg}`;
          const seen = (logs[key] ??= { count: 0, sample: undefined });
          seen.count += 1;
          seen.sample ??= String(entry.err?.message ?? entry.reason ?? '').slice(0, 300) || undefined;
        }
      } catch {
        /* not a log line */
      }
    }
    for (const listener of listeners) listener(output);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exit;
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      children.delete(child);
      resolve(exit);
    }),
  );
  const proc = {
    name,
    pid: child.pid,
    child,
    output: () => output,
    /** Warn and error log lines so far, by message. */
    logSummary: () => JSON.parse(JSON.stringify(logs)),
    get exit() {
      return exit;
    },
    exited,
    /** Resolves with the first output match of `pattern`; rejects if the process exits first. */
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (text) => {
          const match = text.match(pattern);
          if (match) {
            done();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms:\n${output.slice(-2000)}`));
        }, timeoutMs);
        const onExit = () => {
          done();
          reject(new Error(`${name} exited (${JSON.stringify(exit)}) during start-up:\n${output.slice(-2000)}`));
        };
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check(output);
      });
    },
    async stop(signal = 'SIGTERM') {
      if (exit) return exit;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      await exited;
      clearTimeout(timer);
      return exit;
    },
  };
  proc.unregister = onCleanup(() => proc.stop());
  return proc;
}

/**
 * The node options of a service process: production's (package.json's start script,
 * the Dockerfile's CMD), then BENCH_SERVICE_NODE_ARGS, node options for the service
 * alone, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` for a profile (a V8 flag given
 * twice takes the last value, so `--max-semi-space-size=16` there measures without
 * production's).
 */
function serviceNodeArgs() {
  return [...productionNodeArgs(ROOT), ...(process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean)];
}

/**
 * The compiled service (`node <serviceNodeArgs()> dist/index.js`) on `port`. Unless `waitReady` is
 * false, resolves once GET /readyz answers 200 (`readyMs` after the spawn).
 */
async function startService({ name, port, env, waitReady = true, readyTimeoutMs = 60_000, killAfterMs = 20_000 }) {
  const spawnedAt = performance.now();
  const proc = launch(name, process.execPath, [...serviceNodeArgs(), SERVICE_ENTRY], {
    env: { PATH: process.env.PATH || '', ...env, PORT: String(port) },
    killAfterMs,
  });
  Object.assign(proc, { url: `http://127.0.0.1:${port}`, port, spawnedAt, readyMs: undefined });
  /** Polls /readyz until 200; resolves with ms since the spawn, or undefined on timeout or exit. */
  proc.ready = async (timeoutMs = readyTimeoutMs, intervalMs = 25) => {
    const deadline = performance.now() + timeoutMs;
    while (!proc.exit && performance.now() < deadline) {
      if ((await httpStatus(`${proc.url}/readyz`, 1000)) === 200) {
        proc.readyMs = proc.readyMs ?? performance.now() - spawnedAt;
        return proc.readyMs;
      }
      await sleep(intervalMs);
    }
    return undefined;
  };
  if (!waitReady) return proc;
  if ((await proc.ready()) === undefined) {
    const why = proc.exit ? `exited (${JSON.stringify(proc.exit)})` : `was not ready within ${readyTimeoutMs} ms`;
    await proc.stop('SIGKILL');
    throw new Error(`${name} ${why} during start-up:\n${proc.output().slice(-3000)}`);
  }
  return proc;
}

function httpStatus(url, timeoutMs) {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
    async (res) => {
      await res.arrayBuffer().catch(() => undefined);
      return res.status;
    },
    () => 0,
  );
}

module.exports = {
  ROOT,
  SERVICE_ENTRY,
  serviceNodeArgs,
  onCleanup,
  cleanupAll,
  launch,
  startService,
  httpStatus,
  cpuSeconds,
  statusMb,
  monitor,
  round,
  sleep,
};
