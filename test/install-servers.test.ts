import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const script = path.join(__dirname, '..', 'scripts', 'install-servers.js');

/** install-servers with no Go on PATH: it must not need it for servers the environment already provides. */
function install(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: { PATH: '/nonexistent', ...env } });
}

/** install-servers into an empty bin folder, with no Go on PATH: what it would build is what it names as missing Go for. */
function installIntoEmpty(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['-e', `
    const versions = require(${JSON.stringify(path.join(__dirname, '..', 'scripts', 'server-versions.js'))});
    const fs = require('node:fs');
    versions.binDir = fs.mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'payments-bin-'));
    process.on('exit', () => fs.rmSync(versions.binDir, { recursive: true, force: true }));
    require(${JSON.stringify(script)}).main(${JSON.stringify(['node', script, ...args])});
  `], { encoding: 'utf8', env: { PATH: '/nonexistent', ...env } });
}

describe('building the Go servers only when they are needed', () => {
  const elsewhere = { MONGO_URI: 'mongodb://db.example:27017', NATS_URL: 'nats://nats.example:4222', STRIPE_MOCK_URL: 'http://stripe.example:12111' };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { notNeeded } = require('../scripts/install-servers') as { notNeeded: (mode: string, name: string, env: Record<string, string>) => string | undefined };
  const needed = (mode: string, env: Record<string, string>) =>
    ['ferretdb', 'nats-streaming-server', 'nats-server', 'stripe-mock'].filter((name) => !notNeeded(mode, name, env));

  test('when the local stack runs on NATS Streaming, then it needs FerretDB and nats-streaming-server only, never stripe-mock nor nats-server', () => {
    expect(needed('stack', {})).toEqual(['ferretdb', 'nats-streaming-server']);
    expect(needed('stack', { EVENT_BUS: 'stan' })).toEqual(['ferretdb', 'nats-streaming-server']);
    expect(notNeeded('stack', 'stripe-mock', {})).toBe('the local stack runs the fake Stripe');
  });

  test('when the local stack runs on JetStream, then it needs FerretDB and nats-server', () => {
    expect(needed('stack', { EVENT_BUS: 'jetstream' })).toEqual(['ferretdb', 'nats-server']);
    expect(needed('stack', { EVENT_BUS: 'jetstream', MONGO_URI: elsewhere.MONGO_URI })).toEqual(['nats-server']);
  });

  test('when the tests or servers:install run, then every server is built unless the tests are pointed elsewhere', () => {
    expect(needed('all', elsewhere)).toEqual(['ferretdb', 'nats-streaming-server', 'nats-server', 'stripe-mock']);
    expect(needed('tests', {})).toEqual(['ferretdb', 'nats-streaming-server', 'nats-server', 'stripe-mock']);
  });

  test('when the tests run, then Jaeger (the traces test\'s receiver) is built; the local stack never needs it', () => {
    expect(notNeeded('tests', 'jaeger', {})).toBeUndefined();
    expect(notNeeded('all', 'jaeger', {})).toBeUndefined();
    expect(notNeeded('stack', 'jaeger', {})).toBe('the local stack sends no traces (the tests run Jaeger)');
  });

  test('when MONGO_URI and NATS_URL point elsewhere, then the local stack needs no server and no Go', () => {
    const run = install(['--needed'], { MONGO_URI: elsewhere.MONGO_URI, NATS_URL: elsewhere.NATS_URL });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    for (const name of ['ferretdb', 'nats-streaming-server', 'nats-server', 'stripe-mock']) expect(run.stdout).toContain(`${name} not needed`);
  });

  test('when the tests run with all three elsewhere, then stripe-mock is skipped and only the servers outage tests stop themselves are kept', () => {
    const run = install(['--for-tests'], elsewhere);
    expect(run.stdout).toContain('stripe-mock not needed (STRIPE_MOCK_URL is set)');
    expect(run.stdout).not.toContain('ferretdb not needed');
    expect(run.stdout).not.toContain('nats-streaming-server not needed');
  });

  test('when the local stack is built on a fresh machine without Go, then it fails naming the Go version and only the servers the stack runs', () => {
    const stan = installIntoEmpty(['--needed'], {});
    expect(stan.status).toBe(1);
    expect(stan.stderr).toMatch(/Go 1\.\d+ or later is required to build ferretdb, nats-streaming-server \(go not found on PATH\)/);
    const jetstream = installIntoEmpty(['--needed'], { EVENT_BUS: 'jetstream', MONGO_URI: elsewhere.MONGO_URI });
    expect(jetstream.status).toBe(1);
    expect(jetstream.stderr).toMatch(/Go 1\.\d+ or later is required to build nats-server \(go not found on PATH\)/);
  });

  test('when a needed server is missing and Go is not installed, then it fails naming the Go version to install', () => {
    const run = installIntoEmpty([], {});
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/Go 1\.\d+ or later is required/);
  });
});

