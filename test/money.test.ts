import { currencyRules, toMinorUnits } from '../src/payments/money';

describe('order prices in minor units', () => {
  test.each([
    [19.99, 'usd', 1999],
    [0.57, 'usd', 57],
    [4.35, 'usd', 435],
    [1.1, 'usd', 110],
    [20, 'usd', 2000],
    [0.5, 'usd', 50],
    [999_999.99, 'usd', 99_999_999],
    [500, 'jpy', 500],
    [500.4, 'jpy', 500],
    [0.3, 'gbp', 30],
    // Three-decimal currencies: x1000, and Stripe wants the last digit 0 (the examples).
    [18.6, 'kwd', 18_600],
    [5.124, 'kwd', 5_120],
    [5.125, 'kwd', 5_130],
    [1.005, 'bhd', 1_010],
    // Stripe's special cases: MGA is zero-decimal (ISO says 2); ISK is two-decimal in whole krónur (ISO says 0).
    [1500, 'mga', 1500],
    [40, 'isk', 4000],
    [40.1, 'isk', 4000],
    [40.6, 'isk', 4100],
    // HUF and TWD are two-decimal for charges (zero-decimal only for payouts).
    [175, 'huf', 17_500],
    [30.5, 'twd', 3050],
  ])('when the price is %p %s, then Stripe is asked for %p', (price, currency, amount) => {
    expect(toMinorUnits(price, currency)).toBe(amount);
  });

  test.each([
    [0.49, 'usd'],
    [0, 'usd'],
    [-1, 'usd'],
    [Number.NaN, 'usd'],
    [Number.POSITIVE_INFINITY, 'usd'],
    [1_000_000, 'usd'],
    [49, 'jpy'],
    [0.29, 'gbp'],
    [174.99, 'huf'],
    [0.004, 'kwd'],
    [100_000, 'kwd'],
  ])('when the price is %p %s, then it is refused with 400', (price, currency) => {
    expect(() => toMinorUnits(price, currency)).toThrow(expect.objectContaining({ status: 400 }));
  });

  test.each(['iqd', 'lyd', 'xau', 'xts', 'clf', 'abc'])('when the currency is %s, then Stripe cannot charge in it', (currency) => {
    expect(() => currencyRules(currency)).toThrow(/currency|Stripe/);
  });

  test('every amount is an integer multiple of its step', () => {
    for (const currency of ['usd', 'jpy', 'kwd', 'isk', 'mga']) {
      const rules = currencyRules(currency);
      for (let cents = 0; cents < 2000; cents += 7) {
        const price = 100 + cents / 1000;
        const amount = toMinorUnits(price, currency);
        expect(Number.isInteger(amount)).toBe(true);
        expect(amount % rules.step).toBe(0);
      }
    }
  });
});
