/**
 * The wait before try `attempt` (1 is the first retry) when each wait doubles:
 * `baseMs`, 2 × `baseMs`, 4 × … up to `maxMs`. Milliseconds.
 */
export function doublingDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), maxMs);
}

/** Resolves after `ms` milliseconds without keeping the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Runs `attempt` until it resolves or `stopped()` says to give up, waiting
 * between failures as doublingDelayMs does from `firstMs` to `maxMs`; `onFailure`
 * hears each error with the wait that follows it.
 */
export async function retryUntilDone(
  attempt: () => Promise<void>,
  { firstMs, maxMs, stopped, onFailure }: { firstMs: number; maxMs: number; stopped: () => boolean; onFailure: (err: unknown, retryInMs: number) => void },
): Promise<void> {
  for (let failures = 1; !stopped(); failures += 1) {
    try {
      return await attempt();
    } catch (err) {
      const retryInMs = doublingDelayMs(failures, firstMs, maxMs);
      onFailure(err, retryInMs);
      await delay(retryInMs);
    }
  }
}
