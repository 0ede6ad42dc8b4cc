/** Summaries the hostile-input suites print, and the counters they read. */

export function table(title: string, rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  const line = '-'.repeat(width + 14);
  return [`\n${title}`, line, ...rows.map(([label, value]) => `${label.padEnd(width)}  ${String(value).padStart(10)}`), line].join('\n');
}

export function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

export function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}
