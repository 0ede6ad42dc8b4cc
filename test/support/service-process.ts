import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { testBus } from './broker-client';
import { databaseUri, JWT_KEY, unique } from './harness';

const ENTRY = path.join(__dirname, '..', '..', 'dist', 'index.js');

export interface ServiceProcessOptions {
  database: string;
  nats: { url: string; clusterId: string };
  stripeUrl: string;
  clientId?: string;
  env?: Record<string, string>;
}

/**
 * The compiled service as production runs it: a separate process configured by
 * its environment, logging JSON lines to stdout.
 */
export class ServiceProcess {
  readonly lines: string[] = [];
  port = 0;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    let buffer = '';
    const collect = (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      this.lines.push(...parts.filter(Boolean));
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
  }

  static async start(options: ServiceProcessOptions): Promise<ServiceProcess> {
    const env = {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      JWT_KEY,
      MONGO_URI: databaseUri(options.database),
      EVENT_BUS: testBus(),
      NATS_URL: options.nats.url,
      NATS_CLUSTER_ID: options.nats.clusterId,
      NATS_CLIENT_ID: options.clientId ?? unique('payments-proc'),
      NATS_ACK_WAIT_MS: '2000',
      STRIPE_KEY: 'sk_test_payments',
      STRIPE_API_URL: options.stripeUrl,
      STRIPE_TIMEOUT_MS: '2000',
      LOG_LEVEL: 'info',
      PAYMENT_ATTEMPTS_PER_MINUTE: '100000',
      // Paced only where pacing is what a test checks (stripe-budget tests set their own).
      STRIPE_MAX_RPS: '1000',
      ...options.env,
    };
    const proc = new ServiceProcess(spawn(process.execPath, [ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    await proc.waitForLog((entry) => entry.msg === 'payments service started', 30_000);
    const started = proc.entries().find((entry) => entry.msg === 'payments service started');
    proc.port = Number(started?.port);
    return proc;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  entries(): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [{ msg: line }];
      }
    });
  }

  async waitForLog(match: (entry: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.entries().some(match)) {
      if (this.exit) throw new Error(`service exited (${JSON.stringify(this.exit)}):\n${this.lines.slice(-20).join('\n')}`);
      if (Date.now() > deadline) throw new Error(`log line not seen within ${timeoutMs} ms:\n${this.lines.slice(-20).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exit) this.child.kill(signal);
  }

  async stopped(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await this.exited;
    return this.exit!;
  }

  /** SIGTERM, and SIGKILL if it does not exit in time. */
  async stop(): Promise<void> {
    if (this.exit) return;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}
