'use strict';
/** The markdown report of a run (stdout); the JSON holds everything else. */
const { TARGETS } = require('./targets');
const { statementsTables } = require('./pg-statements');

const fmt = (v, digits = 1) => (v === null || v === undefined ? '–' : typeof v === 'number' ? v.toFixed(digits) : String(v));
const x = (v) => (v === null || v === undefined ? '–' : `${v.toFixed(2)}×`);
const BACKEND_NAMES = { postgresql: 'PostgreSQL', sqlite: 'SQLite' };

function header(results) {
  const m = results.machine;
  const o = results.options;
  const backend = results.backend
    ? `${BACKEND_NAMES[results.backend.actual] ?? results.backend.actual}${results.backend.actual !== results.backend.requested ? `; --backend ${results.backend.requested} was asked for` : ''}`
    : '?';
  const stack = Array.isArray(o.target)
    ? `target ${o.target.join(', ')}`
    : `FerretDB ${m.servers.ferretdb?.built ?? '?'} (${backend}), ${o.bus === 'jetstream'
      ? `nats-server ${m.servers['nats-server']?.built ?? '?'} (JetStream)`
      : `nats-streaming-server ${m.servers['nats-streaming-server']?.built ?? '?'}`}`;
  return [
    `### Payments benchmark, ${results.startedAt.slice(0, 19).replace('T', ' ')} UTC`,
    '',
    `${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}, ${stack}, autocannon ${m.autocannon}; ${o.durationS} s per load${o.quick ? ' (--quick)' : ''}.`,
    ...(o.serviceNodeArgs ? ['', `Service: \`node ${[...o.serviceNodeArgs, 'dist/index.js'].join(' ')}\`.`] : []),
  ];
}

function chargesTables(results) {
  const lines = ['', '| target | conns | req/s | p50 ms | p90 ms | p99 ms | req/s ÷ floor | p99 ÷ floor | non-2xx | errors | peak RSS MB | CPU cores: target / FerretDB / NATS / load gen / other processes |'];
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  const row = (name, e, rssKey) => {
    const c = e.usage.cpu;
    const ratio = rssKey === 'service' ? e.floorRatio : undefined;
    lines.push(
      `| ${name} | ${e.connections} | ${fmt(e.requestsPerSecond)}${e.ordersRanOut ? ' ⚠' : ''} | ${fmt(e.latencyMs.p50)} | ${fmt(e.latencyMs.p90)} | ${fmt(e.latencyMs.p99)} | ${ratio ? x(ratio.throughput) : ''} | ${ratio ? x(ratio.p99) : ''} | ${e.non2xx} | ${e.errors} | ${fmt(e.usage.peakRssMb[rssKey], 0)} | ${fmt(c[rssKey]?.cores, 2)} / ${fmt(c.ferretdb?.cores, 2)} / ${fmt(c.nats?.cores, 2)} / ${fmt(c.bench?.cores, 2)} / ${fmt(e.usage.machine?.otherCores, 2)} |`,
    );
  };
  for (const e of results.charges.service) row('service', e, 'service');
  for (const e of results.charges.floor) row('floor', e, 'floor');
  const sized = results.charges.service.filter((e) => e.databaseBefore);
  if (sized.length) {
    const first = sized[0].databaseBefore;
    const last = sized.at(-1).databaseBefore;
    const ranOut = results.charges.service.some((e) => e.ordersRanOut) ? '; ⚠ = orders ran out (see notes)' : '';
    lines.push('', `Service loads ran against ${first.orders} orders and ${first.payments}–${last.payments} payments already in the database${ranOut}.`);
  }
  const traced = results.charges.service.filter((e) => e.dbCommands?.length);
  if (traced.length) {
    const e = traced.find((t) => t.connections === 1) ?? traced[0];
    lines.push('', `MongoDB commands per charge made (service, ${e.connections} connection${e.connections === 1 ? ': the cost without queueing' : 's'}; --trace-db; more in the JSON):`, '');
    lines.push('| command collection {filter fields} | per charge | avg ms | ms per charge |');
    lines.push('| --- | ---: | ---: | ---: |');
    for (const r of e.dbCommands.slice(0, 12)) lines.push(`| ${r.command} | ${fmt(r.perPaid, 2)} | ${fmt(r.avgMs)} | ${fmt(r.msPerPaid)} |`);
  }
  if (results.charges.floor.length) {
    const t = TARGETS;
    const floorSteps = results.options.floor === 'safe' ? 'the service\'s own I/O and nothing else, FLOOR_STEPS=safe' : 'the bare I/O and nothing else';
    lines.push('', `Service ÷ floor (bench/floor.js: ${floorSteps}), load by load:`, '');
    lines.push(`| conns | throughput service/floor (target ≥ ${t.throughputToFloor.atLeast.toFixed(1)}) | p50 service/floor | p99 service/floor (target ≤ ${t.p99ToFloor.atMost}) |`);
    lines.push('| ---: | ---: | ---: | ---: |');
    for (const r of results.charges.ratios) {
      const met = (v, ok) => (v === null || v === undefined ? '' : ok ? ' met' : ' not met');
      lines.push(`| ${r.connections} | ${x(r.throughput)}${met(r.throughput, r.throughput >= t.throughputToFloor.atLeast)} | ${x(r.p50)} | ${x(r.p99)}${met(r.p99, r.p99 <= t.p99ToFloor.atMost)} |`);
    }
  }
  return lines;
}

