import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startFerretDB, startNatsStreaming } from '../scripts/servers';
import { eventually } from './support/eventually';

const root = path.join(__dirname, '..');
const localData = path.join(root, '.servers', 'data');

/** The README's walk-through commands, exactly as a reader would paste them, with the stack's folder moved to `dataDir`. */
function walkthroughCommands(dataDir: string): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Walk-through'));
  const block = section.match(/```sh\n([\s\S]*?)```/);
  if (!block) throw new Error('README has no sh block under "## Walk-through"');
  expect(block[1]).toContain('.servers/data/stack.env');
  return block[1].replaceAll('.servers/data/', `${dataDir}/`);
}

/** Every file under the developer's own stack folder with its size, time and (for stack.env) content. */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const stat = statSync(full);
        files[path.relative(dir, full)] = `${stat.size} ${stat.mtimeMs}${entry.name === 'stack.env' ? ` ${readFileSync(full, 'utf8')}` : ''}`;
      }
    }
  };
  walk(dir);
  return files;
}

/** The environment of a terminal with no servers of the test run in it. */
function stackEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { MONGO_URI: _mongo, NATS_URL: _nats, NATS_CLUSTER_ID: _cluster, ...env } = process.env;
  return { ...env, ...extra };
}

describe('the README walk-through on the local stack', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'payments-walkthrough-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test('when it is run twice against `npm run dev:stack`, then each run pays its order and shows only its own payment:created, and the developer\'s .servers/data is untouched', async () => {
    const before = snapshot(localData);
    const port = await freePort();
    const stack = spawn('npm', ['run', 'dev:stack'], {
      cwd: root,
      env: stackEnv({ PORT: String(port), DEV_STACK_DIR: dataDir }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so Ctrl-C reaches npm and the stack as in a terminal
    });
    let output = '';
    stack.stdout.on('data', (chunk) => (output += chunk));
    stack.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<string>((resolve) => stack.once('close', (code, signal) => resolve(signal ?? `exit ${code}`)));
    const cli = (args: string[]) =>
      spawnSync('npm', ['run', '--silent', 'orders', '--', ...args], { cwd: root, encoding: 'utf8', timeout: 30_000, env: stackEnv({ DEV_STACK_DIR: dataDir }) });
    try {
      await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200), 60_000, 250);
      const started = output.split('\n').find((line) => line.includes('"payments service started"'));
      expect(JSON.parse(started!)).toMatchObject({ host: '127.0.0.1', port });

      const payments = [];
      for (let run = 0; run < 2; run += 1) {
        const walk = spawnSync('bash', ['-euo', 'pipefail', '-c', walkthroughCommands(dataDir)], {
          cwd: root, encoding: 'utf8', timeout: 60_000, env: stackEnv({ DEV_STACK_DIR: dataDir }),
        });
        expect(walk.stderr).toBe('');
        expect(walk.status).toBe(0);
        const [orderId, paymentLine, ...eventLines] = walk.stdout.trim().split('\n');
        expect(orderId).toMatch(/^[0-9a-f]{24}$/);
        const payment = JSON.parse(paymentLine);
        expect(payment).toMatchObject({ orderId, amount: 1999, currency: 'usd', status: 'succeeded', stripeId: expect.stringMatching(/^ch_/), paymentIntentId: expect.stringMatching(/^pi_/) });
        expect(eventLines).toEqual([
          `payment:created ${JSON.stringify({ id: payment.id, orderId, stripeId: payment.stripeId, paymentIntentId: payment.paymentIntentId, amount: 1999, currency: 'usd' })}`,
        ]);
        payments.push(payment);
      }

      // The operator CLI finds the stack's database through its stack.env, as the README says.
      const shown = spawnSync('npm', ['run', '--silent', 'payments', '--', 'show', payments[0].orderId], {
        cwd: root, encoding: 'utf8', timeout: 30_000, env: stackEnv({ DEV_STACK_DIR: dataDir }),
      });
      expect(shown.stderr).toBe('');
      expect(shown.stdout).toContain(`payment  ${payments[0].id}`);
      expect(shown.stdout).toContain('state    succeeded');

      // `watch` shows what is published from now on; `--all` everything kept.
      expect(cli(['watch', '--seconds', '1']).stdout).toBe('');
      const all = cli(['watch', '--all', '--seconds', '2']).stdout.trim().split('\n');
      expect(all.map((line) => JSON.parse(line.replace(/^payment:created /, '')).id)).toEqual(payments.map((p) => p.id));
      expect(readFileSync(path.join(dataDir, 'stack.env'), 'utf8')).toContain(`PAYMENTS_URL='http://127.0.0.1:${port}'`);
      // Ctrl-C reaches the service, not its servers: they run in process groups of their own and outlive it.
      // FerretDB is known by its port (on PostgreSQL its command line names no folder), its PostgreSQL
      // and NATS Streaming by their data folders.
      const ferretPort = readFileSync(path.join(dataDir, 'stack.env'), 'utf8').match(/^MONGO_URI='mongodb:\/\/127\.0\.0\.1:(\d+)\//m)![1];
      const onPostgres = (process.env.FERRETDB_BACKEND ?? 'postgresql') === 'postgresql';
      const servers = spawnSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' }).stdout.split('\n')
        .filter((line) => line.includes(`ferretdb -listen-addr 127.0.0.1:${ferretPort} `)
          || (line.includes(dataDir) && /nats-streaming-server|bin\/postgres -D/.test(line)))
        .map((line) => line.trim().split(/\s+/).map(Number).slice(0, 2));
      expect(servers).toHaveLength(onPostgres ? 3 : 2);
      for (const [pid, pgid] of servers) expect({ pid, pgid }).toEqual({ pid, pgid: pid });
    } catch (err) {
      process.stdout.write(`dev:stack output:\n${output}\n`);
      throw err;
    } finally {
      process.kill(-stack.pid!, 'SIGINT');
      const bound = new Promise((resolve) => setTimeout(resolve, 20_000).unref());
      // npm itself ends by the signal, as in a terminal; the stack below it stops cleanly.
      expect(await Promise.race([exited, bound])).toMatch(/^(SIGINT|exit 0)$/);
    }
    expect(output).toContain('payments service stopped');
    // Ctrl-C stops the service before its servers: closing is no disconnection.
    expect(output).not.toContain('disconnected from NATS');
    expect(snapshot(localData)).toEqual(before);
  }, 180_000);
});

