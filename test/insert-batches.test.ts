import mongoose from 'mongoose';
import { InsertBatches, InsertManyTarget } from '../src/data-access/insert-batches';
import { databaseUri, unique } from './support/harness';

interface Doc {
  _id: string;
  n: number;
}

describe('InsertBatches: the inserts asked for in one turn go as one unordered insertMany', () => {
  let client: mongoose.mongo.MongoClient;
  let collection: mongoose.mongo.Collection<Doc>;
  const inserts: number[] = []; // documents per insert command the server was sent

  beforeAll(async () => {
    client = new mongoose.mongo.MongoClient(databaseUri(unique('insert_batches')), { monitorCommands: true });
    client.on('commandStarted', (event) => {
      if (event.commandName === 'insert') inserts.push((event.command.documents as unknown[]).length);
    });
    await client.connect();
    collection = client.db().collection<Doc>('docs');
  });

  afterAll(async () => {
    await client.db().dropDatabase().catch(() => undefined);
    await client.close();
  });

  beforeEach(() => {
    inserts.length = 0;
  });

  const batches = (maxBatch?: number) => new InsertBatches<Doc>(collection as unknown as InsertManyTarget<Doc>, maxBatch);

  test('when 40 inserts are asked for in one turn, then they are stored in 3 commands of at most 16 and each caller hears inserted', async () => {
    const batcher = batches(16);
    const ids = Array.from({ length: 40 }, (_, i) => unique(`many-${i}`));
    const outcomes = await Promise.all(ids.map((_id, n) => batcher.insert({ _id, n })));
    expect(outcomes).toEqual(ids.map(() => 'inserted'));
    // The three commands may start in any order (each waits for a connection of its own).
    expect([...inserts].sort((a, b) => b - a)).toEqual([16, 16, 8]);
    expect(await collection.countDocuments({ _id: { $in: ids } })).toBe(40);
  });

  test('when some documents of a batch are stored already, then their callers hear duplicate and the rest are stored', async () => {
    const batcher = batches();
    const ids = Array.from({ length: 6 }, (_, i) => unique(`dup-${i}`));
    await collection.insertMany([{ _id: ids[1], n: -1 }, { _id: ids[4], n: -1 }]);
    inserts.length = 0;
    // The same id twice in one batch: the second is the duplicate.
    const outcomes = await Promise.all([...ids.map((_id, n) => batcher.insert({ _id, n })), batcher.insert({ _id: ids[0], n: 99 })]);
    expect(outcomes).toEqual(['inserted', 'duplicate', 'inserted', 'inserted', 'duplicate', 'inserted', 'duplicate']);
    expect(inserts).toEqual([7]);
    const stored = await collection.find({ _id: { $in: ids } }).sort({ _id: 1 }).toArray();
    expect(stored.map((doc) => doc.n)).toEqual([0, -1, 2, 3, -1, 5]);
  });

  test('when inserts are asked for one after another, then each is sent at once in its own command', async () => {
    const batcher = batches();
    for (let n = 0; n < 3; n += 1) expect(await batcher.insert({ _id: unique(`alone-${n}`), n })).toBe('inserted');
    expect(inserts).toEqual([1, 1, 1]);
  });

  test('when the command fails as a whole, then every caller of the batch is rejected with its error and nothing is claimed stored', async () => {
    // Nothing listens on port 1: the command cannot be sent.
    const unreachable = new mongoose.mongo.MongoClient('mongodb://127.0.0.1:1/nowhere', { serverSelectionTimeoutMS: 300 });
    const batcher = new InsertBatches<Doc>(unreachable.db().collection<Doc>('docs') as unknown as InsertManyTarget<Doc>);
    const results = await Promise.allSettled([batcher.insert({ _id: 'a', n: 1 }), batcher.insert({ _id: 'b', n: 2 })]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    const reasons = results.map((result) => (result as PromiseRejectedResult).reason as Error);
    expect(reasons[0]).toBe(reasons[1]);
    expect(reasons[0]).toBeInstanceOf(mongoose.mongo.MongoServerSelectionError);
    await unreachable.close();
  });
});
