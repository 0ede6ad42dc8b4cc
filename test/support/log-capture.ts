import { Writable } from 'node:stream';
import { createLogger, Logger } from '../../src/logger';

/** A real pino logger whose JSON lines the test can read back. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger;

  constructor(level = 'debug') {
    const sink = new Writable({
      write: (chunk, _encoding, done) => {
        this.lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    this.logger = createLogger(level, sink);
  }

  entries(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  find(match: Record<string, unknown>): Array<Record<string, unknown>> {
    return this.entries().filter((entry) => Object.entries(match).every(([key, value]) => entry[key] === value));
  }
}
