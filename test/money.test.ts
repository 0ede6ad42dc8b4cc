import { toMinorUnits } from '../src/payments/money';

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
    [0.3, 'gbp', 30],
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
  ])('when the price is %p %s, then it is refused with 400', (price, currency) => {
    expect(() => toMinorUnits(price, currency)).toThrow(expect.objectContaining({ status: 400 }));
  });
});