describe('PostgreSQL for FerretDB\'s PostgreSQL backend', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ensurePostgres, findPostgresBinDir, defaultBackend } = require('../scripts/postgres-bin');
  let root: string;
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-pgbin-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  function version(name: string, programs = ['initdb', 'postgres', 'pg_ctl']) {
    const bin = path.join(root, name, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    for (const program of programs) fs.writeFileSync(path.join(bin, program), '#!/bin/sh\n', { mode: 0o755 });
    return bin;
  }
  const noPgConfig = '/nonexistent/pg_config';

  test('when several versions are installed, then the newest complete one is found, whatever its number', () => {
    version('13');
    const sixteen = version('16');
    version('17', ['initdb', 'postgres']); // no pg_ctl: a half-removed version
    expect(findPostgresBinDir({ env: {}, root, pgConfig: noPgConfig })).toBe(sixteen);
  });

  test('when there is no Debian layout, then pg_config --bindir is asked; when nothing is there, then none is found', () => {
    const elsewhere = version('elsewhere');
    const pgConfig = path.join(root, 'pg_config');
    fs.writeFileSync(pgConfig, `#!/bin/sh\necho ${elsewhere}\n`, { mode: 0o755 });
    expect(findPostgresBinDir({ env: {}, root: path.join(root, 'none'), pgConfig })).toBe(elsewhere);
    expect(findPostgresBinDir({ env: {}, root: path.join(root, 'none'), pgConfig: noPgConfig })).toBeUndefined();
  });

  test('when PG_BIN_DIR is set, then it is used, and only when it holds the programs', () => {
    const own = version('own');
    version('15');
    expect(findPostgresBinDir({ env: { PG_BIN_DIR: own }, root, pgConfig: noPgConfig })).toBe(own);
    expect(findPostgresBinDir({ env: { PG_BIN_DIR: path.join(root, 'empty') }, root, pgConfig: noPgConfig })).toBeUndefined();
  });

  test('when the programs are missing and we are root, then Debian\'s postgresql is installed with apt-get update and a noninteractive install', () => {
    const calls: string[][] = [];
    let installed = false;
    const find = () => (installed ? '/usr/lib/postgresql/15/bin' : undefined);
    const run = (file: string, args: string[]) => {
      calls.push([file, ...args]);
      if (args[0] === 'install') installed = true;
    };
    expect(ensurePostgres({ find, isRoot: true, run, log: () => {} })).toBe('/usr/lib/postgresql/15/bin');
    expect(calls).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', '--no-install-recommends', 'postgresql'],
    ]);
  });

  test('when the programs are missing and we are not root, then it installs nothing and says what to install', () => {
    const run = jest.fn();
    expect(() => ensurePostgres({ find: () => undefined, isRoot: false, run, log: () => {} })).toThrow(/apt-get install postgresql.*FERRETDB_BACKEND=sqlite/);
    expect(run).not.toHaveBeenCalled();
  });

  test('when they are there, then nothing is installed; FERRETDB_BACKEND picks the backend, PostgreSQL by default', () => {
    const run = jest.fn();
    expect(ensurePostgres({ find: () => '/x/bin', isRoot: true, run })).toBe('/x/bin');
    expect(run).not.toHaveBeenCalled();
    expect(defaultBackend({})).toBe('postgresql');
    expect(defaultBackend({ FERRETDB_BACKEND: 'sqlite' })).toBe('sqlite');
    expect(() => defaultBackend({ FERRETDB_BACKEND: 'mysql' })).toThrow(/postgresql or sqlite/);
  });
});

describe("Prometheus's programs for the alert rules' tests, from Debian's package when missing", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ensurePrometheus, findPrometheusBinDir } = require('../scripts/prometheus-bin');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { needsPrometheus } = require('../scripts/install-servers') as { needsPrometheus: (mode: string) => boolean };
  const root = mkdtempSync(path.join(tmpdir(), 'payments-prom-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const folder = (name: string, programs: string[]) => {
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    for (const program of programs) writeFileSync(path.join(dir, program), '#!/bin/sh\n', { mode: 0o755 });
    return dir;
  };

  test('when the tests or a full install run, then Prometheus is needed; the local stack does not need it', () => {
    expect(needsPrometheus('tests')).toBe(true);
    expect(needsPrometheus('all')).toBe(true);
    expect(needsPrometheus('stack')).toBe(false);
  });

  test('when PATH has a folder with both programs, then it is found; one with promtool alone is not', () => {
    const half = folder('half', ['promtool']);
    const both = folder('both', ['prometheus', 'promtool']);
    expect(findPrometheusBinDir({ env: { PATH: [half, both].join(path.delimiter) } })).toBe(both);
    expect(findPrometheusBinDir({ env: { PATH: half } })).toBeUndefined();
    expect(findPrometheusBinDir({ env: { PATH: half, PROMETHEUS_BIN_DIR: both } })).toBe(both);
    expect(findPrometheusBinDir({ env: { PATH: both, PROMETHEUS_BIN_DIR: half } })).toBeUndefined();
  });

  test("when the programs are missing and we are root, then Debian's prometheus is installed with apt-get update and a noninteractive install", () => {
    const calls: string[][] = [];
    let installed = false;
    const run = (file: string, args: string[]) => {
      calls.push([file, ...args]);
      if (args[0] === 'install') installed = true;
    };
    expect(ensurePrometheus({ find: () => (installed ? '/usr/bin' : undefined), isRoot: true, run, log: () => {} })).toBe('/usr/bin');
    expect(calls).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', '--no-install-recommends', 'prometheus'],
    ]);
  });

  test('when the programs are missing and we are not root, then it installs nothing and says what to install; when they are there, nothing is installed', () => {
    const run = jest.fn();
    expect(() => ensurePrometheus({ find: () => undefined, isRoot: false, run, log: () => {} })).toThrow(/apt-get install prometheus.*PROMETHEUS_BIN_DIR/);
    expect(ensurePrometheus({ find: () => '/x/bin', isRoot: true, run })).toBe('/x/bin');
    expect(run).not.toHaveBeenCalled();
  });
});
