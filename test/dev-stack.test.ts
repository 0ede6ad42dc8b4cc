import { ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, startPostgres } from '../scripts/servers';
import { eventually } from './support/eventually';

/**
 * The local stack (`npm run dev:stack` runs scripts/dev-stack.js once dist/ is built)
 * and the CLIs that play against it, as a newcomer meets them.
 */
const root = path.join(__dirname, '..');
const script = (name: string) => path.join(root, 'scripts', name);
// Inside the run's scratch folder (removed at its end); the stack's PostgreSQL user must be let through it.
const scratch = () => mkdtempSync(path.join(process.env.PAYMENTS_SCRATCH_DIR ?? tmpdir(), 'payments-dev-stack-'));
/** Only what a shell would hand over: not the test run's MONGO_URI, EVENT_BUS and the like. */
const shellEnv = (dataDir: string, extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '',
  PAYMENTS_SCRATCH_DIR: process.env.PAYMENTS_SCRATCH_DIR ?? '',
  DEV_STACK_DIR: dataDir,
  FERRETDB_BACKEND: 'sqlite',
  ...extra,
});
const devStack = (dataDir: string, extra: Record<string, string>) =>
  spawnSync(process.execPath, [script('dev-stack.js')], { cwd: root, encoding: 'utf8', env: shellEnv(dataDir, extra), timeout: 60_000 });

