import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { eventually } from './support/eventually';
import { databaseUri, newId } from './support/harness';
import { PaymentsFixture } from './support/payments-fixture';

/**
 * Nothing blocks the event stream: an event the service cannot apply is set aside
 * in the database, retried a bounded number of times (EVENT_MAX_DELIVERIES), then
 * parked for an operator, while the events behind it keep flowing.
 */
const fx = new PaymentsFixture();
beforeAll(() => fx.start({ stripe: 'fake', env: { EVENT_MAX_DELIVERIES: '3' }, service: { eventRetryBaseMs: 100 } }));
afterAll(() => fx.stop());

const letters = () => fx.service.connection.collection('dead_letters');
const cli = (...args: string[]) =>
  promisify(execFile)('node', [path.join(__dirname, '..', 'scripts', 'payments-cli.js'), ...args], {
    env: { ...process.env, MONGO_URI: databaseUri(fx.database) },
  });

test('when more events than the subscription takes in flight cannot be applied, then later events still flow and each stuck one is parked after 3 attempts', async () => {
  // 100 order:created that disagree with the stored order (another user): they can never apply.
  const stuck = Array.from({ length: 100 }, () => newId());
  await fx.orderModel.insertMany(stuck.map((id) => ({ _id: id, version: 0, userId: 'first-user', price: 10, status: 'created' })));
  for (const id of stuck) await fx.orders.created({ id, userId: 'another-user', price: 10 });
  const later = await fx.order({ price: 5 });
  await fx.orders.cancelled({ id: later.id, version: 1 });

  await eventually(async () => expect(await fx.orderModel.findById(later.id).lean()).toMatchObject({ status: 'cancelled' }), 20_000);
  await eventually(async () => expect(await letters().countDocuments({ state: 'parked' })).toBe(100), 90_000);
  const parked = await letters().find({ state: 'parked' }).toArray();
  expect(parked.every((letter) => letter.attempts === 3 && letter.subject === 'order:created')).toBe(true);
  expect(parked[0]).toMatchObject({ sequence: expect.any(Number), reason: expect.stringMatching(/OrderConflict/) });
  expect(JSON.parse(parked[0].payload)).toMatchObject({ userId: 'another-user', ticket: { price: 10 } });
  expect(fx.logs.find({ msg: 'event could not be applied: parked for an operator' })).toHaveLength(100);
  expect(fx.logs.find({ msg: 'event could not be applied: parked for an operator' })[0]).toMatchObject({ level: 50 });
  // Every stuck order is as it was: nothing applied halfway.
  expect(await fx.orderModel.countDocuments({ _id: { $in: stuck }, userId: 'first-user' })).toBe(100);

  const metrics = await request(fx.service.server).get('/metrics');
  expect(metrics.text.split('\n').filter((line) => line.startsWith('payments_events_'))).toEqual(expect.arrayContaining(['payments_events_set_aside_total{subject="order:created",outcome="parked"} 100']));
  expect(metrics.text).toContain('payments_events_parked 100');
}, 150_000);

test('when an operator fixes the data and replays a parked event, then it is applied and leaves the store', async () => {
  const id = newId();
  await fx.orderModel.create({ _id: id, version: 0, userId: 'first-user', price: 7, status: 'created' });
  await fx.orders.created({ id, userId: 'right-user', price: 7 });
  const letter = await eventually(async () => {
    const found = await letters().findOne({ state: 'parked', payload: { $regex: id } });
    expect(found).not.toBeNull();
    return found!;
  }, 20_000);

  const listed = await cli('dead-letters');
  expect(listed.stdout).toContain(String(letter._id));
  expect(listed.stdout).toContain('OrderConflict');

  await fx.orderModel.updateOne({ _id: id }, { $set: { userId: 'right-user' } });
  const replayed = await cli('replay', String(letter._id));
  expect(replayed.stdout).toMatch(/^1 dead letter/);
  await eventually(async () => expect(await letters().countDocuments({ _id: letter._id })).toBe(0));
  await eventually(() => expect(fx.logs.find({ msg: 'set-aside event applied', orderId: id })).toHaveLength(1)); // logged just after the write
});

test('when the operator asks for a payment, then the CLI prints its state, amounts and the history of its steps', async () => {
  const order = await fx.order({ price: 19.99 });
  const paid = await fx.pay(order.cookie, { token: 'tok_visa', orderId: order.id });
  expect(paid.status).toBe(201);
  await eventually(async () => expect((await fx.payments(order.id))[0].eventsOwed).toEqual([]));

  for (const id of [order.id, paid.body.id]) {
    const { stdout } = await cli('show', id);
    expect(stdout).toContain(`payment  ${paid.body.id}`);
    expect(stdout).toContain('state    succeeded');
    expect(stdout).toContain('amount   1999 usd');
    expect(stdout).toMatch(/claimed[\s\S]*charged[\s\S]*published {2}payment:created/);
  }
  const listed = await cli('list', '--state', 'succeeded');
  expect(listed.stdout).toContain(order.id);
  const order2 = await fx.order({ price: 3 });
  expect((await fx.pay(order2.cookie, { token: 'tok_visa', orderId: order2.id })).status).toBe(201);
  await fx.orders.cancelled({ id: order2.id, version: 1 });
  await eventually(async () => expect((await fx.refunds(order2.id))[0]).toMatchObject({ state: 'refunded', eventsOwed: [] }));
  const shown = await cli('show', order2.id);
  expect(shown.stdout).toMatch(/refund {3}refunded {2}re_\w+ {2}300 usd after 1 attempt/);
  expect(shown.stdout).toMatch(/refund owed[\s\S]*refund refunded[\s\S]*refund published {2}payment:refunded/);
  expect((await cli('refunds', '--state', 'refunded')).stdout).toContain(order2.id);
  await expect(cli('show', newId())).rejects.toMatchObject({ stderr: expect.stringContaining('no payment for') });
});
