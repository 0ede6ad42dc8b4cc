import { AppError } from '../errors';

/** Currencies Stripe charges in whole units (no cents). */
const ZERO_DECIMAL = new Set([
  'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf',
]);

/** Stripe's minimum charge in minor units, where it differs from 50. */
const MINIMUM: Record<string, number> = {
  gbp: 30, dkk: 250, hkd: 400, mxn: 1000, myr: 200, nok: 300, pln: 200, ron: 200, sek: 300, thb: 1000, czk: 1500, huf: 17500,
};

/** Stripe's largest amount: eight digits in minor units. */
const MAXIMUM = 99_999_999;

/**
 * An order's price in major units (19.99) as the integer Stripe charges (1999).
 * toPrecision drops the binary noise of the multiplication before rounding.
 */
export function toMinorUnits(price: number, currency: string): number {
  if (!Number.isFinite(price) || price < 0) {
    throw new AppError(400, 'The order has no valid price');
  }
  const factor = ZERO_DECIMAL.has(currency) ? 1 : 100;
  const amount = Math.round(Number((price * factor).toPrecision(15)));
  if (amount < (MINIMUM[currency] ?? 50)) {
    throw new AppError(400, 'The order amount is below the minimum that can be charged');
  }
  if (amount > MAXIMUM) {
    throw new AppError(400, 'The order amount is above the maximum that can be charged');
  }
  return amount;
}
