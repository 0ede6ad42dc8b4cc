import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { eventually, sleep } from './support/eventually';
import { FakeStripe, VISA_PM } from './support/fake-stripe';

/**
 * The fake Stripe's ledger (scripts/fake-stripe.js): refunds, charges, disputes
 * and the events list as the real SDK reads them, the `/_test` routes that play
 * Stripe's side, and `webhookMode = 'lost'`. No broker, no service: the fake alone.
 */
let fake: FakeStripe;
let stripe: Stripe;

beforeAll(async () => {
  fake = await FakeStripe.start();
  stripe = sdkFor(fake);
});
afterAll(() => fake.stop());
afterEach(() => {
  fake.refundStatus = 'succeeded';
  fake.webhookMode = 'normal';
  fake.webhooks = undefined;
});

function sdkFor(target: FakeStripe): Stripe {
  const url = new URL(target.url);
  return new Stripe('sk_test_x', { host: url.hostname, port: url.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
}

/** A card payment through a PaymentIntent: the PaymentIntent and its charge's id. */
async function paid(amount = 1000, orderId = `order-${Math.random().toString(16).slice(2)}`, sdk = stripe) {
  const intent = await sdk.paymentIntents.create({
    amount,
    currency: 'usd',
    payment_method: VISA_PM,
    confirm: true,
    automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    metadata: { orderId },
  });
  expect(intent.status).toBe('succeeded');
  expect(intent.latest_charge).toMatch(/^ch_/);
  return { intent, chargeId: intent.latest_charge as string, orderId };
}

/** A POST to one of the fake's `/_test` routes, without an API key, as Stripe's own side. */
async function testRoute(target: FakeStripe, path: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${target.url}${path}`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** GET on the API with the key, for the query forms the SDK does not send. */
async function apiGet(target: FakeStripe, path: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${target.url}${path}`, { headers: { Authorization: 'Bearer sk_test_x' } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const typesOf = (events: Array<{ type: string }>) => events.map((event) => event.type);
const eventsAbout = (target: FakeStripe, objectId: string) => target.events.filter((event) => event.data.object.id === objectId);

describe('refunds as Stripe keeps them', () => {
  test('when a charge is refunded in part then in full, then each refund is Stripe-shaped, the charge counts both, and a third is refused', async () => {
    const { intent, chargeId } = await paid(1000);
    const first = await stripe.refunds.create({ charge: chargeId, amount: 400, reason: 'requested_by_customer', metadata: { refundKey: 'k1' } }, { idempotencyKey: 'refund-k1' });
    expect(first).toEqual({
      id: expect.stringMatching(/^re_/),
      object: 'refund',
      amount: 400,
      charge: chargeId,
      created: expect.any(Number),
      currency: 'usd',
      failure_reason: null,
      metadata: { refundKey: 'k1' },
      payment_intent: intent.id,
      reason: 'requested_by_customer',
      status: 'succeeded',
    });
    expect(Math.abs(first.created - Date.now() / 1000)).toBeLessThan(5);
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ id: chargeId, amount: 1000, amount_refunded: 400, refunded: false, payment_intent: intent.id, disputed: false, currency: 'usd' });

    // The rest, as an operator would from the Dashboard: by PaymentIntent, no amount, none of our metadata.
    const rest = await stripe.refunds.create({ payment_intent: intent.id });
    expect(rest).toMatchObject({ amount: 600, charge: chargeId, payment_intent: intent.id, metadata: {}, reason: null, status: 'succeeded' });
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ amount_refunded: 1000, refunded: true });
    await expect(stripe.refunds.create({ charge: chargeId, amount: 1 })).rejects.toMatchObject({ type: 'StripeInvalidRequestError', code: 'charge_already_refunded', statusCode: 400 });

    // refund.created then charge.refunded for each; the charge in the second says what was refunded by then.
    expect(typesOf(eventsAbout(fake, first.id))).toEqual(['refund.created']);
    expect(typesOf(eventsAbout(fake, rest.id))).toEqual(['refund.created']);
    const chargeEvents = eventsAbout(fake, chargeId);
    expect(typesOf(chargeEvents)).toEqual(['charge.refunded', 'charge.refunded']);
    expect(chargeEvents.map((event) => event.data.object.amount_refunded)).toEqual([400, 1000]);
    expect(eventsAbout(fake, first.id)[0].data.object).toEqual(first);
    // The fake's own record, as existing tests read it.
    expect(fake.refunds.filter((refund) => refund.charge === chargeId)).toMatchObject([{ amount: 400, idempotencyKey: 'refund-k1' }, { amount: 600 }]);
  });

  test('when a refund asks for more than is left, then it is refused and nothing is refunded', async () => {
    const { chargeId } = await paid(1000);
    await stripe.refunds.create({ charge: chargeId, amount: 700 });
    await expect(stripe.refunds.create({ charge: chargeId, amount: 301 })).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'amount', statusCode: 400 });
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ amount_refunded: 700, refunded: false });
    expect(fake.refunds.filter((refund) => refund.charge === chargeId)).toHaveLength(1);
    expect(await stripe.refunds.create({ charge: chargeId, amount: 300 })).toMatchObject({ amount: 300 });
  });

  test('when a pending refund fails, then its amount can be refunded again, and the events say so', async () => {
    const { chargeId } = await paid(1000);
    fake.refundStatus = 'pending';
    const pending = await stripe.refunds.create({ charge: chargeId });
    expect(pending).toMatchObject({ status: 'pending', amount: 1000, failure_reason: null });
    // Pending counts: nothing is left to refund.
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ amount_refunded: 1000, refunded: true });
    await expect(stripe.refunds.create({ charge: chargeId, amount: 100 })).rejects.toMatchObject({ code: 'charge_already_refunded' });

    const failed = await testRoute(fake, `/_test/refunds/${pending.id}/status?status=failed&failure_reason=expired_or_canceled_card`);
    expect(failed).toEqual({ status: 200, body: { ...pending, status: 'failed', failure_reason: 'expired_or_canceled_card' } });
    expect(await stripe.refunds.retrieve(pending.id)).toMatchObject({ status: 'failed', failure_reason: 'expired_or_canceled_card' });
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ amount_refunded: 0, refunded: false });
    const updates = eventsAbout(fake, pending.id);
    expect(typesOf(updates)).toEqual(['refund.created', 'charge.refund.updated', 'refund.updated', 'refund.failed']);
    expect(updates.map((event) => event.data.object.status)).toEqual(['pending', 'failed', 'failed', 'failed']);
    expect(updates[1].data.previous_attributes).toEqual({ status: 'pending', failure_reason: null });

    fake.refundStatus = 'succeeded';
    expect(await stripe.refunds.create({ charge: chargeId })).toMatchObject({ amount: 1000, status: 'succeeded' });
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ amount_refunded: 1000, refunded: true });

    // A failed refund is final; an unknown one is missing; a status Stripe has not is refused.
    expect(await testRoute(fake, `/_test/refunds/${pending.id}/status?status=succeeded`)).toMatchObject({ status: 400, body: { error: { type: 'invalid_request_error' } } });
    expect(await testRoute(fake, '/_test/refunds/re_nope/status?status=failed')).toMatchObject({ status: 404, body: { error: { code: 'resource_missing' } } });
    const other = await stripe.refunds.create({ charge: (await paid(500)).chargeId });
    expect(await testRoute(fake, `/_test/refunds/${other.id}/status?status=lost`)).toMatchObject({ status: 400 });
    expect(() => fake.setRefundStatus(other.id, 'canceled')).toThrow(/succeeded/);
    // The JS method does what the route does.
    expect(fake.setRefundStatus(other.id, 'failed')).toMatchObject({ status: 'failed', failure_reason: 'unknown' });
    expect(typesOf(eventsAbout(fake, other.id))).toEqual(['refund.created', 'charge.refund.updated', 'refund.updated', 'refund.failed']);
  });

  test('when a charge has several refunds, then the list pages them newest first, by charge or PaymentIntent', async () => {
    const { intent, chargeId } = await paid(1000);
    const made: string[] = [];
    for (let i = 0; i < 5; i += 1) made.push((await stripe.refunds.create({ charge: chargeId, amount: 100 })).id);
    await stripe.refunds.create({ charge: (await paid(800)).chargeId, amount: 100 }); // another charge's
    const newestFirst = [...made].reverse();

    const first = await stripe.refunds.list({ charge: chargeId, limit: 2 });
    expect(first).toMatchObject({ object: 'list', url: '/v1/refunds', has_more: true });
    expect(first.data.map((refund) => refund.id)).toEqual(newestFirst.slice(0, 2));
    const second = await stripe.refunds.list({ charge: chargeId, limit: 2, starting_after: first.data[1].id });
    expect(second.data.map((refund) => refund.id)).toEqual(newestFirst.slice(2, 4));
    expect(second.has_more).toBe(true);
    const last = await stripe.refunds.list({ charge: chargeId, limit: 2, starting_after: second.data[1].id });
    expect(last.data.map((refund) => refund.id)).toEqual(newestFirst.slice(4));
    expect(last.has_more).toBe(false);
    const back = await stripe.refunds.list({ charge: chargeId, limit: 2, ending_before: last.data[0].id });
    expect(back.data.map((refund) => refund.id)).toEqual(newestFirst.slice(2, 4));
    expect(back.has_more).toBe(true);

    // The SDK's auto-pagination, as the service reads them.
    const all: string[] = [];
    for await (const refund of stripe.refunds.list({ payment_intent: intent.id, limit: 2 })) all.push(refund.id);
    expect(all).toEqual(newestFirst);
    expect((await stripe.refunds.list({ charge: chargeId })).data).toHaveLength(5);
    await expect(stripe.refunds.retrieve('re_doesnotexist')).rejects.toMatchObject({ code: 'resource_missing', statusCode: 404 });
    await expect(stripe.charges.retrieve('ch_doesnotexist')).rejects.toMatchObject({ code: 'resource_missing', statusCode: 404 });
  });
});

