import pino, { Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Card tokens, cookies, JWTs and keys are never passed to
 * the logger on purpose; the redaction list is the safety net should one slip in.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'payments' },
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
