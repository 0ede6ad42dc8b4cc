'use strict';
/**
 * Phase 3, scaling: the top load (64 connections or more) against 1 and
 * --instances service processes, each count on a database and broker of its own.
 */
const os = require('node:os');
const { feeder } = require('./load');
const { freshStage } = require('./stack');

/** Reads the CPU figures of the scaling runs and says where the time likely went. */
function bottleneck(runs, cpus, backend) {
  const last = runs.at(-1);
  if (!last) return undefined;
  const round2 = (v) => Math.round(v * 100) / 100;
  const cpu = last.usage.cpu;
  const shares = {
    services: cpu.service?.cores ?? 0,
    ferretdb: cpu.ferretdb?.cores ?? 0,
    nats: cpu.nats?.cores ?? 0,
    stripeStandIn: cpu.stripe?.cores ?? 0,
    loadGenerator: cpu.bench?.cores ?? 0,
  };
  const others = last.usage.machine?.otherCores ?? 0;
  const busy = last.usage.machine?.busyCores ?? Object.values(shares).reduce((a, b) => a + b, 0);
  const one = runs[0];
  const gain = one && last !== one && one.requestsPerSecond > 0 ? round2(last.requestsPerSecond / one.requestsPerSecond) : null;
  const [top, topCores] = Object.entries(shares).sort((a, b) => b[1] - a[1])[0];
  const parts = [];
  const machineBound = busy >= cpus * 0.85;
  const database = backend === 'postgresql' ? 'FerretDB with PostgreSQL' : 'FerretDB';
  if (shares.ferretdb >= 2 * shares.services && (shares.ferretdb >= 0.7 || machineBound)) {
    parts.push(
      `${database}: ${shares.ferretdb} cores against ${shares.services} for all service processes together${backend === 'sqlite' ? '; its SQLite backend has one writer at a time, so more service processes only queue behind it' : ''}`,
    );
  } else if (shares.services >= 0.7 && shares.services >= shares.ferretdb) {
    parts.push(`the service processes (${shares.services} cores against ${shares.ferretdb} for ${database})`);
  } else {
    parts.push(`no single process saturated; the largest share is ${top} (${topCores} cores): waiting on round trips`);
  }
  if (machineBound) parts.push(`the machine was CPU-bound (${busy} of ${cpus} cores busy${others >= 0.1 ? `, ${others} of them by processes outside the benchmark` : ''})`);
  else if (others >= 0.1) parts.push(`processes outside the benchmark used ${others} cores`);
  return { throughputGain: gain, coresBusy: busy, cpuCores: { ...shares, others }, verdict: `likely bottleneck: ${parts.join('; ')}` };
}

/** `rate`: the warm-up's orders per second, to size the orders when the charges did not run at this load. */
async function runScaling(ctx, rate) {
  const { config, results } = ctx;
  const connections = Math.max(...config.connections, 64);
  const top = results.charges.service.find((e) => e.connections === connections) ?? results.charges.service.at(-1);
  const r64 = Math.max(top?.requestsPerSecond ?? rate, 20);
  results.scaling = { connections, runs: [] };
  const counts = config.instances > 1 ? [1, config.instances] : [1];
  for (const k of counts) {
    // Each instance count gets a database and a broker of its own, so both start
    // from the same state (the database's cost grows with the collections).
    const stage = await freshStage(ctx, `x${k}`);
    const group = [];
    for (let i = 1; i <= k; i++) group.push(await ctx.startOne(`payments-x${k}-${i}`, { MONGO_URI: stage.uri, NATS_URL: stage.nats.url }));
    stage.targets = group.map((s) => s.url);
    const warmN = 16 * 25;
    const prepared = await ctx.prepareOrders(stage, r64 * config.durationS * 1.5 * Math.min(k, 2) + 300 + warmN, `scaling x${k}`);
    const feed = feeder(prepared.orders);
    const groups = ctx.groupsFor(group.map((s) => s.pid), { natsPid: stage.nats.pid });
    await ctx.measure({ label: `scaling x${k} warm-up`, urls: stage.targets, connections: 16, durationS: 1, orders: feed, groups, stage });
    const run = await ctx.measure({ label: `scaling x${k}`, urls: stage.targets, connections, orders: feed, groups, stage, services: group });
    results.scaling.runs.push({ instances: k, prep: prepared.prep, ...run });
    await ctx.stopServices(group);
    await stage.close();
  }
  results.scaling.bottleneck = bottleneck(results.scaling.runs, os.cpus().length, results.backend?.actual);
}

module.exports = { runScaling, bottleneck };
