export interface RunningServer {
  pid: number;
  port: number;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}
export function freePort(): Promise<number>;
export function startFerretDB(options?: { port?: number; dir?: string; logFile?: string; detached?: boolean }): Promise<RunningServer & { dir: string; uri: string }>;
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
}): Promise<RunningServer & { url: string; clusterId: string; store: string; dir: string }>;
export function startStripeMock(options?: { port?: number; logFile?: string; detached?: boolean }): Promise<RunningServer & { url: string }>;
