import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../scripts/servers';
import { eventually } from './support/eventually';

const root = path.join(__dirname, '..');

/** The README's walk-through commands, exactly as a reader would paste them. */
function walkthroughCommands(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Walk-through'));
  const block = section.match(/```sh\n([\s\S]*?)```/);
  if (!block) throw new Error('README has no sh block under "## Walk-through"');
  return block[1];
}

test('when the README walk-through is run against `npm run dev:stack`, then it pays the order and shows payment:created', async () => {
  const port = await freePort();
  // The stack writes .servers/data/stack.env, which the walk-through reads.
  const stack = spawn('npm', ['run', 'dev:stack'], {
    cwd: root,
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so Ctrl-C reaches npm and the stack as in a terminal
  });
  let output = '';
  stack.stdout.on('data', (chunk) => (output += chunk));
  stack.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<string>((resolve) => stack.once('close', (code, signal) => resolve(signal ?? `exit ${code}`)));
  try {
    await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200), 60_000, 250);

    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', walkthroughCommands()], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    // The watch prints every payment:created the stack has seen, this run's among them.
    const [orderId, paymentLine, ...eventLines] = run.stdout.trim().split('\n');
    expect(orderId).toMatch(/^[0-9a-f]{24}$/);
    const payment = JSON.parse(paymentLine);
    expect(payment).toMatchObject({ orderId, amount: 1999, currency: 'usd', status: 'succeeded', stripeId: expect.stringMatching(/^ch_/), paymentIntentId: expect.stringMatching(/^pi_/) });
    expect(eventLines).toContain(
      `payment:created ${JSON.stringify({ id: payment.id, orderId, stripeId: payment.stripeId, paymentIntentId: payment.paymentIntentId, amount: 1999, currency: 'usd' })}`,
    );
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
}, 180_000);
