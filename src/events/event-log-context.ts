import { withLogContext } from '../logger';

/**
 * Runs the handling of one incoming event so that every line it logs (the bus
 * adapter's and the handler's) names the subject and, where the payload has one,
 * the order: `orderId` of payment:* events, `id` of order:* events. Every bus
 * adapter wraps its deliveries in it. `data` is the parsed payload.
 */
export function inEventContext<T>(subject: string, data: unknown, fn: () => T): T {
  const orderId = orderIdOf(subject, data);
  return withLogContext({ subject, ...(orderId ? { orderId } : {}) }, fn);
}

function orderIdOf(subject: string, data: unknown): string | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const { orderId, id } = data as { orderId?: unknown; id?: unknown };
  const found = typeof orderId === 'string' ? orderId : subject.startsWith('order:') && typeof id === 'string' ? id : undefined;
  // Only what looks like an id reaches the logs, whatever a malformed event carries.
  return found && /^[A-Za-z0-9_-]{1,64}$/.test(found) ? found : undefined;
}
