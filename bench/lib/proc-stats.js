'use strict';
/**
 * What /proc says about the benchmark's processes: CPU time, resident memory,
 * the machine's busy time, and a monitor that watches groups of processes
 * during one measurement.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');

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
 * (VmRSS every `intervalMs`). `groups` maps a name to pids, or to a function
 * that lists them: that one is asked again at the end, and a process that
 * appeared meanwhile counts all its CPU (PostgreSQL starts a backend for each
 * connection FerretDB opens under load; counted only from the start's list,
 * their CPU showed as the machine's "other"). 'bench' is this process.
 */
function monitor(groups, { intervalMs = 100 } = {}) {
  const startedAt = performance.now();
  const pidsOf = (group) => (typeof groups[group] === 'function' ? groups[group]() : groups[group]);
  const startCpu = {};
  const watched = {};
  for (const group of Object.keys(groups)) {
    watched[group] = pidsOf(group);
    startCpu[group] = new Map(watched[group].map((pid) => [pid, cpuSeconds(pid) ?? 0]));
  }
  const startSelf = process.cpuUsage();
  const startMachine = machineCpu();
  const peakRss = {};
  const sample = () => {
    for (const [group, pids] of Object.entries(watched)) {
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
      for (const group of Object.keys(groups)) {
        const pids = new Set([...watched[group], ...pidsOf(group)]);
        let used = 0;
        for (const pid of pids) {
          const now = cpuSeconds(pid);
          if (now !== undefined) used += now - (startCpu[group].get(pid) ?? 0);
        }
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


/**
 * Processes under `rootPid` (children, grandchildren...) whose command name is
 * `comm` (e.g. the `postgres` processes behind FerretDB, wherever in the tree they run).
 */
function descendants(rootPid, comm) {
  const parents = new Map();
  const names = new Map();
  let entries;
  try {
    entries = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  for (const entry of entries) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
      parents.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  const under = (pid) => {
    for (let p = parents.get(pid), hops = 0; p && hops < 64; p = parents.get(p), hops++) if (p === rootPid) return true;
    return false;
  };
  return [...names].filter(([pid, name]) => name === comm && under(pid)).map(([pid]) => pid);
}

module.exports = { cpuSeconds, machineCpu, statusMb, monitor, descendants, round, sleep };
