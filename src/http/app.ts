import cookieSession from 'cookie-session';
import express, { Express } from 'express';
import { AppError } from '../errors';
import { Logger } from '../logger';
import { Metrics } from '../metrics';
import { OrderPayments } from '../payments/pay-order';
import { PaymentReads } from '../payments/payment-reads';
import { errorHandler } from './error-handler';
import { healthRouter, ReadinessCheck } from './health';
import { paymentReadsRouter } from './payment-reads-route';
import { paymentsRouter } from './payments-route';
import { requestLog } from './request-log';

export interface AppDependencies {
  jwtKey: string;
  payments: OrderPayments;
  reads: PaymentReads;
  logger: Logger;
  readiness: ReadinessCheck;
  metrics: Metrics;
}

export function createApp({ jwtKey, payments, reads, logger, readiness, metrics }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.use(requestLog(logger, metrics));
  app.use(healthRouter(readiness, metrics.registry));
  app.use(express.json({ limit: '10kb' }));
  // The auth service writes the cookie; this service only reads it.
  app.use(cookieSession({ name: 'session', signed: false }));
  app.use(paymentsRouter(payments, jwtKey));
  app.use(paymentReadsRouter(reads, jwtKey));
  app.all('/{*splat}', (_req, _res, next) => next(new AppError(404, 'Not found')));
  app.use(errorHandler(logger));
  return app;
}
