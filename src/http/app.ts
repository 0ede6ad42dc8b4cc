import cookieSession from 'cookie-session';
import express, { Express } from 'express';
import { AppError } from '../errors';
import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { OrderPayments } from '../payments/pay-order';
import { errorHandler } from './error-handler';
import { healthRouter, ReadinessCheck } from './health';
import { paymentsRouter } from './payments-route';
import { requestDeadline } from './request-deadline';
import { requestLog } from './request-log';

export interface AppDependencies {
  jwtKey: string;
  payments: OrderPayments;
  logger: Logger;
  readiness: ReadinessCheck;
  metrics: Metrics;
  /** Every request is answered within this (503 when the work behind it has not finished). */
  deadlineMs: number;
}

export function createApp({ jwtKey, payments, logger, readiness, metrics, deadlineMs }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.use(requestLog(logger, metrics, ['/api/payments']));
  app.use(requestDeadline(deadlineMs));
  app.use(healthRouter(readiness, metrics.registry));
  app.use(express.json({ limit: '10kb' }));
  // The auth service writes the cookie; this service only reads it.
  app.use(cookieSession({ name: 'session', signed: false }));
  app.use(paymentsRouter(payments, jwtKey));
  app.all('/{*splat}', (_req, _res, next) => next(new AppError(404, 'Not found')));
  app.use(errorHandler(logger));
  return app;
}
