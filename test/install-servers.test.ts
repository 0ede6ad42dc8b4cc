import { spawnSync } from 'node:child_process';
import path from 'node:path';

const script = path.join(__dirname, '..', 'scripts', 'install-servers.js');

/** install-servers with no Go on PATH: it must not need it for servers the environment already provides. */
function install(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: { PATH: '/nonexistent', ...env } });
}

describe('building the Go servers only when they are needed', () => {
  const elsewhere = { MONGO_URI: 'mongodb://db.example:27017', NATS_URL: 'nats://nats.example:4222', STRIPE_MOCK_URL: 'http://stripe.example:12111' };

  test('when MONGO_URI, NATS_URL and STRIPE_MOCK_URL all point elsewhere, then the local stack needs no server and no Go', () => {
    const run = install(['--needed'], elsewhere);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    for (const name of ['ferretdb', 'nats-streaming-server', 'stripe-mock']) expect(run.stdout).toContain(`${name} not needed`);
  });

  test('when the tests run with all three elsewhere, then stripe-mock is skipped and only the servers outage tests stop themselves are kept', () => {
    const run = install(['--for-tests'], elsewhere);
    expect(run.stdout).toContain('stripe-mock not needed (STRIPE_MOCK_URL is set)');
    expect(run.stdout).not.toContain('ferretdb not needed');
    expect(run.stdout).not.toContain('nats-streaming-server not needed');
  });

  test('when a needed server is missing and Go is not installed, then it fails naming the Go version to install', () => {
    const run = spawnSync(process.execPath, ['-e', `
      const versions = require(${JSON.stringify(path.join(__dirname, '..', 'scripts', 'server-versions.js'))});
      const fs = require('node:fs');
      versions.binDir = fs.mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'payments-bin-'));
      process.on('exit', () => fs.rmSync(versions.binDir, { recursive: true, force: true }));
      require(${JSON.stringify(script)});
    `], { encoding: 'utf8', env: { PATH: '/nonexistent' } });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/Go 1\.\d+ or later is required/);
  });
});
