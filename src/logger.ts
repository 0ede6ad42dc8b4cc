import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { Logger } from 'pino';
import { activeTraceIds } from './tracing';

export type { Logger };

/** What every log line caused by one request or one event carries: requestId, orderId, userId, subject… (and traceId, spanId when traced). */
export type LogContext = Record<string, string | number | boolean | undefined>;

const context = new AsyncLocalStorage<LogContext>();

/**
 * Runs `fn` so that every line it logs, however deep and however much later, carries
 * `fields` (and those of the context around it). `fields` itself becomes the context:
 * the caller sees what addLogContext adds to it.
 */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return context.run(Object.assign(fields, { ...context.getStore(), ...fields }), fn);
}

/** Adds fields to the current request's or event's context (e.g. the order id once the body is read). */
export function addLogContext(fields: LogContext): void {
  const store = context.getStore();
  if (store) Object.assign(store, fields);
}

/**
 * Structured JSON logs. Card tokens, cookies, JWTs and keys are never passed to
 * the logger on purpose; the redaction list is the safety net should one slip in.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'payments' },
      // The context's fields, except those a child logger already binds (no key twice on a line),
      // and the active span's traceId and spanId (src/tracing.ts; none when tracing is off).
      mixin(_fields, _level, logger) {
        const store = context.getStore();
        const ids = activeTraceIds();
        if (!store) return ids ?? {};
        const bound = logger.bindings();
        const fields = Object.fromEntries(Object.entries(store).filter(([key, value]) => value !== undefined && !(key in bound)));
        return ids ? { ...fields, ...ids } : fields;
      },
      redact: {
        paths: [
          'token',
          '*.token',
          'jwt',
          '*.jwt',
          'cookie',
          '*.cookie',
          'headers.cookie',
          '*.headers.cookie',
          'headers.authorization',
          '*.headers.authorization',
          'stripeKey',
          '*.stripeKey',
          'jwtKey',
          '*.jwtKey',
          'clientSecret',
          '*.clientSecret',
          'key',
          '*.key',
          'secret',
          '*.secret',
          'password',
          '*.password',
          'webhookSecret',
          '*.webhookSecret',
          'headers["stripe-signature"]',
          '*.headers["stripe-signature"]',
        ],
        censor: '[redacted]',
      },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}
