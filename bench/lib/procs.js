'use strict';
/**
 * Child processes of the benchmark (every one is stopped on exit, error or
 * signal) and what /proc says about them: CPU time and resident memory.
 */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const SERVICE_ENTRY = path.join(ROOT, 'dist', 'index.js');

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
 * The compiled service (`node dist/index.js`) on `port`. Unless `waitReady` is
 * false, resolves once GET /readyz answers 200 (`readyMs` after the spawn).
 */
async function startService({ name, port, env, waitReady = true, readyTimeoutMs = 60_000, killAfterMs = 20_000 }) {
  const spawnedAt = performance.now();
  const proc = launch(name, process.execPath, [SERVICE_ENTRY], {
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

// ---------------------------------------------------------------- /proc

let clockTicks;
function ticksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) a process has used so far; undefined once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores) from /proc/stat. */
function machineCpu() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = values[3] + (values[4] || 0);
    const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: (total - idle) / ticksPerSecond(), total: total / ticksPerSecond() };
  } catch {
    return undefined;
  }
}

/** A field of /proc/<pid>/status in MB (VmRSS, VmHWM). */
function statusMb(pid, field) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Watches a set of processes during one measurement: CPU seconds used by each
 * group, the machine's busy time, and the peak resident set of each process
 * (VmRSS every `intervalMs`). `groups` maps a name to pids; 'bench' is this process.
 */
function monitor(groups, { intervalMs = 100 } = {}) {
  const startedAt = performance.now();
  const startCpu = {};
  for (const [group, pids] of Object.entries(groups)) {
    startCpu[group] = pids.map((pid) => cpuSeconds(pid) ?? 0);
  }
  const startSelf = process.cpuUsage();
  const startMachine = machineCpu();
  const peakRss = {};
  const sample = () => {
    for (const [group, pids] of Object.entries(groups)) {
      for (const pid of pids) {
        const rss = statusMb(pid, 'VmRSS');
        if (rss !== undefined) peakRss[`${group}:${pid}`] = Math.max(peakRss[`${group}:${pid}`] ?? 0, rss);
      }
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const wall = (performance.now() - startedAt) / 1000;
      const cpu = {};
      for (const [group, pids] of Object.entries(groups)) {
        let used = 0;
        pids.forEach((pid, i) => {
          const now = cpuSeconds(pid);
          if (now !== undefined) used += now - startCpu[group][i];
        });
        cpu[group] = { seconds: round(used, 2), cores: round(used / wall, 2) };
      }
      const self = process.cpuUsage(startSelf);
      const selfSeconds = (self.user + self.system) / 1e6;
      cpu.bench = { seconds: round(selfSeconds, 2), cores: round(selfSeconds / wall, 2) };
      const endMachine = machineCpu();
      let machine;
      if (startMachine && endMachine) {
        const busy = endMachine.busy - startMachine.busy;
        const ours = Object.values(cpu).reduce((sum, group) => sum + group.seconds, 0);
        machine = {
          busyCores: round(busy / wall, 2),
          otherCores: round(Math.max(0, busy - ours) / wall, 2),
        };
      }
      const rss = {};
      for (const [key, mb] of Object.entries(peakRss)) {
        const group = key.split(':')[0];
        rss[group] = Math.max(rss[group] ?? 0, round(mb, 1));
      }
      return { wallSeconds: round(wall, 2), cpu, machine, peakRssMb: rss };
    },
  };
}

function round(value, digits = 1) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = {
  ROOT,
  SERVICE_ENTRY,
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
