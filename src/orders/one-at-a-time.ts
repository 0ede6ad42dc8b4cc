/**
 * Runs the tasks given for one key one after another, in the order they were
 * given, and tasks for different keys side by side. A task runs whether the one
 * before it resolved or rejected; each caller gets its own task's outcome.
 *
 * The order replica runs every write of one order through it, so this process
 * never has two writes to the same order in flight. MongoDB makes each write
 * atomic anyway; FerretDB does not (docs/ferretdb.md, Atomicity under concurrency): two
 * concurrent updates of one document both read it, and the later write, computed
 * from a stale read, undoes the other (a cancel at version 3 lost to one at
 * version 2, seen in test/order-replication.test.ts under load). Memory: one
 * entry per key with a task in flight, removed when its last task ends.
 */
export class OneAtATime {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key);
    const result = before ? before.then(task, task) : task();
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task in flight (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
