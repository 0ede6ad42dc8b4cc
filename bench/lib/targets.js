'use strict';
/**
 * The targets ("as fast as the bare I/O, and flat as data grows"),
 * each judged against a run's figures: met, not met, or not measured. A figure
 * never fails the run; the report only says where it stands.
 */

const TARGETS = {
  /** Service throughput ÷ floor throughput, at each of these loads. */
  throughputToFloor: { atLeast: 1.0, connections: [1, 16, 64] },
  /** Service p99 ÷ floor p99. */
  p99ToFloor: { atMost: 1.5 },
  /** Throughput with this many payments stored ÷ throughput on the empty database. */
  growthToEmpty: { atLeast: 0.9, stored: 20_000 },
  /** Peak resident set of a service process under load. */
  peakRssMb: { atMost: 150 },
  /** Replication: (order:created + order:cancelled applied) per second. */
  replayEventsPerSecond: { atLeast: 1000 },
};

const verdict = (figure, ok) => (figure === null || figure === undefined ? 'not measured' : ok ? 'met' : 'not met');
const atLeast = (figure, limit) => verdict(figure, figure >= limit);
const atMost = (figure, limit) => verdict(figure, figure <= limit);

/** Every target with its figure and status: `[{ target, figure, status, detail? }]`. */
function judge(results) {
  const out = [];
  const service = results.charges?.service ?? [];
  const ratios = results.charges?.ratios ?? [];
  const loads = [...new Set([...TARGETS.throughputToFloor.connections, ...service.map((e) => e.connections)])].sort((a, b) => a - b);
  for (const connections of loads) {
    const r = ratios.find((x) => x.connections === connections);
    out.push({
      target: `throughput ≥ ${TARGETS.throughputToFloor.atLeast.toFixed(1)}× floor at ${connections} connection${connections === 1 ? '' : 's'}`,
      figure: r?.throughput ?? null,
      unit: '×',
      status: atLeast(r?.throughput, TARGETS.throughputToFloor.atLeast),
    });
  }
  for (const connections of loads) {
    const r = ratios.find((x) => x.connections === connections);
    out.push({
      target: `p99 ≤ ${TARGETS.p99ToFloor.atMost}× floor's at ${connections} connection${connections === 1 ? '' : 's'}`,
      figure: r?.p99 ?? null,
      unit: '×',
      status: atMost(r?.p99, TARGETS.p99ToFloor.atMost),
    });
  }

  const growth = results.growth?.runs ?? [];
  const wanted = TARGETS.growthToEmpty.stored;
  const largest = growth.find((r) => r.stored === wanted) ?? [...growth].filter((r) => r.stored > 0).sort((a, b) => b.stored - a.stored)[0];
  out.push({
    target: `throughput with ${(largest?.stored ?? wanted).toLocaleString('en-US')} payments stored within ${Math.round((1 - TARGETS.growthToEmpty.atLeast) * 100)} % of empty (≥ ${TARGETS.growthToEmpty.atLeast}×)`,
    figure: largest?.toEmpty?.throughput ?? null,
    unit: '×',
    status: atLeast(largest?.toEmpty?.throughput, TARGETS.growthToEmpty.atLeast),
    ...(largest && largest.stored !== wanted ? { detail: `${wanted.toLocaleString('en-US')} was not run; judged at ${largest.stored}` } : {}),
  });

  // Every load a service process took: charges, growth and scaling (per process).
  const loaded = [
    ...service.map((e) => [`charges ${e.connections} conns`, e.usage?.peakRssMb?.service]),
    ...growth.map((r) => [`growth ${r.stored}`, r.usage?.peakRssMb?.service]),
    ...(results.scaling?.runs ?? []).map((r) => [`scaling x${r.instances}`, r.usage?.peakRssMb?.service]),
  ].filter(([, mb]) => typeof mb === 'number' && mb > 0);
  const peak = loaded.sort((a, b) => b[1] - a[1])[0];
  out.push({
    target: `peak RSS of a service process under load ≤ ${TARGETS.peakRssMb.atMost} MB`,
    figure: peak ? Math.round(peak[1]) : null,
    unit: 'MB',
    status: atMost(peak?.[1], TARGETS.peakRssMb.atMost),
    ...(peak ? { detail: `highest in ${peak[0]}` } : {}),
  });

  const replication = results.replication;
  out.push({
    target: `replay ≥ ${TARGETS.replayEventsPerSecond.atLeast.toLocaleString('en-US')} events/s (created + cancelled applied ÷ time)`,
    figure: replication?.eventsPerSecond ?? null,
    unit: 'events/s',
    status: atLeast(replication?.eventsPerSecond, TARGETS.replayEventsPerSecond.atLeast),
    ...(replication?.incomplete ? { detail: `incomplete: ${replication.incomplete}` } : {}),
  });
  return out;
}

module.exports = { TARGETS, judge };