describe('disputes', () => {
  test('when a charge is disputed, then the dispute goes through its statuses and funds, refunds are refused, and each step is an event', async () => {
    const { intent, chargeId, orderId } = await paid(2500);
    const opened = await testRoute(fake, `/_test/charges/${chargeId}/dispute?reason=product_not_received`);
    expect(opened).toEqual({
      status: 200,
      body: {
        id: expect.stringMatching(/^dp_/),
        object: 'dispute',
        amount: 2500,
        balance_transactions: [],
        charge: chargeId,
        created: expect.any(Number),
        currency: 'usd',
        is_charge_refundable: false,
        livemode: false,
        metadata: {},
        payment_intent: intent.id,
        reason: 'product_not_received',
        status: 'needs_response',
      },
    });
    const id = opened.body.id as string;
    expect(await stripe.disputes.retrieve(id)).toEqual(opened.body);
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ disputed: true });
    await expect(stripe.refunds.create({ charge: chargeId })).rejects.toMatchObject({ code: 'charge_disputed', statusCode: 400 });
    expect(await testRoute(fake, `/_test/charges/${chargeId}/dispute`)).toMatchObject({ status: 400 }); // one a charge

    expect(await testRoute(fake, `/_test/disputes/${id}/status?status=under_review`)).toMatchObject({ status: 200, body: { status: 'under_review' } });
    const withdrawn = await testRoute(fake, `/_test/disputes/${id}/funds_withdrawn`);
    expect(withdrawn.body.balance_transactions).toEqual([expect.objectContaining({ id: expect.stringMatching(/^txn_/), amount: -2500, reporting_category: 'dispute' })]);
    expect(await testRoute(fake, `/_test/disputes/${id}/funds_withdrawn`)).toMatchObject({ status: 400 }); // already out
    const reinstated = await testRoute(fake, `/_test/disputes/${id}/funds_reinstated`);
    expect(reinstated.body.balance_transactions).toEqual([
      expect.objectContaining({ amount: -2500, reporting_category: 'dispute' }),
      expect.objectContaining({ amount: 2500, reporting_category: 'dispute_reversal' }),
    ]);
    expect(await testRoute(fake, `/_test/disputes/${id}/funds_reinstated`)).toMatchObject({ status: 400 }); // not out
    expect(await testRoute(fake, `/_test/disputes/${id}/status?status=won`)).toMatchObject({ status: 200, body: { status: 'won' } });
    expect(await testRoute(fake, `/_test/disputes/${id}/status?status=lost`)).toMatchObject({ status: 400 }); // closed is final
    expect(await testRoute(fake, `/_test/disputes/${id}/status?status=nope`)).toMatchObject({ status: 400 });
    expect(await testRoute(fake, '/_test/disputes/dp_nope/status?status=won')).toMatchObject({ status: 404 });

    const events = eventsAbout(fake, id);
    expect(typesOf(events)).toEqual([
      'charge.dispute.created',
      'charge.dispute.updated',
      'charge.dispute.funds_withdrawn',
      'charge.dispute.funds_reinstated',
      'charge.dispute.closed',
    ]);
    expect(events.map((event) => event.data.object.status)).toEqual(['needs_response', 'under_review', 'under_review', 'under_review', 'won']);
    expect(events[4].data.previous_attributes).toEqual({ status: 'under_review' });
    expect(events.every((event) => event.data.object.object === 'dispute' && event.data.object.charge === chargeId)).toBe(true);
    // What the service reads back: the dispute with its balance transactions.
    expect(await stripe.disputes.retrieve(id)).toMatchObject({ status: 'won', balance_transactions: [{ amount: -2500 }, { amount: 2500 }] });
    expect((await stripe.disputes.list({ charge: chargeId })).data.map((dispute) => dispute.id)).toEqual([id]);
    expect(fake.disputesFor(orderId).map((dispute) => dispute.id)).toEqual([id]);
  });

  test('when disputes are opened through the JS methods, then lost closes one, and a hand-made charge.dispute.created still makes a dispute', async () => {
    const { chargeId, orderId } = await paid(3000);
    const dispute = fake.openDispute(chargeId, { amount: 1200, reason: 'duplicate' });
    expect(dispute).toMatchObject({ amount: 1200, reason: 'duplicate', status: 'needs_response' });
    expect(fake.disputeFunds(dispute.id, 'withdrawn').balance_transactions).toMatchObject([{ amount: -1200, reporting_category: 'dispute' }]);
    expect(fake.setDisputeStatus(dispute.id, 'lost').status).toBe('lost');
    expect(typesOf(eventsAbout(fake, dispute.id))).toEqual(['charge.dispute.created', 'charge.dispute.funds_withdrawn', 'charge.dispute.closed']);
    expect(fake.disputesFor(orderId)).toHaveLength(1);
    expect(() => fake.openDispute(chargeId)).toThrow(/disputed/);
    expect(() => fake.openDispute('ch_nope')).toThrow(/No such charge/);

    // The event() of the existing tests: a dispute made on the charge, kept, no event sent.
    const other = await paid(900);
    const before = fake.events.length;
    const event = fake.event('charge.dispute.created', other.chargeId);
    expect(event.data.object).toMatchObject({ object: 'dispute', charge: other.chargeId, amount: 900, reason: 'fraudulent', status: 'needs_response' });
    expect(fake.disputed.has(other.chargeId)).toBe(true);
    expect(await stripe.disputes.retrieve(event.data.object.id)).toMatchObject({ charge: other.chargeId });
    expect(fake.events.length).toBe(before);
  });
});

