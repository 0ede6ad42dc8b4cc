import { Logger } from '../logger';
import { inSpan, ROOT_CONTEXT, SWEEP_ATTRIBUTE } from '../tracing';

/** One piece of background work the timer runs in turn; a failure is logged and the next one runs. */
export interface SweepStep {
  name: string;
  run(): Promise<void>;
  /** Runs at most this often, in ms, when less often than every sweep (Stripe's events list). */
  everyMs?: number;
}

export interface Sweeps {
  /** Stops the timer and waits for the sweep in progress. */
  stop(): Promise<void>;
}

/**
 * The timer behind everything nobody asked for: recovery of unanswered Stripe
 * calls, the outbox relay, dead-letter retries. Runs the steps in order at once
 * and then every `intervalMs` (milliseconds); a tick that finds the last sweep
 * still running is skipped. Each step runs in a span `sweep <name>`, the root of a
 * trace of its own.
 */
export function startSweeps(steps: SweepStep[], intervalMs: number, logger: Logger): Sweeps {
  let sweeping: Promise<void> | undefined;
  const lastRun = new Map<SweepStep, number>();
  const sweep = () => {
    if (sweeping) return;
    sweeping = (async () => {
      for (const step of steps) {
        if (step.everyMs && Date.now() - (lastRun.get(step) ?? -Infinity) < step.everyMs) continue;
        lastRun.set(step, Date.now());
        // A trace of its own per step (kept only when it found work: tracing-sdk.ts).
        await inSpan(`sweep ${step.name}`, { parent: ROOT_CONTEXT, attributes: { [SWEEP_ATTRIBUTE]: step.name } }, () => step.run()).catch((err) =>
          logger.warn({ err, step: step.name }, `${step.name} sweep failed`),
        );
      }
    })().finally(() => {
      sweeping = undefined;
    });
  };
  sweep();
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await sweeping;
    },
  };
}
