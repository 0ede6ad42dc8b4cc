import { OneAtATime } from '../src/orders/one-at-a-time';

/** A task that records when it starts and ends, and waits until released. */
function gate(name: string, trace: string[]) {
  let release!: (value: string) => void;
  let fail!: (err: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  const task = async () => {
    trace.push(`start ${name}`);
    try {
      return await done;
    } finally {
      trace.push(`end ${name}`);
    }
  };
  return { task, release: () => release(name), fail: () => fail(new Error(name)) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('OneAtATime: the tasks of one key run one after another, other keys side by side', () => {
  test('when three tasks are given for one key and one for another, then the first key runs them in order and the other at once', async () => {
    const trace: string[] = [];
    const serial = new OneAtATime();
    const [a1, a2, a3, b1] = ['a1', 'a2', 'a3', 'b1'].map((name) => gate(name, trace));
    const results = [serial.run('a', a1.task), serial.run('a', a2.task), serial.run('a', a3.task), serial.run('b', b1.task)];
    await tick();
    expect(trace).toEqual(['start a1', 'start b1']);
    a1.fail(); // a failure does not stop the key's next task
    await tick();
    expect(trace).toEqual(['start a1', 'start b1', 'end a1', 'start a2']);
    a2.release();
    await tick();
    a3.release();
    b1.release();
    const settled = await Promise.allSettled(results);
    expect(settled.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a1', 'a2', 'a3', 'b1']);
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(trace.filter((t) => t.endsWith('a2') || t.endsWith('a3'))).toEqual(['start a2', 'end a2', 'start a3', 'end a3']);
  });

  test('when a key has nothing in flight, then its task starts in the same turn and the key is forgotten once it ends', async () => {
    const serial = new OneAtATime();
    let started = false;
    const run = serial.run('k', async () => {
      started = true;
    });
    expect(started).toBe(true); // the order replica's batched inserts rely on it
    await run;
    await tick();
    expect(serial.size).toBe(0);
  });
});