function growthTable(growth) {
  const lines = ['', `Growth: ${growth.connections} connections, ${growth.durationS} s per load, on a database already holding N payments with their orders (seeded; 5 % refunded, plus 10 % more orders cancelled unpaid):`, ''];
  lines.push('| payments stored | orders / refunds stored | req/s | p50 ms | p99 ms | req/s ÷ empty | p50 ÷ empty | p99 ÷ empty | req/s ÷ floor | p99 ÷ floor | non-2xx | peak RSS MB | seeded in s |');
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of growth.runs) {
    lines.push(
      `| ${r.stored} | ${r.seeded.orders} / ${r.seeded.refunds} | ${fmt(r.requestsPerSecond)}${r.ordersRanOut ? ' ⚠' : ''} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p99)} | ${x(r.toEmpty?.throughput)} | ${x(r.toEmpty?.p50)} | ${x(r.toEmpty?.p99)} | ${x(r.floorRatio?.throughput)} | ${x(r.floorRatio?.p99)} | ${r.non2xx} | ${fmt(r.usage.peakRssMb.service, 0)} | ${fmt(r.seeded.seconds)} |`,
    );
  }
  return lines;
}

function scalingTable(scaling, cpus) {
  const lines = ['', `| instances (${scaling.connections} conns) | req/s | p50 ms | p99 ms | non-2xx | CPU cores: services / FerretDB / NATS / Stripe stand-in / load gen / others | machine busy |`];
  lines.push('| ---: | ---: | ---: | ---: | ---: | --- | ---: |');
  for (const r of scaling.runs) {
    const c = r.usage.cpu;
    lines.push(
      `| ${r.instances} | ${fmt(r.requestsPerSecond)}${r.ordersRanOut ? ' ⚠' : ''} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p99)} | ${r.non2xx} | ${fmt(c.service?.cores, 2)} / ${fmt(c.ferretdb?.cores, 2)} / ${fmt(c.nats?.cores, 2)} / ${fmt(c.stripe?.cores, 2)} / ${fmt(c.bench?.cores, 2)} / ${fmt(r.usage.machine?.otherCores, 2)} | ${fmt(r.usage.machine?.busyCores, 2)} of ${cpus} |`,
    );
  }
  if (scaling.bottleneck) lines.push('', `Scaling 1 → ${scaling.runs.at(-1).instances} instances: ×${fmt(scaling.bottleneck.throughputGain, 2)} throughput; ${scaling.bottleneck.verdict}.`);
  return lines;
}

function replicationTable(r) {
  const lines = ['', '| replication events | /readyz 200 after s | all stored after s | all cancelled after s | applied: created / cancelled | events/s (applied ÷ s) | peak RSS MB | handler failures logged |'];
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const failures = Object.entries(r.logs ?? {})
    .filter(([k]) => k.startsWith('error:'))
    .reduce((sum, [, v]) => sum + v.count, 0);
  const never = `> ${r.watchedSeconds}`;
  lines.push(
    `| ${r.events} | ${r.readySeconds ?? `> ${r.readyNotSeenWithinSeconds}`} | ${r.storedSeconds ?? never} | ${r.allCancelledSeconds ?? never} | ${r.applied.stored} / ${r.applied.cancelled} | ${fmt(r.eventsPerSecond, 0)} (${r.applied.stored + r.applied.cancelled} ÷ ${fmt(r.eventsPerSecondOver?.seconds, 2)}) | ${fmt(r.peakRssMb, 0)} | ${failures} |`,
  );
  return lines;
}

function targetsTable(targets) {
  const lines = ['', 'Targets (judged on this run; none fails it):', ''];
  lines.push('| target | this run | status |');
  lines.push('| --- | ---: | --- |');
  for (const t of targets) {
    const figure = t.figure === null || t.figure === undefined ? '–' : t.unit === '×' ? `${t.figure.toFixed(2)}×` : `${t.figure} ${t.unit}`;
    lines.push(`| ${t.target} | ${figure} | ${t.status}${t.detail ? ` (${t.detail})` : ''} |`);
  }
  return lines;
}

function markdown(results) {
  const lines = header(results);
  lines.push(...chargesTables(results));
  if (results.growth) lines.push(...growthTable(results.growth));
  if (results.scaling) lines.push(...scalingTable(results.scaling, results.machine.cpus));
  if (results.replication) lines.push(...replicationTable(results.replication));
  lines.push(
    ...statementsTables([
      ...results.charges.service.map((load) => ({ ...load, title: `service, ${load.connections} connections` })),
      ...(results.replication ? [{ ...results.replication, title: 'the replay' }] : []),
    ]),
  );
  if (results.targets) lines.push(...targetsTable(results.targets));
  if (results.notes.length) {
    lines.push('');
    for (const note of results.notes) lines.push(`- ${note}`);
  }
  lines.push('', `Total run time ${results.totalSeconds} s.`);
  return lines.join('\n');
}

module.exports = { markdown };