describe('the events list', () => {
  let own: FakeStripe;
  let sdk: Stripe;
  beforeEach(async () => {
    own = await FakeStripe.start();
    sdk = sdkFor(own);
  });
  afterEach(() => own.stop());

  /** Six events, oldest first: payment_intent.succeeded, refund.created, charge.refunded, payment_intent.succeeded, charge.dispute.created, charge.dispute.updated. */
  async function sixEvents() {
    const one = await paid(1000, 'order-1', sdk);
    const refund = await sdk.refunds.create({ charge: one.chargeId, amount: 100 });
    const two = await paid(2000, 'order-2', sdk);
    const dispute = own.openDispute(two.chargeId);
    own.setDisputeStatus(dispute.id, 'under_review');
    expect(typesOf(own.events)).toEqual([
      'payment_intent.succeeded',
      'refund.created',
      'charge.refunded',
      'payment_intent.succeeded',
      'charge.dispute.created',
      'charge.dispute.updated',
    ]);
    return { one, two, refund, dispute, ids: own.events.map((event) => event.id) };
  }

  test('when events are listed, then newest first, each as Stripe sends it, filtered by types and by a type with a wildcard', async () => {
    const { one, refund, dispute, ids } = await sixEvents();
    const all = await sdk.events.list();
    expect(all).toMatchObject({ object: 'list', url: '/v1/events', has_more: false });
    expect(all.data.map((event) => event.id)).toEqual([...ids].reverse());
    const refundCreated = all.data.find((event) => event.type === 'refund.created')!;
    expect(refundCreated).toEqual({
      id: expect.stringMatching(/^evt_/),
      object: 'event',
      type: 'refund.created',
      api_version: expect.any(String),
      created: expect.any(Number),
      livemode: false,
      pending_webhooks: 0,
      request: { id: null, idempotency_key: null },
      data: { object: expect.objectContaining({ id: refund.id, object: 'refund', charge: one.chargeId, payment_intent: one.intent.id }) },
    });
    expect(all.data.find((event) => event.type === 'charge.refunded')!.data.object).toMatchObject({ object: 'charge', id: one.chargeId, amount_refunded: 100 });
    expect(await sdk.events.retrieve(refundCreated.id)).toEqual(refundCreated);
    await expect(sdk.events.retrieve('evt_nope')).rejects.toMatchObject({ code: 'resource_missing', statusCode: 404 });

    // types as the SDK sends an array (types[0]=…&types[1]=…), and as types[]=….
    const byTypes = await sdk.events.list({ types: ['refund.created', 'charge.dispute.created'] });
    expect(typesOf(byTypes.data)).toEqual(['charge.dispute.created', 'refund.created']);
    const bracketed = await apiGet(own, '/v1/events?types[]=refund.created&types[]=charge.dispute.created');
    expect(bracketed.body.data.map((event: { id: string }) => event.id)).toEqual(byTypes.data.map((event) => event.id));
    expect(typesOf((await sdk.events.list({ type: 'charge.dispute.*' })).data)).toEqual(['charge.dispute.updated', 'charge.dispute.created']);
    expect((await sdk.events.list({ type: 'charge.dispute.*' })).data.map((event) => (event.data.object as { id: string }).id)).toEqual([dispute.id, dispute.id]);
    expect(typesOf((await sdk.events.list({ type: 'charge.*' })).data)).toEqual(['charge.dispute.updated', 'charge.dispute.created', 'charge.refunded']);
    expect(typesOf((await sdk.events.list({ type: 'payment_intent.succeeded' })).data)).toEqual(['payment_intent.succeeded', 'payment_intent.succeeded']);
    expect((await sdk.events.list({ type: 'charge.dispute' })).data).toEqual([]); // exact, not a prefix
    await expect(sdk.events.list({ type: 'refund.created', types: ['refund.created'] })).rejects.toMatchObject({ type: 'StripeInvalidRequestError', statusCode: 400 });
  });

  test('when events are paged, then limit, starting_after and ending_before cut the newest-first list as Stripe does', async () => {
    const { ids } = await sixEvents();
    const newestFirst = [...ids].reverse();
    const first = await sdk.events.list({ limit: 4 });
    expect(first.data.map((event) => event.id)).toEqual(newestFirst.slice(0, 4));
    expect(first.has_more).toBe(true);
    const next = await sdk.events.list({ limit: 4, starting_after: first.data[3].id });
    expect(next.data.map((event) => event.id)).toEqual(newestFirst.slice(4));
    expect(next.has_more).toBe(false);
    const back = await sdk.events.list({ limit: 2, ending_before: next.data[0].id });
    expect(back.data.map((event) => event.id)).toEqual(newestFirst.slice(2, 4));
    expect(back.has_more).toBe(true);
    // The cursor counts where it stands, even when the filter leaves it out.
    const disputesAfter = await sdk.events.list({ type: 'charge.dispute.*', starting_after: newestFirst[0] });
    expect(typesOf(disputesAfter.data)).toEqual(['charge.dispute.created']);

    const walked: string[] = [];
    for await (const event of sdk.events.list({ limit: 2 })) walked.push(event.id);
    expect(walked).toEqual(newestFirst);
    expect((await apiGet(own, '/v1/events?limit=101')).status).toBe(400);
    expect((await apiGet(own, '/v1/events?limit=0')).status).toBe(400);
    expect((await apiGet(own, '/v1/events?starting_after=evt_nope')).status).toBe(400);
    expect((await apiGet(own, '/v1/events')).body.data).toHaveLength(6);
    expect((await apiGet(own, '/v1/events')).status).toBe(200);
    expect((await fetch(`${own.url}/v1/events`)).status).toBe(401); // the API wants its key
  });

  test('when events are made across seconds, then created[gt|gte|lt|lte] keep those of their time', async () => {
    const { ids } = await sixEvents();
    const lastOfFirst = own.events[5];
    await sleep(1000 - (Date.now() % 1000) + 50); // the next second
    await paid(700, 'order-3', sdk);
    const late = own.events[6];
    expect(late.created).toBeGreaterThan(lastOfFirst.created);

    const idsOf = async (created: Stripe.RangeQueryParam) => (await sdk.events.list({ created, limit: 100 })).data.map((event) => event.id);
    expect(await idsOf({ gte: late.created })).toEqual([late.id]);
    expect(await idsOf({ gt: lastOfFirst.created })).toEqual([late.id]);
    expect(await idsOf({ lt: late.created })).toEqual([...ids].reverse());
    expect(await idsOf({ lte: lastOfFirst.created })).toEqual([...ids].reverse());
    expect(await idsOf({ gt: late.created })).toEqual([]);
    expect((await sdk.events.list({ created: late.created })).data.map((event) => event.id)).toEqual([late.id]);
    // As the service reads them: its types, created[gte], 100 a page.
    const seen: string[] = [];
    for await (const event of sdk.events.list({ types: ['payment_intent.succeeded', 'refund.created'], created: { gte: own.events[0].created }, limit: 100 })) seen.push(event.id);
    expect(seen).toEqual([late.id, ids[3], ids[1], ids[0]]);
  });
});

