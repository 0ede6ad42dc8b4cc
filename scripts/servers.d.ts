export interface RunningServer {
  pid: number;
  port: number;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}
export function freePort(): Promise<number>;
export type FerretDBBackend = 'postgresql' | 'sqlite';
export interface RunningPostgres extends RunningServer {
  dir: string;
  dataDir: string;
  socketDir: string;
  durable: boolean;
  /** pg_stat_statements is loaded (the `statements` option). */
  statements: boolean;
  database: string;
  /** Runs `sql` in the cluster's database: its rows, each an array of column texts. */
  query(sql: string): Promise<string[][]>;
  /** postgres://postgres@127.0.0.1:<port>/ferretdb (trust authentication, loopback only). */
  url: string;
}
/**
 * FerretDB on PostgreSQL (default, or FERRETDB_BACKEND) or SQLite. On PostgreSQL, `stop()`
 * stops FerretDB and then its PostgreSQL; `postgres` is that server.
 */
export function startFerretDB(options?: {
  port?: number;
  dir?: string;
  logFile?: string;
  detached?: boolean;
  backend?: FerretDBBackend;
  /** PostgreSQL with fsync, synchronous_commit and full_page_writes on (default: FERRETDB_PG_DURABLE, else off). */
  durable?: boolean;
  /** PostgreSQL loads pg_stat_statements (default: FERRETDB_PG_STATEMENTS, else no). */
  statements?: boolean;
  postgresLogFile?: string;
  /** As root: the folder from which down this caller's folders may be opened (o+x) to the postgres user; default `dir`. */
  ownedFrom?: string;
}): Promise<RunningServer & { dir: string; uri: string; backend: FerretDBBackend; postgres?: RunningPostgres }>;
export function startPostgres(options?: { dir?: string; durable?: boolean; statements?: boolean; logFile?: string; detached?: boolean; ownedFrom?: string }): Promise<RunningPostgres>;
export function startNatsStreaming(options?: {
  port?: number;
  store?: 'memory' | 'file';
  dir?: string;
  clusterId?: string;
  logFile?: string;
  detached?: boolean;
}): Promise<RunningServer & { url: string; clusterId: string; store: string; dir?: string }>;
export function startNatsServer(options?: {
  port?: number;
  store?: 'memory' | 'file';
  dir?: string;
  logFile?: string;
  detached?: boolean;
}): Promise<RunningServer & { url: string; clusterId: string; store: string; dir: string }>;
export function startStripeMock(options?: { port?: number; logFile?: string; detached?: boolean }): Promise<RunningServer & { url: string }>;
/** Prometheus scraping `targets` (host:port) and evaluating `ruleFiles` (absolute paths) every `intervalSeconds` (default 1); its API at `url`. */
export function startPrometheus(options: {
  targets: string[];
  ruleFiles?: string[];
  intervalSeconds?: number;
  port?: number;
  logFile?: string;
}): Promise<RunningServer & { url: string }>;
/** Jaeger v2: OTLP/HTTP on `otlpUrl` (`port`), the query API on `queryUrl` (`queryPort`); spans in memory. */
export function startJaeger(options?: { logFile?: string; detached?: boolean }): Promise<RunningServer & { queryPort: number; otlpUrl: string; queryUrl: string }>;
