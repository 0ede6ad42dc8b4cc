import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startFerretDB, startNatsStreaming } from '../scripts/servers';
import { eventually } from './support/eventually';

const root = path.join(__dirname, '..');
const localData = path.join(root, '.servers', 'data');

/**
 * The fences a command block of the README or docs/ may have (README, "Writing these docs"):
 * `sh check=<name>` blocks run here against the local stack; the others are never run.
 */
const FENCES: Record<string, string> = {
  sh: 'runs as it is against the local stack, with its check in this file',
  'bash-setup': 'sets up or starts things (npm ci, npm run dev:stack, npm test)',
  console: 'commands for elsewhere (the cluster, Docker, Stripe itself)',
  text: 'output, or commands with placeholders',
};

interface Block {
  file: string;
  line: number;
  fence: string;
  check?: string;
  body: string;
}

/** The README and every page of docs/. */
function docFiles(): string[] {
  const docs = readdirSync(path.join(root, 'docs')).filter((file) => file.endsWith('.md')).sort();
  return ['README.md', ...docs.map((file) => `docs/${file}`)];
}

/** Every fenced block of `file`: its fence's first word, the check it names (`check=<name>`), and its text. */
function blocksOf(file: string): Block[] {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)```(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [fence = '', ...rest] = open[2].trim().split(/\s+/);
    const check = rest.map((word) => /^check=(\S+)$/.exec(word)?.[1]).find(Boolean);
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i += 1) body.push(lines[i].slice(open[1].length));
    found.push({ file, line: start + 1, fence, check, body: body.join('\n') + '\n' });
  }
  return found;
}

const allBlocks = docFiles().flatMap(blocksOf);
const runnable = allBlocks.filter((block) => block.fence === 'sh');

/** The environment of a terminal with no servers of the test run in it. */
function stackEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { MONGO_URI: _mongo, NATS_URL: _nats, NATS_CLUSTER_ID: _cluster, ...env } = process.env;
  return { ...env, ...extra };
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

/** Runs a block as a reader would paste it (bash, stopping at the first failure), on the test's stack; returns its output's lines. */
type RunBlock = () => string[];

interface Check {
  /** What the block's output shows: the test's name says it. */
  then: string;
  verify(run: RunBlock, stack: { dataDir: string; port: number }): void;
}

const objectId = /^[0-9a-f]{24}$/;
const json = (line: string | undefined) => JSON.parse(line ?? 'null');

/** One check per `sh check=<name>` block of the README and docs/. */
const CHECKS: Record<string, Check> = {
  'card-payment': {
    then: 'it prints the order id, the payment succeeded for 19.99 usd, and that payment\'s payment:created only, run after run',
    verify(run) {
      for (let time = 0; time < 2; time += 1) {
        const [orderId, paymentLine, ...eventLines] = run();
        expect(orderId).toMatch(objectId);
        const payment = json(paymentLine);
        expect(payment).toMatchObject({ orderId, amount: 1999, currency: 'usd', status: 'succeeded', stripeId: expect.stringMatching(/^ch_/), paymentIntentId: expect.stringMatching(/^pi_/) });
        expect(eventLines).toEqual([
          `payment:created ${JSON.stringify({ id: payment.id, orderId, stripeId: payment.stripeId, paymentIntentId: payment.paymentIntentId, amount: 1999, currency: 'usd' })}`,
        ]);
      }
    },
  },
  '3ds-succeeds': {
    then: 'the payment answers requires_action, its history shows the customer authenticating and the charge, and it ends succeeded',
    verify(run) {
      const lines = run();
      const first = json(lines[0]);
      expect(first).toMatchObject({ status: 'requires_action', clientSecret: expect.stringMatching(/^pi_\w+_secret_/) });
      const shown = lines.slice(1, -1).join('\n');
      expect(shown).toContain(`payment  ${first.id}`);
      expect(shown).toContain('state    succeeded');
      expect(shown).toMatch(/claimed  4250 usd[\s\S]*customer authenticating[\s\S]*charged  ch_\w+[\s\S]*published  payment:created/);
      expect(json(lines.at(-1))).toMatchObject({ id: first.id, orderId: first.orderId, status: 'succeeded', amount: 4250, stripeId: expect.stringMatching(/^ch_/) });
    },
  },
  '3ds-fails': {
    then: 'another card pays the order (201) and the failed payment reads 200 with status failed and why',
    verify(run) {
      const [paid, read, ...rest] = run();
      expect(paid).toBe('201');
      expect(json(read)).toMatchObject({ status: 'failed', failure: { reason: 'declined', message: expect.stringMatching(/authenticate/) }, amount: 4250 });
      expect(json(read)).not.toHaveProperty('stripeId');
      expect(rest).toEqual([]);
    },
  },
  '3ds-lost-answer': {
    then: 'the same card gets the same 202 and the read its clientSecret, another card 409, and the authentication pays the order',
    verify(run) {
      const [again, reading, other, paid, ...rest] = run();
      const resent = /^(\{.*\}) 202$/.exec(again);
      expect(resent).not.toBeNull();
      const answer = json(resent![1]);
      expect(answer).toMatchObject({ status: 'requires_action', clientSecret: expect.stringMatching(/^pi_\w+_secret_/) });
      expect(json(reading)).toMatchObject({ id: answer.id, status: 'requires_action', clientSecret: answer.clientSecret, amount: 4250 });
      expect(other).toBe('409');
      expect(json(paid)).toMatchObject({ id: answer.id, status: 'succeeded', amount: 4250, stripeId: expect.stringMatching(/^ch_/) });
      expect(json(paid)).not.toHaveProperty('clientSecret');
      expect(rest).toEqual([]);
    },
  },
  'cancel-refunds': {
    then: 'the order\'s events are payment:created then payment:refunded of the same charge, and paying it again answers 400',
    verify(run) {
      const [paid, cancelled, created, refunded, again, ...rest] = run();
      expect(paid).toBe('201');
      const orderId = /^cancelled ([0-9a-f]{24})$/.exec(cancelled)?.[1];
      expect(orderId).toMatch(objectId);
      const payment = json(created.replace(/^payment:created /, ''));
      expect(payment).toMatchObject({ orderId, amount: 1999, stripeId: expect.stringMatching(/^ch_/) });
      expect(refunded.startsWith('payment:refunded ')).toBe(true);
      expect(json(refunded.replace(/^payment:refunded /, ''))).toMatchObject({ id: payment.id, orderId, stripeId: payment.stripeId, refundId: expect.stringMatching(/^re_/), amount: 1999 });
      expect(again).toBe('{"errors":[{"message":"Cannot pay for a cancelled order"}]} 400');
      expect(rest).toEqual([]);
    },
  },
  'declined-card': {
    then: 'the declined card answers 402 and the next card pays the order (201)',
    verify(run) {
      const [declined, paid, ...rest] = run();
      expect(declined).toBe('{"errors":[{"message":"Your card was declined."}]} 402');
      expect(paid).toMatch(/ 201$/);
      expect(json(paid.replace(/ 201$/, ''))).toMatchObject({ status: 'succeeded', amount: 500 });
      expect(rest).toEqual([]);
    },
  },
  'payments-show': {
    then: 'the payment is shown succeeded with its claim, charge and published event, and no event is parked',
    verify(run) {
      const shown = run().join('\n');
      expect(shown).toMatch(/^payment  [0-9a-f]{24}\n/);
      expect(shown).toContain('state    succeeded');
      expect(shown).toContain('amount   725 usd (minor units)');
      expect(shown).toMatch(/claimed  725 usd\n.*charged  ch_\w+\n.*published  payment:created\n/);
      expect(shown.endsWith('no parked dead letters')).toBe(true);
    },
  },
  'readiness-and-gauges': {
    then: '/readyz says ready and the outbox, refund and parked-event gauges are exported, nothing parked',
    verify(run) {
      const [ready, ...gauges] = run();
      expect(json(ready)).toEqual({ status: 'ready', checks: { mongo: true, nats: true }, down: [] });
      expect(gauges.map((line) => line.split(' ')[0])).toEqual(['payments_outbox_backlog', 'payments_refunds_owed', 'payments_events_parked']);
      expect(gauges.every((line) => /^\S+ \d+$/.test(line))).toBe(true);
      expect(gauges[2]).toBe('payments_events_parked 0');
    },
  },
  'request-id': {
    then: 'the answer carries the request id that was sent',
    verify(run) {
      expect(run().map((line) => line.trim().toLowerCase())).toEqual(['x-request-id: walk-1']);
    },
  },
};

describe('the command blocks of the README and docs/', () => {
  test('when the docs are read, then every block is fenced sh check=<name>, bash-setup, console or text, every sh block has its check here, and every check its block', () => {
    const misfenced = allBlocks.filter((block) => !(block.fence in FENCES)).map((block) => `${block.file}:${block.line} \`\`\`${block.fence}`);
    expect(misfenced).toEqual([]);
    const unchecked = runnable.filter((block) => !block.check || !(block.check in CHECKS)).map((block) => `${block.file}:${block.line} ${block.check ?? '(no check=<name>)'}`);
    expect(unchecked).toEqual([]);
    const names = runnable.map((block) => block.check);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    expect(Object.keys(CHECKS).filter((name) => !names.includes(name))).toEqual([]);
    // Setup commands are never run by the blocks, which run against the stack this file starts.
    for (const block of runnable) expect(block.body).not.toMatch(/npm (ci|test|run dev:stack)\b|npm install\b/);
    // The README's walk-through has its blocks run: the card, 3-D Secure succeeded and failed, a cancel.
    expect(runnable.filter((block) => block.file === 'README.md').map((block) => block.check)).toEqual(['card-payment', '3ds-succeeds', '3ds-fails', 'cancel-refunds']);
  });
});

