/**
 * Test-only switch for the resilience suite: kills the process at a named step
 * of a payment, as a crash or `kill -9` would. Off unless PAYMENTS_TEST_CRASH_AT
 * names a point; production never sets it.
 */
export const CRASH_POINTS = ['after-claim', 'after-charge', 'after-record', 'after-publish', 'after-refund-owed', 'after-refund'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];
export type CrashSwitch = (point: CrashPoint) => void;

export function crashSwitch(target?: CrashPoint): CrashSwitch {
  if (!target) return () => {};
  return (point) => {
    if (point === target) process.kill(process.pid, 'SIGKILL');
  };
}