describe('the local stack names a wrong setting before it starts anything', () => {
  test.each([
    ['PORT', '33OO', 'dev-stack: invalid configuration: PORT must be an integer from 0 to 65535\n'],
    ['JWT_KEY', '', 'dev-stack: invalid configuration: JWT_KEY is set but empty\n'],
    ['EVENT_BUS', 'kafka', 'dev-stack: invalid configuration: EVENT_BUS must be one of stan, jetstream\n'],
    ['HOST', '999.0.0.1', 'dev-stack: invalid configuration: HOST must be an IP address or a host name (e.g. 127.0.0.1 or 0.0.0.0)\n'],
  ])('when %s is %p, then it says which setting is wrong, and starts nothing', (name, value, message) => {
    const dataDir = path.join(scratch(), 'data');
    const run = devStack(dataDir, { [name]: value });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 1, stderr: message });
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('one stack per data folder', () => {
  test('when a stack that was killed left its pid file, then the next one takes the folder (and here stops at the taken port)', async () => {
    const dataDir = scratch();
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(path.join(dataDir, 'dev-stack.pid'), `${gone}\n`);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const run = devStack(dataDir, { PORT: String(port) });
      expect(run.stderr).toBe(`dev-stack: port ${port} on 127.0.0.1 is already in use (another dev:stack?); choose a free one with PORT, e.g. PORT=3100 npm run dev:stack\n`);
      expect(existsSync(path.join(dataDir, 'dev-stack.pid'))).toBe(false);
    } finally {
      taken.close();
    }
  });
});

describe('the servers of a killed stack', () => {
  test('when its PostgreSQL still holds the data folder, then the next stack says so, which pid it is, and how DEV_STACK_DIR gives another', async () => {
    const dataDir = scratch();
    // What a killed dev-stack leaves: its servers run on, in process groups of their own.
    const postgres = await startPostgres({ dir: path.join(dataDir, 'ferretdb'), ownedFrom: dataDir });
    try {
      const run = devStack(dataDir, { FERRETDB_BACKEND: 'postgresql', PORT: String(await freePort()) });
      const shown = path.relative(root, dataDir);
      expect({ status: run.status, stderr: run.stderr }).toEqual({
        status: 1,
        stderr:
          `dev-stack: the servers of an earlier stack still run on ${shown} without their dev-stack (it was killed): stop them (its PostgreSQL is pid ${postgres.pid}; ` +
          `\`ps -ef | grep -e ${shown} -e ferretdb\` lists the others), or give this stack a data folder and a port of its own: DEV_STACK_DIR=.servers/data-2 PORT=3100 npm run dev:stack\n`,
      });
    } finally {
      await postgres.stop();
    }
  }, 60_000);
});

describe('the local stack on JetStream, with its CLIs', () => {
  let dataDir: string;
  let stack: ChildProcess;
  let output = '';
  const cli = (name: string, ...args: string[]) =>
    promisify(execFile)(process.execPath, [script(name), ...args], { cwd: root, env: shellEnv(dataDir) });

  beforeAll(async () => {
    dataDir = scratch();
    stack = spawn(process.execPath, [script('dev-stack.js')], { cwd: root, env: shellEnv(dataDir, { EVENT_BUS: 'jetstream', PORT: String(await freePort()) }) });
    stack.stdout!.on('data', (chunk) => (output += chunk));
    stack.stderr!.on('data', (chunk) => (output += chunk));
    await eventually(() => expect(output).toContain('"msg":"subscribed"'), 60_000);
  }, 90_000);

  afterAll(async () => {
    if (stack.exitCode !== null) return;
    const exited = new Promise((resolve) => stack.once('exit', resolve));
    stack.kill('SIGTERM');
    await exited;
  }, 30_000);

  const stackEnv = () =>
    Object.fromEntries(readFileSync(path.join(dataDir, 'stack.env'), 'utf8').trim().split('\n').map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1).replace(/^'|'$/g, '')];
    }));

  test('when EVENT_BUS=jetstream, then the stack runs nats-server with JetStream, and an order is replicated, paid and its payment:created heard', async () => {
    expect(output).toMatch(/dev-stack: NATS {10}nats:\/\/127\.0\.0\.1:\d+ \(JetStream\)/);
    expect(output).not.toContain('jetstream is not enabled');
    const env = stackEnv();
    expect(env.EVENT_BUS).toBe('jetstream');

    const orderId = (await cli('orders-cli.js', 'create', '--price', '12.5')).stdout.trim();
    expect(orderId).toMatch(/^[0-9a-f]{24}$/);
    const paid = await eventually(async () => {
      const res = await fetch(`${env.PAYMENTS_URL}/api/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: env.COOKIE },
        body: JSON.stringify({ token: 'tok_visa', orderId }),
      });
      expect(res.status).toBe(201);
      return res;
    }, 20_000);
    expect(await paid.json()).toMatchObject({ id: expect.any(String) });
    const watched = await cli('orders-cli.js', 'watch', '--order', orderId, '--seconds', '2');
    expect(watched.stdout).toContain(`payment:created {"id"`);
    expect(watched.stdout).toContain(`"orderId":"${orderId}"`);
  }, 60_000);

  test('when a second stack is started on the same data folder, then it says one runs there and how DEV_STACK_DIR gives another', async () => {
    const run = devStack(dataDir, { EVENT_BUS: 'jetstream', PORT: String(await freePort()) });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `dev-stack: a stack already runs on ${path.relative(root, dataDir)} (dev-stack pid ${stack.pid}): stop it, or give this one a data folder and a port of its own: DEV_STACK_DIR=.servers/data-2 PORT=3100 npm run dev:stack\n`,
    );
  });
});

describe('the CLIs with the stack stopped', () => {
  let dataDir: string;
  let mongoPort: number;
  let natsPort: number;
  const run = (name: string, args: string[], extra: Record<string, string> = {}) =>
    spawnSync(process.execPath, [script(name), ...args], { cwd: root, encoding: 'utf8', env: shellEnv(dataDir, extra), timeout: 30_000 });

  beforeAll(async () => {
    dataDir = scratch();
    [mongoPort, natsPort] = [await freePort(), await freePort()];
    // What the last stack wrote: its servers are gone, and nothing answers on their ports.
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'stack.env'), `MONGO_URI='mongodb://127.0.0.1:${mongoPort}/payments'\nNATS_URL='nats://127.0.0.1:${natsPort}'\nNATS_CLUSTER_ID='ticketing'\n`);
  });

  const advice = 'nothing answers there. Is the local stack running? `npm run dev:stack` starts it\n';
  const file = () => path.relative(root, path.join(dataDir, 'stack.env'));

  test('when npm run payments is run, then it says the database does not answer where stack.env says, and how to start it', () => {
    const result = run('payments-cli.js', ['dead-letters']);
    expect({ status: result.status, stderr: result.stderr }).toEqual({
      status: 1,
      stderr: `payments-cli: cannot reach the database at mongodb://127.0.0.1:${mongoPort}/payments (MONGO_URI in ${file()}, written by the last local stack): ${advice}`,
    });
  });

  test('when npm run orders is run, on either broker, then it says NATS does not answer, and how to start it', () => {
    for (const [bus, what] of [['stan', 'NATS Streaming'], ['jetstream', 'NATS (JetStream)']]) {
      const result = run('orders-cli.js', ['create'], { EVENT_BUS: bus });
      expect({ status: result.status, stderr: result.stderr }).toEqual({
        status: 1,
        stderr: `orders-cli: cannot reach ${what} at nats://127.0.0.1:${natsPort} (NATS_URL in ${file()}, written by the last local stack): ${advice}`,
      });
    }
  });

  test('when MONGO_URI is given with a password, then the message says it came from the environment and hides the password', () => {
    const result = run('payments-cli.js', ['list'], { MONGO_URI: `mongodb://ops:s3cret@127.0.0.1:${mongoPort}/payments` });
    expect(result.stderr).toBe(`payments-cli: cannot reach the database at mongodb://…@127.0.0.1:${mongoPort}/payments (MONGO_URI): ${advice}`);
  });
});
