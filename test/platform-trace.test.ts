import fs from 'node:fs';
import path from 'node:path';
import { eventually, sleep } from './support/eventually';
import { sessionCookie } from './support/harness';
import { PaymentsFixture } from './support/payments-fixture';

/**
 * The platform's own trace (shared/platform/captured-events.jsonl, copied to
 * test/fixtures/): every order:* line the real orders and expiration services
 * published, replayed into this service in their order, with a payment wherever
 * the trace shows one (its payment:created lines). What each order must end as
 * (CONTRACT.md, Additions 2026-12-05): with an order:cancelled line, cancelled
 * and unpayable, refunded once if it was paid first; else payable at its price.
 */
interface TraceLine {
  subject: string;
  data: { id: string; orderId?: string; version: number; userId?: string; ticket?: { price: number } };
}

const trace: TraceLine[] = fs
  .readFileSync(path.join(__dirname, 'fixtures/platform-trace.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as TraceLine);

const fx = new PaymentsFixture();
beforeAll(() => fx.start({ stripe: 'fake' }));
afterAll(() => fx.stop());

const stored = (id: string) => fx.orderModel.findById(id).lean();

test('when the trace of the real platform is replayed, then each order ends as the platform expects', async () => {
  const orders = new Map<string, { userId: string; price: number; cancelled: boolean; paid: boolean }>();
  for (const { subject, data } of trace) {
    if (subject === 'order:created') {
      orders.set(data.id, { userId: data.userId!, price: data.ticket!.price, cancelled: false, paid: false });
      await fx.orders.raw(subject, JSON.stringify(data));
      await eventually(async () => expect(await stored(data.id)).not.toBeNull());
    } else if (subject === 'order:cancelled') {
      orders.get(data.id)!.cancelled = true;
      await fx.orders.raw(subject, JSON.stringify(data));
      await eventually(async () => expect(await stored(data.id)).toMatchObject({ status: 'cancelled' }));
    } else if (subject === 'payment:created') {
      // The browser client paid here: a cancelled order must refuse it, any other must charge it.
      const order = orders.get(data.orderId!)!;
      const res = await fx.pay(sessionCookie({ id: order.userId }), { token: 'tok_visa', orderId: data.orderId });
      expect({ orderId: data.orderId, status: res.status }).toEqual({ orderId: data.orderId, status: order.cancelled ? 400 : 201 });
      order.paid = res.status === 201;
    }
  }
  // The trace holds every kind: cancelled unpaid, paid then cancelled (twice), cancelled then "paid", paid.
  const all = [...orders.values()];
  expect(all.filter((order) => order.cancelled && order.paid)).toHaveLength(1);
  expect(all.filter((order) => order.cancelled && !order.paid)).toHaveLength(2);

  await sleep(1000); // time for a refund that should not happen
  for (const [id, order] of orders) {
    const cookie = sessionCookie({ id: order.userId });
    const charges = fx.stripe!.chargesFor(id);
    if (order.cancelled) {
      expect(await stored(id)).toMatchObject({ status: 'cancelled' });
      expect((await fx.pay(cookie, { token: 'tok_visa', orderId: id })).status).toBe(400);
      expect(charges).toHaveLength(order.paid ? 1 : 0);
      await eventually(() => expect(fx.stripe!.refundsFor(id)).toEqual(charges.map((charge) => expect.objectContaining({ amount: charge.amount }))));
      await eventually(() => expect(fx.spy.refundsFor(id)).toHaveLength(charges.length));
    } else {
      const res = await fx.pay(cookie, { token: 'tok_visa', orderId: id });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ orderId: id, amount: Math.round(order.price * 100), currency: 'usd' });
      expect(fx.stripe!.chargesFor(id)).toHaveLength(1);
      expect(fx.stripe!.refundsFor(id)).toEqual([]);
    }
  }
});
