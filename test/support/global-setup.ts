import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFerretDB, startStripeMock } from '../../scripts/servers';

/**
 * Starts one FerretDB and one stripe-mock for the whole run (each test file uses
 * its own database). MONGO_URI points the tests at another MongoDB instead, e.g.
 * a `mongo` container; MONGOMS_SYSTEM_BINARY or a working download uses
 * mongodb-memory-server.
 */
export default async function globalSetup(): Promise<void> {
  const stops: Array<() => Promise<void>> = [];
  // Every server a test starts keeps its data in here (see scripts/servers.js), removed at the end.
  const scratch = mkdtempSync(path.join(tmpdir(), 'payments-test-run-'));
  process.env.PAYMENTS_SCRATCH_DIR = scratch;
  if (!process.env.MONGO_URI) {
    if (process.env.MONGOMS_SYSTEM_BINARY || process.env.USE_MONGODB_MEMORY_SERVER) {
      const { MongoMemoryServer } = await import('mongodb-memory-server');
      const mongo = await MongoMemoryServer.create();
      process.env.MONGO_URI = mongo.getUri();
      stops.push(async () => void (await mongo.stop()));
    } else {
      const ferret = await startFerretDB();
      process.env.MONGO_URI = ferret.uri;
      stops.push(() => ferret.stop());
    }
    console.log(`\ntest database: ${process.env.MONGO_URI}`);
  }
  if (!process.env.STRIPE_MOCK_URL) {
    const stripeMock = await startStripeMock();
    process.env.STRIPE_MOCK_URL = stripeMock.url;
    stops.push(() => stripeMock.stop());
    console.log(`stripe-mock: ${stripeMock.url}`);
  }
  (globalThis as { __stopServers?: () => Promise<void> }).__stopServers = async () => {
    await Promise.all(stops.map((stop) => stop()));
    rmSync(scratch, { recursive: true, force: true });
  };
}
