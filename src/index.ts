import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { startService } from './service';
import { Tracing, TRACING_OFF } from './tracing';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`payments: ${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled rejection');
  });

  // Before anything makes a span; the SDK is not even loaded when traces are off.
  const tracing: Tracing = config.tracing
    ? (await import('./tracing-sdk')).startTracing(config.tracing, (err) => logger.warn({ err }, 'sending the last spans failed'))
    : TRACING_OFF;
  if (tracing.enabled) logger.info({ endpoint: config.tracing?.endpoint.origin, serviceName: config.tracing?.serviceName }, 'traces are sent over OTLP');

  const service = await startService(config, { logger });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const bound = setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, 15_000);
    bound.unref();
    // The spans of the last requests are sent once they have ended.
    service.stop().then(
      () => tracing.shutdown().then(() => process.exit(0)),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  const hint = (err as { code?: unknown })?.code === 'EADDRINUSE' ? ' (another process has this port: set PORT to a free one)' : '';
  process.stderr.write(`payments: failed to start: ${err instanceof Error ? err.message : String(err)}${hint}\n`);
  process.exit(1);
});
