/**
 * An expected failure with the HTTP status it answers with. Anything else that
 * reaches the error handler is a bug or an outage and answers a generic 500.
 */
export class AppError extends Error {
  override name = 'AppError';

  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