describe('every sh block of the README and docs/, on one `npm run dev:stack`', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'payments-walkthrough-'));
  let port = 0;
  let stack: ChildProcess | undefined;
  let output = '';
  let exited: Promise<string>;
  let before: Record<string, string>;

  beforeAll(async () => {
    before = snapshot(localData);
    port = await freePort();
    stack = spawn('npm', ['run', 'dev:stack'], {
      cwd: root,
      // Every block pays as the one sample user, all within a minute as no reader does: more than the 10 attempts a minute a user has.
      env: stackEnv({ PORT: String(port), DEV_STACK_DIR: dataDir, PAYMENT_ATTEMPTS_PER_MINUTE: '100' }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so Ctrl-C reaches npm and the stack as in a terminal
    });
    stack.stdout!.on('data', (chunk) => (output += chunk));
    stack.stderr!.on('data', (chunk) => (output += chunk));
    exited = new Promise<string>((resolve) => stack!.once('close', (code, signal) => resolve(signal ?? `exit ${code}`)));
    try {
      await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200), 90_000, 250);
    } catch (err) {
      process.stdout.write(`dev:stack output:\n${output}\n`);
      throw err;
    }
  }, 120_000);

  afterAll(async () => {
    if (stack && stack.exitCode === null && stack.signalCode === null) {
      process.kill(-stack.pid!, 'SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000).unref())]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  const shell = (body: string): RunBlock => () => {
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', body.replaceAll('.servers/data/', `${dataDir}/`)], {
      cwd: root, encoding: 'utf8', timeout: 60_000, env: stackEnv({ DEV_STACK_DIR: dataDir }),
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    return run.stdout.trimEnd().split('\n');
  };
  const cli = (name: 'orders' | 'payments', args: string[]) =>
    spawnSync('npm', ['run', '--silent', name, '--', ...args], { cwd: root, encoding: 'utf8', timeout: 30_000, env: stackEnv({ DEV_STACK_DIR: dataDir }) });

  test('when npm run dev:stack is given PORT and DEV_STACK_DIR, then the service listens on 127.0.0.1 at that port and its stack.env is in that folder', () => {
    const started = output.split('\n').find((line) => line.includes('"payments service started"'));
    expect(JSON.parse(started!)).toMatchObject({ host: '127.0.0.1', port });
    expect(readFileSync(path.join(dataDir, 'stack.env'), 'utf8')).toContain(`PAYMENTS_URL='http://127.0.0.1:${port}'`);
  });

  for (const block of runnable) {
    const check = CHECKS[block.check ?? ''];
    test(`when ${block.file}'s \`${block.check}\` block (line ${block.line}) is run, then ${check?.then ?? 'it has a check'}`, () => {
      expect(check).toBeDefined();
      expect(block.body).toContain('.servers/data/stack.env');
      check.verify(shell(block.body), { dataDir, port });
    }, 150_000);
  }

  test('when orders -- watch runs, then alone it prints only what is published from then on, and with --all every event kept', () => {
    const card = runnable.find((block) => block.check === 'card-payment');
    expect(card).toBeDefined();
    const payment = json(shell(card!.body)()[1]);
    expect(cli('orders', ['watch', '--seconds', '1']).stdout).toBe('');
    const all = cli('orders', ['watch', '--all', '--seconds', '2']).stdout.trim().split('\n');
    expect(all).toContain(`payment:created ${JSON.stringify({ id: payment.id, orderId: payment.orderId, stripeId: payment.stripeId, paymentIntentId: payment.paymentIntentId, amount: 1999, currency: 'usd' })}`);
  }, 60_000);

  test('when Ctrl-C reaches npm, then the service stops before its servers (each in a process group of its own), and the developer\'s .servers/data is untouched', async () => {
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

    process.kill(-stack!.pid!, 'SIGINT');
    const bound = new Promise((resolve) => setTimeout(resolve, 20_000).unref());
    // npm itself ends by the signal, as in a terminal; the stack below it stops cleanly.
    expect(await Promise.race([exited, bound])).toMatch(/^(SIGINT|exit 0)$/);
    expect(output).toContain('payments service stopped');
    // Ctrl-C stops the service before its servers: closing is no disconnection.
    expect(output).not.toContain('disconnected from NATS');
    expect(snapshot(localData)).toEqual(before);
  }, 30_000);
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