describe('webhookMode lost', () => {
  let endpoint: Server;
  let received: Array<{ id: string; type: string }>;
  /** Event ids the endpoint answers 500. */
  let refusing: Set<string>;
  beforeAll(async () => {
    received = [];
    refusing = new Set();
    endpoint = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const event = JSON.parse(body) as { id: string; type: string };
        received.push({ id: event.id, type: event.type });
        res.writeHead(refusing.has(event.id) ? 500 : 200).end();
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => endpoint.close(() => resolve())));
  const webhookUrl = () => `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/`;

  test('when events are lost, then they are listed and never delivered, not even after the switch back to normal', async () => {
    fake.webhooks = { url: webhookUrl(), secret: 'whsec_ledger' };
    fake.webhookRetryMs = 50;
    const sent = await paid(1000);
    const sentEvent = eventsAbout(fake, sent.intent.id)[0];
    await eventually(() => expect(received.map((event) => event.id)).toContain(sentEvent.id));
    await eventually(async () => expect((await stripe.events.retrieve(sentEvent.id)).pending_webhooks).toBe(0));

    fake.webhookMode = 'lost';
    const lost = await paid(1500);
    const refund = await stripe.refunds.create({ charge: lost.chargeId, amount: 500 });
    const lostEvents = [...eventsAbout(fake, lost.intent.id), ...eventsAbout(fake, refund.id), ...eventsAbout(fake, lost.chargeId)];
    expect(typesOf(lostEvents)).toEqual(['payment_intent.succeeded', 'refund.created', 'charge.refunded']);
    const listed = await stripe.events.list({ types: ['payment_intent.succeeded', 'refund.created', 'charge.refunded'], limit: 100 });
    const listedIds = listed.data.map((event) => event.id);
    for (const event of lostEvents) expect(listedIds).toContain(event.id);
    expect(listed.data.filter((event) => lostEvents.some((lostEvent) => lostEvent.id === event.id)).map((event) => event.pending_webhooks)).toEqual([0, 0, 0]);
    expect(fake.deliveries.filter((delivery) => lostEvents.includes(delivery.event))).toEqual([]);
    expect(fake.held).toEqual([]);

    fake.webhookMode = 'normal';
    const after = await paid(1200);
    const afterEvent = eventsAbout(fake, after.intent.id)[0];
    await eventually(() => expect(received.map((event) => event.id)).toContain(afterEvent.id));
    await sleep(300);
    const receivedIds = received.map((event) => event.id);
    for (const event of lostEvents) expect(receivedIds).not.toContain(event.id);
  });

  test('when a delivery being retried meets lost, then it is given up for good', async () => {
    fake.webhooks = { url: webhookUrl(), secret: 'whsec_ledger' };
    fake.webhookRetryMs = 1000; // time enough to switch to lost before the retry, on a busy machine too
    const original = fake.event.bind(fake);
    // The endpoint refuses this payment's event: its delivery waits for a retry.
    const spy = jest.spyOn(fake, 'event').mockImplementation((type, objectId, previous) => {
      const event = original(type, objectId, previous);
      refusing.add(event.id);
      return event;
    });
    const { intent } = await paid(1100);
    spy.mockRestore();
    const [event] = eventsAbout(fake, intent.id);
    const delivery = fake.deliveries.find((candidate) => candidate.event.id === event.id)!;
    await eventually(() => expect(delivery.statuses).toEqual([500]));
    fake.webhookMode = 'lost';
    await eventually(() => expect(delivery.abandoned).toBe(true));
    fake.webhookMode = 'normal';
    refusing.delete(event.id);
    await sleep(600);
    expect(delivery).toMatchObject({ attempts: 1, delivered: false, statuses: [500], abandoned: true });
    expect(received.filter((candidate) => candidate.id === event.id)).toHaveLength(1); // the refused attempt only
    expect((await stripe.events.retrieve(event.id)).pending_webhooks).toBe(0);
  });

  test('when events are held, then they are listed too, pending', async () => {
    fake.webhooks = { url: webhookUrl(), secret: 'whsec_ledger' };
    fake.webhookMode = 'held';
    const { intent } = await paid(1300);
    const [event] = eventsAbout(fake, intent.id);
    expect(fake.held.splice(0).map((held) => held.id)).toEqual([event.id]);
    expect(await stripe.events.retrieve(event.id)).toMatchObject({ id: event.id, type: 'payment_intent.succeeded', pending_webhooks: 1 });
  });
});
