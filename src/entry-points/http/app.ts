import cookieSession from 'cookie-session';
import express, { Express } from 'express';
import { AppError } from '../../errors';
import { Logger } from '../../logger';
import { Metrics } from '../../metrics';
import { OrderPayments } from '../../payments/pay-order';
import { PaymentReads } from '../../payments/read-payment';
import { errorHandler } from './error-handler';
import { healthRouter, ReadinessCheck } from './health';
import { paymentReadsRouter } from './payment-reads-route';
import { paymentsRouter } from './payments-route';
import { requestDeadline } from './request-deadline';
import { WebhookHandling, webhooksRouter } from './webhooks-route';
import { requestLog } from './request-log';
import { requestSpan } from './request-span';

export interface AppDependencies {
  jwtKey: string;
  payments: OrderPayments;
  reads: PaymentReads;
  /** Absent without STRIPE_WEBHOOK_SECRET: the webhook endpoint then answers 503. */
  webhooks?: WebhookHandling;
  logger: Logger;
  readiness: ReadinessCheck;
  metrics: Metrics;
  /** Every request is answered within this (503 when the work behind it has not finished). */
  deadlineMs: number;
}

export function createApp({ jwtKey, payments, reads, webhooks, logger, readiness, metrics, deadlineMs }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.use(requestSpan());
  app.use(requestLog(logger, metrics, ['/api/payments']));
  app.use(requestDeadline(deadlineMs));
  app.use(healthRouter(readiness, metrics.registry));
  // Before the JSON parser: Stripe signs the raw body.
  app.use(webhooksRouter(webhooks));
  app.use(express.json({ limit: '10kb' }));
  // The auth service writes the cookie; this service only reads it.
  app.use(cookieSession({ name: 'session', signed: false }));
  app.use(paymentsRouter(payments, jwtKey));
  app.use(paymentReadsRouter(reads, jwtKey));
  app.all('/{*splat}', (_req, _res, next) => next(new AppError(404, 'Not found')));
  app.use(errorHandler(logger));
  return app;
}
