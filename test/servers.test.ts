import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const servers = path.join(__dirname, '..', 'scripts', 'servers.js');

/** Starts nats-server with JetStream in a process of its own (as a test file's worker does), which then exits. */
function startAndExit(env: Record<string, string>): { dirs: string[]; stderr: string } {
  const run = spawnSync(process.execPath, ['-e', `
    const { startNatsServer } = require(${JSON.stringify(servers)});
    (async () => {
      const dirs = [];
      for (const options of [{}, { store: 'memory' }, { store: 'file' }]) {
        const server = await startNatsServer(options);
        dirs.push(server.dir);
        await server.stop();
      }
      console.log(JSON.stringify(dirs));
      process.exit(0);
    })().catch((err) => { console.error(err); process.exit(1); });
  `], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  return { dirs: JSON.parse(run.stdout) as string[], stderr: run.stderr };
}

describe("JetStream's store folders", () => {
  let temp: string;
  let scratch: string;
  beforeEach(() => {
    temp = mkdtempSync(path.join(tmpdir(), 'payments-tmpdir-'));
    scratch = mkdtempSync(path.join(tmpdir(), 'payments-scratch-'));
  });
  afterEach(() => {
    rmSync(temp, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  test('when a test run gives its scratch folder, then nats-server keeps its store there and leaves nothing in the temp folder', () => {
    const { dirs } = startAndExit({ TMPDIR: temp, PAYMENTS_SCRATCH_DIR: scratch });
    for (const dir of dirs) expect(path.dirname(dir)).toBe(scratch);
    expect(readdirSync(temp)).toEqual([]);
  });

  test('when there is no scratch folder, then the store folders made in the temp folder are removed when the process exits', () => {
    startAndExit({ TMPDIR: temp });
    expect(readdirSync(temp)).toEqual([]);
  });
});