describe('dev:stack on a port already taken', () => {
  let taken: Server;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => taken.close(resolve)));

  test('when PORT is in use, then it stops before starting anything and says to choose another PORT', () => {
    const port = (taken.address() as { port: number }).port;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'payments-stack-taken-'));
    try {
      const run = spawnSync(process.execPath, [path.join(root, 'scripts', 'dev-stack.js')], {
        cwd: root, encoding: 'utf8', timeout: 60_000, env: stackEnv({ PORT: String(port), DEV_STACK_DIR: dataDir }),
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`port ${port}`);
      expect(run.stderr).toMatch(/\bPORT\b/);
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('where the tests keep their servers\' data', () => {
  test('when a test starts FerretDB or a file-store NATS Streaming, then its data is in the run\'s scratch folder, removed at the end, not in .servers/data', async () => {
    const scratch = process.env.PAYMENTS_SCRATCH_DIR;
    expect(scratch).toBeTruthy();
    const ferret = await startFerretDB();
    const nats = await startNatsStreaming({ store: 'file' });
    try {
      for (const dir of [ferret.dir, nats.dir!]) {
        expect(path.dirname(dir)).toBe(scratch);
        expect(path.relative(localData, dir).startsWith('..')).toBe(true);
      }
    } finally {
      await Promise.all([ferret.stop(), nats.stop()]);
    }
  });
});
