import { Config, loadOperatorConfig } from '../config';
import { openCollections } from '../data-access/collections';
import { connectDatabase } from '../data-access/connection';
import { AppError } from '../errors';
import { createLogger } from '../logger';
import { Metrics } from '../metrics';
import { crashSwitch } from '../payments/crash-points';
import { currencyRules } from '../payments/money';
import { Refund } from '../payments/payment';
import { RefundOutcome } from '../payments/payment-provider';
import { createStripe } from '../stripe/client';
import { StripePaymentProvider } from '../stripe/payment-provider';
import { composeUseCases, stripeCallBudget } from '../use-cases';

/** What the operator typed (`npm run payments -- refund`): `amount` in major units of the order's currency, as prices arrive. */
export interface OperatorRefundRequest {
  orderId: string;
  amount?: string;
  reason: string;
  operator: string;
}

/**
 * An operator's refund from the CLI (scripts/payments-cli.js): made with the service's
 * own use case (refund-payment.ts), durable like a cancel's refund: the refund is
 * stored before Stripe is called, so a crash leaves it to the running service's
 * recovery, under the same key. Its `payment:refunded` is relayed by the service's outbox.
 * @throws AppError with the message to print: unknown order, nothing left, an amount above what remains.
 */
export async function refundForOperator(env: Record<string, string | undefined>, request: OperatorRefundRequest): Promise<{ refund: Refund; outcome: RefundOutcome }> {
  const config: Config = loadOperatorConfig(env);
  const logger = createLogger(env.LOG_LEVEL ?? 'warn');
  const connection = await connectDatabase(config.mongoUri, config.requestTimeoutMs);
  try {
    const models = await openCollections(connection, logger);
    const metrics = new Metrics();
    // The operator's refund spends from the service's budget too (as a background call: payments first).
    const budget = stripeCallBudget(connection, config, metrics);
    const stripe = createStripe({ key: config.stripe.key, apiUrl: config.stripe.apiUrl, timeoutMs: config.stripe.timeoutMs, maxNetworkRetries: 1, budget, metrics });
    const { claims, refunds } = composeUseCases({
      connection,
      models,
      provider: new StripePaymentProvider(stripe, budget),
      bus: undefined,
      metrics,
      log: (component) => logger.child({ component }),
      crash: crashSwitch(config.testCrashAt),
      leaseMs: config.stripe.timeoutMs * 2 + 2_000,
      retryBaseMs: 5_000,
      actionTimeoutMs: 15 * 60_000,
    });
    const payment = await claims.findByOrder(request.orderId);
    const amount = request.amount === undefined ? undefined : minorUnits(request.amount, payment?.currency ?? config.stripe.currency);
    return await refunds.refundByOperator({ orderId: request.orderId, amount, reason: request.reason, operator: request.operator });
  } finally {
    await connection.close();
  }
}

/** `15.00` USD is 1500, `1500` JPY is 1500, `5.120` KWD is 5120; more decimals than the currency has are refused, not rounded. */
function minorUnits(amount: string, currency: string): number {
  const { exponent } = currencyRules(currency);
  const match = /^(\d+)(?:\.(\d+))?$/.exec(amount.trim());
  if (!match || (match[2] ?? '').length > exponent) {
    throw new AppError(400, `--amount must be a positive amount in ${currency.toUpperCase()} with at most ${exponent} decimals, as prices are given (e.g. ${exponent ? `15.${'0'.repeat(exponent)}` : '1500'})`, 'amount');
  }
  return Number(match[1]) * 10 ** exponent + Number((match[2] ?? '').padEnd(exponent, '0') || 0);
}
