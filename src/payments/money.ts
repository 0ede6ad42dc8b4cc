import * as iso4217 from 'currency-codes';
import { AppError } from '../errors';

/**
 * How Stripe counts an amount in one currency (Stripe, "Supported currencies",
 * docs.stripe.com/currencies): `exponent` decimals in the integer minor units
 * the API takes, amounts a multiple of `step`, between `minimum` and `maximum`.
 */
export interface CurrencyRules {
  /** Lowercase ISO 4217 code, as Stripe takes it. */
  currency: string;
  /** Decimals in Stripe's minor unit: 19.99 USD is 1999 (2), 500 JPY is 500 (0), 18.6 KWD is 18600 (3). */
  exponent: number;
  /** Amounts must be a multiple of this, in minor units: 10 for three-decimal currencies, 100 for ISK, else 1. */
  step: number;
  /** Smallest amount Stripe charges, in minor units, where Stripe documents one for the currency, else one step. */
  minimum: number;
  /** Largest amount Stripe charges, in minor units: eight digits. */
  maximum: number;
}

/**
 * Where Stripe differs from ISO 4217 (ISO's exponents come from the maintained
 * `currency-codes` package). From Stripe's "Supported currencies":
 * - zero-decimal currencies: Stripe lists MGA among them, ISO 4217 gives it 2;
 * - special cases: ISK stays two-decimal in Stripe's API (100 is 1 króna) but
 *   only whole krónur are accepted (amounts divisible by 100); ISO gives it 0;
 * - three-decimal currencies: Stripe charges BHD, JOD, KWD, OMR and TND only, and
 *   requires the last digit to be 0 ("round amounts to the nearest ten").
 * HUF and TWD are zero-decimal for Stripe payouts only: charges are two-decimal, as ISO says.
 */
const STRIPE_EXPONENT: Record<string, { exponent: number; step?: number }> = {
  mga: { exponent: 0 },
  isk: { exponent: 2, step: 100 },
};
const STRIPE_THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);
const THREE_DECIMAL_STEP = 10;

/** ISO 4217 codes that are not money a card is charged in: precious metals, fund and accounting units, test codes. */
const NOT_CHARGEABLE = new Set([
  'xag', 'xau', 'xpd', 'xpt', 'xba', 'xbb', 'xbc', 'xbd', 'xdr', 'xsu', 'xua', 'xts', 'xxx',
  'bov', 'che', 'chw', 'clf', 'cou', 'mxv', 'usn', 'uyi', 'uyw',
]);

/**
 * Stripe's documented minimum charge amounts, in minor units (Stripe, "Minimum
 * and maximum charge amounts"). Stripe documents no fixed minimum for other
 * currencies (it is the equivalent of 0.50 USD at the day's rate), so for those
 * only Stripe can refuse an amount as too small.
 */
const STRIPE_MINIMUM: Record<string, number> = {
  usd: 50, aed: 200, aud: 50, bgn: 100, brl: 50, cad: 50, chf: 50, czk: 1500, dkk: 250, eur: 50, gbp: 30,
  hkd: 400, huf: 17500, inr: 50, jpy: 50, mxn: 1000, myr: 200, nok: 300, nzd: 50, pln: 200, ron: 200, sek: 300,
  sgd: 50, thb: 1000,
};

/** "The amount value supports up to eight digits" (Stripe, "Minimum and maximum charge amounts"). */
const STRIPE_MAXIMUM = 99_999_999;

/** Thrown for a currency Stripe cannot charge in; the message says why. */
export class UnsupportedCurrency extends Error {
  override name = 'UnsupportedCurrency';
}

/**
 * Stripe's rules for charging in `currency` (any case).
 * @throws UnsupportedCurrency when it is not an ISO 4217 currency or Stripe does not charge in it.
 */
export function currencyRules(currency: string): CurrencyRules {
  const code = currency.toLowerCase();
  const iso = iso4217.code(code.toUpperCase());
  if (!iso) throw new UnsupportedCurrency(`${currency} is not an ISO 4217 currency code`);
  if (NOT_CHARGEABLE.has(code)) throw new UnsupportedCurrency(`${currency.toUpperCase()} is not a currency cards are charged in`);
  if (iso.digits === 3 && !STRIPE_THREE_DECIMAL.has(code)) {
    throw new UnsupportedCurrency(`Stripe charges no three-decimal currency but ${[...STRIPE_THREE_DECIMAL].join(', ').toUpperCase()}`);
  }
  if (iso.digits > 3) throw new UnsupportedCurrency(`${currency.toUpperCase()} has ${iso.digits} decimals; Stripe does not charge in it`);
  const override = STRIPE_EXPONENT[code];
  const exponent = override?.exponent ?? iso.digits;
  const step = override?.step ?? (exponent === 3 ? THREE_DECIMAL_STEP : 1);
  return { currency: code, exponent, step, minimum: STRIPE_MINIMUM[code] ?? step, maximum: STRIPE_MAXIMUM };
}

/**
 * An order's price in major units (19.99, as the orders service sends it) as the
 * integer amount Stripe charges in `currency` (1999 for USD), rounded half up to
 * the currency's step (5.124 KWD is 5120; a fraction of a yen or a króna is rounded away).
 * @throws AppError 400 when the price is not a finite non-negative number, or the
 *   amount is below Stripe's minimum or above its maximum for the currency.
 * @throws UnsupportedCurrency for a currency Stripe cannot charge in (config rejects those at start).
 */
export function toMinorUnits(price: number, currency: string): number {
  if (!Number.isFinite(price) || price < 0) {
    throw new AppError(400, 'The order has no valid price');
  }
  const rules = currencyRules(currency);
  // toPrecision drops the binary noise of the multiplication (19.99 * 100 = 1998.9999999999998).
  const exact = Number((price * 10 ** rules.exponent).toPrecision(15));
  const amount = Math.round(exact / rules.step) * rules.step;
  if (amount < rules.minimum) {
    throw new AppError(400, `The order amount is below the minimum Stripe charges in ${rules.currency.toUpperCase()}`);
  }
  if (amount > rules.maximum) {
    throw new AppError(400, `The order amount is above the maximum Stripe charges in ${rules.currency.toUpperCase()}`);
  }
  return amount;
}
