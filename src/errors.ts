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
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers ?? {};
  }

  /** Response headers that go with the answer, e.g. Retry-After. */
  readonly headers: Record<string, string>;
}
