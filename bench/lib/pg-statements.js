'use strict';
/**
 * `--pg-statements`: what FerretDB's PostgreSQL spent its time on during one
 * load, from pg_stat_statements (scripts/servers.js loads it with `statements`).
 * Reset before the load, read after it: the statements by total execution time,
 * with their calls, mean and rows. This is how the generic plans that scanned a
 * growing collection were found (scripts/servers.js, MONGODB_LIKE_PLANS).
 */

/** The reader for `postgres` (a startPostgres result), or undefined when pg_stat_statements is not loaded. */
function pgStatements(postgres) {
  if (!postgres?.statements) return undefined;
  return {
    async reset() {
      await postgres.query('SELECT pg_stat_statements_reset()');
    },
    /** The `limit` costliest statements since the reset: {calls, totalMs, meanMs, rows, statement} (schema names left out). */
    async top(limit = 8) {
      const rows = await postgres.query(
        `SELECT calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3), rows, regexp_replace(query, '\\s+', ' ', 'g')
           FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT ${Number(limit)}`,
      );
      return rows.map(([calls, totalMs, meanMs, count, statement]) => ({
        calls: Number(calls),
        totalMs: Number(totalMs),
        meanMs: Number(meanMs),
        rows: Number(count),
        statement: statement.replace(/"[^"]+"\."([^"]+)"/g, '$1').slice(0, 140),
      }));
    },
  };
}

/** Markdown lines for the loads that carry `pgStatements`. */
function statementsTables(loads) {
  const lines = [];
  for (const load of loads) {
    if (!load?.pgStatements?.length) continue;
    lines.push('', `PostgreSQL statements, ${load.title} (pg_stat_statements, by total time):`, '');
    lines.push('| calls | total ms | mean ms | rows | statement |', '| ---: | ---: | ---: | ---: | --- |');
    for (const s of load.pgStatements) lines.push(`| ${s.calls} | ${s.totalMs} | ${s.meanMs} | ${s.rows} | \`${s.statement.replace(/\|/g, '\\|')}\` |`);
  }
  return lines;
}

module.exports = { pgStatements, statementsTables };
