'use strict';
/**
 * A small stateful stand-in for Stripe's PaymentMethods, PaymentIntents, Charges
 * and Refunds APIs, spoken to by the real SDK; the tests' fake Stripe and the
 * local stack's (`npm run dev:stack`). Plain JavaScript so both can load it;
 * `fake-stripe.d.ts` gives its types. It keeps what it creates (in memory) and
 * honours Idempotency-Key as Stripe does: the same key with the same parameters
 * replays the stored response (with `Idempotent-Replayed: true`), with other
 * parameters it is an idempotency_error. `mode` (payments: PaymentIntents and
 * charges; reads of intents too for `error500`, `rateLimited`, `hang`; never
 * PaymentMethod creation) and `refundMode` (refunds) make it fail the way Stripe
 * and networks do:
 * - `error500`: 500, nothing stored under the key (the next try runs afresh);
 * - `storedError500`: 500 stored under the key, nothing created (Stripe keeps a
 *   500 it answered once the request began executing: every replay gets it);
 * - `chargeThenDrop`: done, but the connection is dropped before the answer;
 * - `hang`: never answers; `rateLimited`: 429 with Stripe's `rate_limit` body (see also `rateLimits`);
 * - `idempotencyError`: 400 `idempotency_error`, nothing done, as Stripe answers
 *   a key first used with other parameters (by an earlier version of the caller, say).
 *
 * Cards (Stripe's test cards): `pm_card_visa` and any other token succeed,
 * `pm_card_chargeDeclined` / `tok_chargeDeclined` decline (402),
 * `pm_card_threeDSecure2Required` / `tok_threeDSecure2Required` need 3-D Secure
 * (the PaymentIntent answers `requires_action`), `tok_doesNotExist` is no token.
 *
 * Webhooks: with `webhooks = { url, secret }` it sends Stripe's events about what
 * changes (`payment_intent.succeeded`, `.payment_failed`, `.requires_action`,
 * `.canceled`, `charge.refunded`) to that endpoint, signed as Stripe signs them,
 * and retries a delivery that is not answered 2xx (Stripe retries for days) with
 * a doubling wait from `webhookRetryMs`. `webhookMode`: `failing` makes every
 * attempt fail (Stripe cannot reach us) and retries it later; `held` keeps events
 * in `held` for the caller to deliver as it likes.
 *
 * The customer's side of 3-D Secure, as Stripe's page would do it:
 *   POST /_test/payment_intents/<pi_…>/authenticate              -> succeeded, with a charge
 *   POST /_test/payment_intents/<pi_…>/authenticate?outcome=fail -> requires_payment_method
 * (no API key needed; answers the PaymentIntent; the webhook follows).
 *
 * The ledger, read back as from Stripe (API "Refunds", "Disputes", "Events"):
 * - refunds are Stripe's Refund objects (`payment_intent`, `status`,
 *   `failure_reason`, `created`…); a new one gets `refundStatus` (`succeeded` by
 *   default) and sends `refund.created` then `charge.refunded`. A charge's
 *   refunded amount counts the refunds not `failed`/`canceled` (a failed refund
 *   gives its amount back to refund). Read: GET /v1/refunds/<re_…>,
 *   GET /v1/refunds?charge=…|payment_intent=…, GET /v1/charges/<ch_…>;
 * - disputes (`openDispute`, `setDisputeStatus`, `disputeFunds`): a disputed
 *   charge refuses refunds; `charge.dispute.created|updated|closed|funds_withdrawn|
 *   funds_reinstated`. Read: GET /v1/disputes/<dp_…>, GET /v1/disputes?charge=…;
 * - every event made (whatever `webhookMode`) is kept in `events`, oldest first:
 *   GET /v1/events (`type`, with `*` as a wildcard, or `types[]`; `created[gt|gte|lt|lte]`;
 *   `limit`, `starting_after`, `ending_before`; newest first) and GET /v1/events/<evt_…>.
 *   `webhookMode = 'lost'` keeps events in the list and never delivers them (as
 *   when Stripe gave up on a delivery): not on the way back to `normal` either,
 *   and a delivery being retried is given up.
 * Lists answer Stripe's `{ object: 'list', url, has_more, data }`, newest first,
 * `limit` 1-100 (10 by default). Reads of refunds follow `refundMode`, the others `mode`.
 * What Stripe's side does by itself (no API key needed, they work while the API
 * fails us; each answers the object, the webhooks follow):
 *   POST /_test/refunds/<re_…>/status?status=failed[&failure_reason=expired_or_canceled_card]
 *        -> charge.refund.updated, refund.updated (and refund.failed when failed)
 *   POST /_test/charges/<ch_…>/dispute[?reason=fraudulent&amount=…]  -> charge.dispute.created
 *   POST /_test/disputes/<dp_…>/status?status=under_review|won|lost|… -> charge.dispute.updated|closed
 *   POST /_test/disputes/<dp_…>/funds_withdrawn | /funds_reinstated   -> charge.dispute.funds_*
 */
const { randomBytes } = require('node:crypto');
const { createServer } = require('node:http');
const Stripe = require('stripe');

const DECLINED_TOKEN = 'tok_chargeDeclined';
const INVALID_TOKEN = 'tok_doesNotExist';
/** Stripe's test PaymentMethods (docs "Testing": pm_card_visa, pm_card_chargeDeclined, pm_card_threeDSecure2Required). */
const VISA_PM = 'pm_card_visa';
const DECLINED_PM = 'pm_card_chargeDeclined';
const THREE_D_SECURE_PM = 'pm_card_threeDSecure2Required';
const THREE_D_SECURE_TOKEN = 'tok_threeDSecure2Required';

const TEST_METHODS = { [VISA_PM]: 'succeeds', [DECLINED_PM]: 'declines', [THREE_D_SECURE_PM]: 'requiresAction' };
function tokenBehaviour(token) {
  if (token === DECLINED_TOKEN) return 'declines';
  if (token === THREE_D_SECURE_TOKEN) return 'requiresAction';
  return 'succeeds';
}

/** Longest wait between two attempts of one webhook delivery. */
const WEBHOOK_RETRY_MAX_MS = 30_000;

/** A refund's statuses (API "The Refund object"); the last two give the amount back to refund, and are final. */
const REFUND_STATUSES = ['pending', 'requires_action', 'succeeded', 'failed', 'canceled'];
const REFUND_GONE = ['failed', 'canceled'];
/** A dispute's statuses (API "The Dispute object"); the closed ones send `charge.dispute.closed` and are final. */
const DISPUTE_STATUSES = [
  'warning_needs_response',
  'warning_under_review',
  'warning_closed',
  'needs_response',
  'under_review',
  'won',
  'lost',
  'prevented',
  'appeal_needs_response',
  'appeal_under_review',
];
const DISPUTE_CLOSED = ['won', 'lost', 'warning_closed'];
/** The API version the fake's events say they were rendered with. */
const API_VERSION = '2025-01-27';

class FakeStripe {
  constructor(server, host) {
    this.server = server;
    this.host = host;
    this.mode = 'normal';
    this.refundMode = 'normal';
    /** The status a new refund gets (`pending`, `requires_action`, `succeeded`, `failed` with `failure_reason: 'unknown'`, `canceled`). */
    this.refundStatus = 'succeeded';
    /** Answers charges this much later, as a slow Stripe would. */
    this.delayMs = 0;
    this.charges = [];
    this.refunds = [];
    this.intents = [];
    /** Disputes opened (`openDispute`, or an event `charge.dispute.created` made for a charge). */
    this.disputes = [];
    /** Every event made, oldest first, whatever `webhookMode`: the events list (GET /v1/events). */
    this.events = [];
    /**
     * How long a new PaymentIntent stays invisible to Search (Stripe, "Search",
     * "Data freshness": under a minute in normal conditions, longer in an outage).
     */
    this.searchLagMs = 0;
    /** PaymentMethods made from tokens (`pm_…` → the token and how the card behaves). */
    this.methods = new Map();
    /** Charges with a dispute opened on them: Stripe refuses to refund those. */
    this.disputed = new Set();
    this.requests = [];
    /**
     * Stripe's rate limiter (docs "Rate limits"; Stripe's blog "Scaling your API with rate
     * limiters": a token bucket per limit): `{ perEndpoint, global }` requests a second, each
     * bucket holding one second's worth; an API request over either is answered 429 with
     * Stripe's `rate_limit` body and does nothing. Off (undefined) by default.
     */
    this.rateLimits = undefined;
    /** Token buckets by endpoint (`global` for the account): tokens left and when they were counted. */
    this.buckets = new Map();
    /** Where events are sent (`{ url, secret }`); none: no event is sent. */
    this.webhooks = undefined;
    this.webhookMode = 'normal';
    this.webhookRetryMs = 1000;
    /** Every event sent or being sent, with its attempts. */
    this.deliveries = [];
    /** Events kept while `webhookMode` is `held`. */
    this.held = [];
    /** The delivery of each event sent (by event id): what `pending_webhooks` says. */
    this.deliveryOf = new Map();
    /** Told of each delivery attempt (the local stack prints it). */
    this.log = undefined;
    this.replies = new Map();
    this.sockets = new Set();
    this.timers = new Set();
    this.stopped = false;
  }

  /** Listens on `host:port` (127.0.0.1, a free port by default). */
  static async start({ port = 0, host = '127.0.0.1' } = {}) {
    let fake;
    const server = createServer((req, res) => void fake.handle(req, res));
    fake = new FakeStripe(server, host);
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    return fake;
  }

  get url() {
    return `http://${this.host}:${this.server.address().port}`;
  }

  /**
   * `count` succeeded PaymentIntents of other orders, created now: the rest of a
   * busy account (one Stripe account serves the whole platform).
   */
  createOtherIntents(count) {
    for (let i = 0; i < count; i += 1) {
      const id = `pi_${randomBytes(12).toString('hex')}`;
      const orderId = randomBytes(12).toString('hex');
      const intent = { id, amount: 1000, currency: 'usd', status: 'requires_payment_method', paymentMethod: VISA_PM, source: VISA_PM, metadata: { orderId, paymentId: randomBytes(12).toString('hex') }, latestCharge: null, clientSecret: `${id}_secret_x`, created: Math.floor(Date.now() / 1000), createdMs: Date.now() };
      this.intents.push(intent);
      this.chargeIntent(intent);
    }
  }

  intentsFor(orderId) {
    return this.intents.filter((intent) => intent.metadata.orderId === orderId);
  }

  /**
   * The customer finishes (or fails) 3-D Secure for a PaymentIntent in
   * `requires_action`, as Stripe.js would: it then succeeds with a charge, or
   * goes back to `requires_payment_method`; the event is sent.
   */
  completeAction(intentId, outcome) {
    const intent = this.intents.find((candidate) => candidate.id === intentId);
    if (!intent || intent.status !== 'requires_action') throw new Error(`no PaymentIntent ${intentId} awaiting action`);
    if (outcome === 'succeeded') this.chargeIntent(intent);
    else {
      intent.status = 'requires_payment_method';
      intent.lastError = 'We are unable to authenticate your payment method.';
    }
    this.emit(outcome === 'succeeded' ? 'payment_intent.succeeded' : 'payment_intent.payment_failed', intent.id);
    return intent;
  }

  /**
   * A Stripe event about one of the fake's objects as it is now (API "The Event
   * object"), not kept nor sent (`emit` does both): `payment_intent.*` for a
   * PaymentIntent; for a refund (`re_…`) or a dispute (`dp_…`), that object; for
   * a charge, the charge (`charge.refunded`: one the fake never refunded says it
   * is refunded in full, as a hand-made event of a refund would), except
   * `charge.dispute.created`, which opens a dispute on it (stored, the charge
   * disputed, no event sent) and carries it, and the other `charge.dispute.*`,
   * which carry its latest dispute. `previousAttributes`: `data.previous_attributes`.
   */
  event(type, objectId, previousAttributes) {
    const data = { object: this.eventObject(type, objectId) };
    if (previousAttributes) data.previous_attributes = previousAttributes;
    return {
      id: `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      type,
      api_version: API_VERSION,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      pending_webhooks: 0,
      request: { id: null, idempotency_key: null },
      data,
    };
  }

  eventObject(type, objectId) {
    if (type.startsWith('payment_intent.')) {
      const intent = this.intents.find((candidate) => candidate.id === objectId);
      if (!intent) throw new Error(`no PaymentIntent ${objectId}`);
      return intentBody(intent);
    }
    const refund = this.refunds.find((candidate) => candidate.id === objectId);
    if (refund) return refundBody(refund);
    const dispute = this.disputes.find((candidate) => candidate.id === objectId);
    if (dispute) return disputeBody(dispute);
    const charge = this.charges.find((candidate) => candidate.id === objectId);
    if (!charge) throw new Error(`no charge, refund or dispute ${objectId}`);
    if (type === 'charge.dispute.created') return disputeBody(this.makeDispute(charge, {}));
    if (type.startsWith('charge.dispute.')) {
      const latest = this.disputes.filter((candidate) => candidate.charge === charge.id).pop();
      if (!latest) throw new Error(`no dispute on charge ${objectId}`);
      return disputeBody(latest);
    }
    const body = this.chargeBody(charge);
    if (type === 'charge.refunded' && !this.refunds.some((candidate) => candidate.charge === charge.id)) {
      return { ...body, amount_refunded: charge.amount, refunded: true };
    }
    return body;
  }

  /**
   * Delivers an event to a webhook endpoint as Stripe does: the JSON body signed
   * in `Stripe-Signature` with the endpoint's secret (the SDK's
   * generateTestHeaderString). `timestamp` (seconds) signs it as of another time;
   * `signature` replaces the header outright.
   */
  async deliver(url, event, secret, options = {}) {
    const payload = JSON.stringify(event);
    const header = new Stripe('sk_test_fake').webhooks.generateTestHeaderString({ payload, secret, timestamp: options.timestamp });
    const headers = { 'Content-Type': 'application/json; charset=utf-8' };
    const signature = options.signature === undefined ? header : options.signature;
    if (signature !== null) headers['Stripe-Signature'] = signature;
    const res = await fetch(url, { method: 'POST', headers, body: payload });
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body };
  }

  /** The card token a PaymentMethod was made from; a test PaymentMethod (`pm_card_visa`) or an unknown id is itself. */
  tokenOf(paymentMethodId) {
    return this.methods.get(paymentMethodId)?.token ?? paymentMethodId;
  }

  chargesFor(orderId) {
    return this.charges.filter((charge) => charge.metadata.orderId === orderId);
  }

  refundsFor(orderId) {
    const charges = new Set(this.chargesFor(orderId).map((charge) => charge.id));
    return this.refunds.filter((refund) => charges.has(refund.charge));
  }

  disputesFor(orderId) {
    const charges = new Set(this.chargesFor(orderId).map((charge) => charge.id));
    return this.disputes.filter((dispute) => charges.has(dispute.charge));
  }

  requestsFor(orderId) {
    return this.requests.filter((request) => request.params['metadata[orderId]'] === orderId);
  }

  /** What is refunded of a charge: its refunds not failed nor canceled. */
  refundedOf(chargeId) {
    return this.refunds.filter((refund) => refund.charge === chargeId && !REFUND_GONE.includes(refund.status)).reduce((sum, refund) => sum + refund.amount, 0);
  }

  /** The PaymentIntent a charge was made by, if any. */
  intentOf(chargeId) {
    return this.intents.find((intent) => intent.latestCharge === chargeId)?.id ?? null;
  }

  /** The charge as Stripe answers it (API "The Charge object", the fields this fake keeps). */
  chargeBody(charge) {
    const refunded = this.refundedOf(charge.id);
    return {
      id: charge.id,
      object: 'charge',
      amount: charge.amount,
      amount_captured: charge.amount,
      amount_refunded: refunded,
      captured: true,
      created: charge.created ?? null,
      currency: charge.currency,
      disputed: this.disputed.has(charge.id),
      livemode: false,
      metadata: charge.metadata,
      paid: true,
      payment_intent: this.intentOf(charge.id),
      refunded: refunded >= charge.amount,
      status: 'succeeded',
    };
  }

  /**
   * What Stripe does to a refund later (a card that cannot take it back, a refund
   * that ends): the refund's status changes (`failure_reason` when `failed`,
   * `unknown` unless given) and `charge.refund.updated`, `refund.updated`, then
   * `refund.failed` when failed, are sent. `failed` and `canceled` are final;
   * only a refund not yet succeeded can be `canceled`. The same status changes nothing.
   */
  setRefundStatus(refundId, status, failureReason) {
    const refund = this.refunds.find((candidate) => candidate.id === refundId);
    if (!refund) throw new FakeError(404, error('invalid_request_error', `No such refund: '${refundId}'`, { code: 'resource_missing', param: 'id' }));
    if (!REFUND_STATUSES.includes(status)) throw new FakeError(400, error('invalid_request_error', `Invalid refund status: ${status}`, { param: 'status' }));
    const reason = status === 'failed' ? failureReason || 'unknown' : null;
    if (refund.status === status && refund.failure_reason === reason) return refund;
    if (REFUND_GONE.includes(refund.status)) {
      throw new FakeError(400, error('invalid_request_error', `Refund ${refund.id} is ${refund.status}: it cannot change.`, { code: 'refund_unexpected_state' }));
    }
    if (status === 'canceled' && refund.status === 'succeeded') {
      throw new FakeError(400, error('invalid_request_error', `Refund ${refund.id} has succeeded: it cannot be canceled.`, { code: 'refund_unexpected_state' }));
    }
    // Stripe's previous_attributes: what changed, as it was.
    const previous = { status: refund.status };
    if (refund.failure_reason !== reason) previous.failure_reason = refund.failure_reason;
    refund.status = status;
    refund.failure_reason = reason;
    this.emit('charge.refund.updated', refund.id, previous);
    this.emit('refund.updated', refund.id, previous);
    if (status === 'failed') this.emit('refund.failed', refund.id);
    return refund;
  }

  /**
   * The customer's bank disputes a charge (API "Disputes"): the dispute is made
   * `needs_response`, the charge disputed (refunds refused) and
   * `charge.dispute.created` sent. One dispute a charge.
   */
  openDispute(chargeId, { reason = 'fraudulent', amount } = {}) {
    const charge = this.charges.find((candidate) => candidate.id === chargeId);
    if (!charge) throw new FakeError(404, error('invalid_request_error', `No such charge: '${chargeId}'`, { code: 'resource_missing', param: 'charge' }));
    if (this.disputes.some((dispute) => dispute.charge === charge.id)) {
      throw new FakeError(400, error('invalid_request_error', `Charge ${charge.id} has already been disputed.`, { code: 'charge_disputed' }));
    }
    const disputed = amount ?? charge.amount;
    if (!Number.isInteger(disputed) || disputed <= 0 || disputed > charge.amount) {
      throw new FakeError(400, error('invalid_request_error', `A dispute's amount is 1 to ${charge.amount}`, { param: 'amount' }));
    }
    const dispute = this.makeDispute(charge, { reason, amount: disputed });
    this.emit('charge.dispute.created', dispute.id);
    return dispute;
  }

  /** A dispute made and kept, its charge disputed; no event sent. */
  makeDispute(charge, { reason = 'fraudulent', amount = charge.amount }) {
    const dispute = {
      id: `dp_${randomBytes(12).toString('hex')}`,
      object: 'dispute',
      amount,
      balance_transactions: [],
      charge: charge.id,
      created: Math.floor(Date.now() / 1000),
      currency: charge.currency,
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      payment_intent: this.intentOf(charge.id),
      reason,
      status: 'needs_response',
    };
    this.disputes.push(dispute);
    this.disputed.add(charge.id);
    return dispute;
  }

  /**
   * A dispute moves on (evidence under review, won, lost…): `charge.dispute.closed`
   * when it ends `won`, `lost` or `warning_closed` (final), else `charge.dispute.updated`.
   */
  setDisputeStatus(disputeId, status) {
    const dispute = this.findDispute(disputeId);
    if (!DISPUTE_STATUSES.includes(status)) throw new FakeError(400, error('invalid_request_error', `Invalid dispute status: ${status}`, { param: 'status' }));
    if (dispute.status === status) return dispute;
    if (DISPUTE_CLOSED.includes(dispute.status)) {
      throw new FakeError(400, error('invalid_request_error', `Dispute ${dispute.id} is closed (${dispute.status}).`, { code: 'dispute_already_closed' }));
    }
    const previous = { status: dispute.status };
    dispute.status = status;
    this.emit(DISPUTE_CLOSED.includes(status) ? 'charge.dispute.closed' : 'charge.dispute.updated', dispute.id, previous);
    return dispute;
  }

  /**
   * The disputed amount leaves the balance (`withdrawn`: a balance transaction of
   * -amount, `dispute`) or comes back (`reinstated`: +amount, `dispute_reversal`);
   * `charge.dispute.funds_withdrawn` / `funds_reinstated` is sent. Funds are
   * withdrawn only when they are in, reinstated only when withdrawn.
   */
  disputeFunds(disputeId, direction) {
    const dispute = this.findDispute(disputeId);
    if (direction !== 'withdrawn' && direction !== 'reinstated') {
      throw new FakeError(400, error('invalid_request_error', `Funds are withdrawn or reinstated, not ${direction}`, { param: 'direction' }));
    }
    const out = dispute.balance_transactions.reduce((sum, txn) => sum + txn.amount, 0) < 0;
    if ((direction === 'withdrawn') === out) {
      throw new FakeError(400, error('invalid_request_error', `The funds of dispute ${dispute.id} are ${out ? 'already withdrawn' : 'not withdrawn'}.`, { code: 'dispute_funds_unexpected_state' }));
    }
    const withdrawn = direction === 'withdrawn';
    dispute.balance_transactions.push({
      id: `txn_${randomBytes(12).toString('hex')}`,
      object: 'balance_transaction',
      amount: withdrawn ? -dispute.amount : dispute.amount,
      currency: dispute.currency,
      created: Math.floor(Date.now() / 1000),
      reporting_category: withdrawn ? 'dispute' : 'dispute_reversal',
      type: 'adjustment',
    });
    this.emit(`charge.dispute.funds_${direction}`, dispute.id);
    return dispute;
  }

  findDispute(disputeId) {
    const dispute = this.disputes.find((candidate) => candidate.id === disputeId);
    if (!dispute) throw new FakeError(404, error('invalid_request_error', `No such dispute: '${disputeId}'`, { code: 'resource_missing', param: 'dispute' }));
    return dispute;
  }

  async stop() {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Makes the event about an object as it is now, keeps it in `events` and sends
   * it to the webhook endpoint, if there is one (`held`: kept in `held`; `lost`: never sent).
   */
  emit(type, objectId, previousAttributes) {
    const event = this.event(type, objectId, previousAttributes);
    this.events.push(event);
    if (!this.webhooks || this.webhookMode === 'lost') return;
    event.pending_webhooks = 1;
    if (this.webhookMode === 'held') {
      this.held.push(event);
      return;
    }
    const delivery = { event, attempts: 0, delivered: false, statuses: [] };
    this.deliveries.push(delivery);
    this.deliveryOf.set(event.id, delivery);
    void this.attempt(delivery);
  }

  /** An event of the list as Stripe answers it: `pending_webhooks` as its delivery stands now. */
  eventBody(event) {
    const delivery = this.deliveryOf.get(event.id);
    if (!delivery) return event;
    return { ...event, pending_webhooks: delivery.delivered || delivery.abandoned ? 0 : 1 };
  }

  async attempt(delivery) {
    if (this.stopped || !this.webhooks) return;
    if (this.webhookMode === 'lost') {
      // Stripe gave up: no more attempts, whatever the mode later.
      delivery.abandoned = true;
      this.log?.(`webhook ${delivery.event.type} ${delivery.event.data.object.id} (${delivery.event.id}) given up`);
      return;
    }
    delivery.attempts += 1;
    const { url, secret } = this.webhooks;
    let status = 0;
    if (this.webhookMode !== 'failing') {
      try {
        status = (await this.deliver(url, delivery.event, secret)).status;
      } catch {
        status = 0; // not reached
      }
    }
    delivery.statuses.push(status);
    delivery.delivered = status >= 200 && status < 300;
    const what = `${delivery.event.type} ${delivery.event.data.object.id} (${delivery.event.id})`;
    if (delivery.delivered) {
      this.log?.(`webhook ${what} delivered: ${status}`);
      return;
    }
    const waitMs = Math.min(this.webhookRetryMs * 2 ** (delivery.attempts - 1), WEBHOOK_RETRY_MAX_MS);
    this.log?.(`webhook ${what} not delivered (${status || 'unreachable'}); trying again in ${waitMs} ms`);
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(delivery);
    }, waitMs);
    timer.unref();
    this.timers.add(timer);
  }

  async handle(req, res) {
    const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const idempotencyKey = header(req, 'idempotency-key');
    const [path, search = ''] = (req.url ?? '').split('?');
    const recorded = { method: req.method ?? '', path, idempotencyKey, params, at: Date.now() };
    this.requests.push(recorded);

    // The customer's side (Stripe's 3-D Secure page): no API key, and it works while the API fails us.
    const authenticate = /^\/_test\/payment_intents\/(pi_\w+)\/authenticate$/.exec(path);
    if (req.method === 'POST' && authenticate) {
      const intent = this.intents.find((candidate) => candidate.id === authenticate[1]);
      if (!intent) return send(res, 404, error('invalid_request_error', `No such payment_intent: '${authenticate[1]}'`, { code: 'resource_missing' }));
      if (intent.status !== 'requires_action') {
        return send(res, 400, error('invalid_request_error', `This PaymentIntent is ${intent.status}, not awaiting authentication.`, { code: 'payment_intent_unexpected_state' }));
      }
      const outcome = new URLSearchParams(search).get('outcome') === 'fail' ? 'failed' : 'succeeded';
      return send(res, 200, intentBody(this.completeAction(intent.id, outcome)));
    }
    // What Stripe's side does by itself to refunds and disputes: no API key either.
    if (req.method === 'POST' && path.startsWith('/_test/')) {
      const done = this.testRoute(path, new URLSearchParams(search));
      if (done) return send(res, ...done);
    }

    if (!/^Bearer sk_(test|live)_\w+$/.test(header(req, 'authorization') ?? '')) {
      return send(res, 401, error('authentication_error', 'Invalid API Key provided'));
    }
    const route = routeOf(req.method ?? '', path);
    if (!route) {
      return send(res, 404, error('invalid_request_error', `Unrecognized request URL (${req.method}: ${path})`));
    }
    if (!this.withinRateLimits(route.name)) {
      recorded.rateLimited = true;
      return send(res, 429, rateLimit());
    }
    const creates = route.name === 'charges' || route.name === 'intents.create' || route.name === 'methods.create';
    // PaymentMethod creation (a token becoming a pm_) always answers: the modes act on the payment itself.
    const mode = route.name.startsWith('refunds') ? this.refundMode : route.name === 'methods.create' ? 'normal' : this.mode;
    if (mode === 'hang') return; // never answers; the SDK times out
    if (creates && this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (mode === 'error500') return send(res, 500, error('api_error', 'An unknown error occurred'));
    if (mode === 'rateLimited') return send(res, 429, rateLimit());
    if (req.method === 'GET') return send(res, ...this.read(route, new URLSearchParams(search)));

    const signature = JSON.stringify(Object.entries(params).sort());
    const stored = idempotencyKey ? this.replies.get(idempotencyKey) : undefined;
    if (mode === 'idempotencyError' && creates && idempotencyKey) return send(res, 400, reusedKey());
    if (stored) {
      if (stored.params !== signature) {
        return send(res, 400, reusedKey());
      }
      if (mode === 'chargeThenDrop') return void req.socket.destroy();
      res.setHeader('Idempotent-Replayed', 'true');
      return send(res, stored.status, stored.body);
    }

    if (mode === 'storedError500') {
      const body = error('api_error', 'An unknown error occurred');
      if (idempotencyKey) this.replies.set(idempotencyKey, { params: signature, status: 500, body });
      return send(res, 500, body);
    }
    const [status, body] = this.write(route, params, idempotencyKey);
    if (idempotencyKey) this.replies.set(idempotencyKey, { params: signature, status, body });
    // Done, but no answer ever arrives (the SDK's retry of a reset connection included).
    if (mode === 'chargeThenDrop') return void req.socket.destroy();
    send(res, status, body);
  }

  /** Takes a token from the endpoint's bucket and the account's (`rateLimits`); false when either is empty. */
  withinRateLimits(endpoint) {
    if (!this.rateLimits) return true;
    const now = Date.now();
    const limits = [
      [endpoint, this.rateLimits.perEndpoint],
      ['global', this.rateLimits.global],
    ].filter(([, perSecond]) => perSecond);
    const buckets = limits.map(([key, perSecond]) => {
      const bucket = this.buckets.get(key) ?? { tokens: perSecond, at: now };
      bucket.tokens = Math.min(perSecond, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
      this.buckets.set(key, bucket);
      return bucket;
    });
    if (buckets.some((bucket) => bucket.tokens < 1)) return false;
    for (const bucket of buckets) bucket.tokens -= 1;
    return true;
  }

  /** A POST /_test/… route: [status, body], or undefined when there is none at `path`. */
  testRoute(path, query) {
    const run = (make, body) => {
      try {
        return [200, body(make())];
      } catch (err) {
        if (err instanceof FakeError) return [err.status, err.body];
        throw err;
      }
    };
    const refund = /^\/_test\/refunds\/(re_\w+)\/status$/.exec(path);
    if (refund) return run(() => this.setRefundStatus(refund[1], query.get('status') ?? '', query.get('failure_reason') ?? undefined), refundBody);
    const charge = /^\/_test\/charges\/(ch_\w+)\/dispute$/.exec(path);
    if (charge) {
      const amount = query.get('amount');
      return run(() => this.openDispute(charge[1], { reason: query.get('reason') ?? undefined, amount: amount === null ? undefined : Number(amount) }), disputeBody);
    }
    const status = /^\/_test\/disputes\/(dp_\w+)\/status$/.exec(path);
    if (status) return run(() => this.setDisputeStatus(status[1], query.get('status') ?? ''), disputeBody);
    const funds = /^\/_test\/disputes\/(dp_\w+)\/funds_(withdrawn|reinstated)$/.exec(path);
    if (funds) return run(() => this.disputeFunds(funds[1], funds[2]), disputeBody);
    return undefined;
  }

  write(route, params, idempotencyKey) {
    switch (route.name) {
      case 'charges':
        return this.charge(params, idempotencyKey);
      case 'refunds':
        return this.refund(params, idempotencyKey);
      case 'methods.create':
        return this.createMethod(params);
      case 'intents.create':
        return this.createIntent(params, idempotencyKey);
      case 'intents.cancel':
        return this.cancelIntent(route.id, params);
      default:
        return [404, error('invalid_request_error', 'Unrecognized request URL')];
    }
  }

  read(route, query) {
    if (route.name === 'intents.retrieve') {
      const intent = this.intents.find((candidate) => candidate.id === route.id);
      if (!intent) return [404, error('invalid_request_error', `No such payment_intent: '${route.id}'`, { code: 'resource_missing', param: 'intent' })];
      return [200, intentBody(intent)];
    }
    if (route.name === 'intents.search') {
      // Only the query this service sends: metadata['<key>']:'<value>' (Stripe, "Search query language").
      const match = /^metadata\['(\w+)'\]:'([^']*)'$/.exec(query.get('query') ?? '');
      if (!match) return [400, error('invalid_request_error', 'Unsupported search query', { param: 'query' })];
      const indexedBefore = Date.now() - this.searchLagMs;
      const found = this.intents.filter((intent) => intent.metadata[match[1]] === match[2] && intent.createdMs <= indexedBefore).reverse();
      return [200, { object: 'search_result', url: '/v1/payment_intents/search', has_more: false, next_page: null, data: found.map(intentBody) }];
    }
    if (route.name === 'intents.list') {
      const since = Number(query.get('created[gte]') ?? 0);
      const until = Number(query.get('created[lte]') ?? Infinity);
      const limit = Number(query.get('limit') ?? 10);
      let newestFirst = this.intents.filter((intent) => intent.created >= since && intent.created <= until).reverse();
      const after = query.get('starting_after');
      if (after) newestFirst = newestFirst.slice(newestFirst.findIndex((intent) => intent.id === after) + 1);
      const page = newestFirst.slice(0, limit);
      return [200, { object: 'list', url: '/v1/payment_intents', has_more: newestFirst.length > limit, data: page.map(intentBody) }];
    }
    switch (route.name) {
      case 'refunds.retrieve':
        return retrieved(this.refunds, route.id, 'refund', refundBody);
      case 'refunds.list':
        return listOf(this.refunds, query, '/v1/refunds', refundBody, byParams(query, ['charge', 'payment_intent']));
      case 'charges.retrieve':
        return retrieved(this.charges, route.id, 'charge', (charge) => this.chargeBody(charge));
      case 'disputes.retrieve':
        return retrieved(this.disputes, route.id, 'dispute', disputeBody);
      case 'disputes.list':
        return listOf(this.disputes, query, '/v1/disputes', disputeBody, byParams(query, ['charge', 'payment_intent']));
      case 'events.retrieve':
        return retrieved(this.events, route.id, 'event', (event) => this.eventBody(event));
      case 'events.list': {
        const filter = eventTypes(query);
        if (Array.isArray(filter)) return filter;
        return listOf(this.events, query, '/v1/events', (event) => this.eventBody(event), filter);
      }
      default:
        return [404, error('invalid_request_error', 'Unrecognized request URL')];
    }
  }

  /** A PaymentMethod from a card token (API "Create a PaymentMethod", `card[token]`). */
  createMethod(params) {
    const token = params['card[token]'];
    if (params.type !== 'card' || !token) return [400, error('invalid_request_error', 'Missing required param: card.', { param: 'card' })];
    if (token === INVALID_TOKEN) return [400, error('invalid_request_error', `No such token: '${token}'`, { code: 'resource_missing', param: 'card[token]' })];
    const id = `pm_${randomBytes(12).toString('hex')}`;
    this.methods.set(id, { token, behaviour: tokenBehaviour(token) });
    return [200, { id, object: 'payment_method', type: 'card', card: { brand: 'visa', last4: '4242' }, created: Math.floor(Date.now() / 1000), livemode: false }];
  }

  /** API "Create a PaymentIntent" with `confirm: true`: succeeds, declines (402, the intent in the error) or asks for 3-D Secure. */
  createIntent(params, idempotencyKey) {
    const amount = Number(params.amount);
    if (!Number.isInteger(amount) || amount < 50 || !params.currency) {
      return [400, error('invalid_request_error', 'Invalid amount or currency', { param: 'amount' })];
    }
    if (params.confirm !== 'true') return [400, error('invalid_request_error', 'The fake only confirms at creation', { param: 'confirm' })];
    if (params['payment_method_data[type]'] !== undefined) {
      return [400, error('invalid_request_error', 'payment_method_data is not supported by the fake', { param: 'payment_method_data' })];
    }
    const pm = params.payment_method ?? '';
    const made = this.methods.get(pm);
    const behaviour = made?.behaviour ?? TEST_METHODS[pm];
    if (!behaviour) return [400, error('invalid_request_error', `No such PaymentMethod: '${pm}'`, { code: 'resource_missing', param: 'payment_method' })];
    const id = `pi_${randomBytes(12).toString('hex')}`;
    const intent = {
      id,
      amount,
      currency: params.currency,
      status: 'requires_payment_method',
      paymentMethod: pm,
      source: made?.token ?? pm,
      metadata: metadataOf(params),
      latestCharge: null,
      clientSecret: `${id}_secret_${randomBytes(8).toString('hex')}`,
      created: Math.floor(Date.now() / 1000),
      createdMs: Date.now(),
      idempotencyKey,
    };
    this.intents.push(intent);
    if (behaviour === 'declines') {
      intent.lastError = 'Your card was declined.';
      this.emit('payment_intent.payment_failed', intent.id);
      return [402, error('card_error', 'Your card was declined.', { code: 'card_declined', decline_code: 'generic_decline' }, { payment_intent: intentBody(intent) })];
    }
    if (behaviour === 'requiresAction') {
      intent.status = 'requires_action';
      this.emit('payment_intent.requires_action', intent.id);
    } else {
      this.chargeIntent(intent);
      this.emit('payment_intent.succeeded', intent.id);
    }
    return [200, intentBody(intent)];
  }

  /** API "Cancel a PaymentIntent": only one that has not succeeded (else 400 payment_intent_unexpected_state). */
  cancelIntent(id, params) {
    const intent = this.intents.find((candidate) => candidate.id === id);
    if (!intent) return [404, error('invalid_request_error', `No such payment_intent: '${id}'`, { code: 'resource_missing', param: 'intent' })];
    if (intent.status === 'succeeded' || intent.status === 'canceled') {
      return [400, error('invalid_request_error', `You cannot cancel this PaymentIntent because it has a status of ${intent.status}.`, { code: 'payment_intent_unexpected_state' }, { payment_intent: intentBody(intent) })];
    }
    intent.status = 'canceled';
    intent.cancellationReason = params.cancellation_reason ?? 'requested_by_customer';
    this.emit('payment_intent.canceled', intent.id);
    return [200, intentBody(intent)];
  }

  chargeIntent(intent) {
    const charge = {
      id: `ch_${randomBytes(12).toString('hex')}`,
      amount: intent.amount,
      currency: intent.currency,
      source: intent.source,
      metadata: intent.metadata,
      idempotencyKey: intent.idempotencyKey,
      created: Math.floor(Date.now() / 1000),
    };
    this.charges.push(charge);
    intent.status = 'succeeded';
    intent.latestCharge = charge.id;
  }

  /** Stripe's rules for refunds (API "Create a refund"): an existing charge, not disputed, not refunded past its amount. */
  refund(params, idempotencyKey) {
    const byIntent = params.payment_intent ? this.intents.find((intent) => intent.id === params.payment_intent)?.latestCharge : undefined;
    const chargeId = params.charge ?? byIntent;
    const charge = this.charges.find((candidate) => candidate.id === chargeId);
    if (!charge) {
      return [400, error('invalid_request_error', `No such charge: '${params.charge}'`, { code: 'resource_missing', param: 'charge' })];
    }
    if (this.disputed.has(charge.id)) {
      return [400, error('invalid_request_error', `Charge ${charge.id} has been disputed.`, { code: 'charge_disputed' })];
    }
    const refunded = this.refundedOf(charge.id);
    const amount = params.amount === undefined ? charge.amount - refunded : Number(params.amount);
    if (refunded >= charge.amount) {
      return [400, error('invalid_request_error', `Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' })];
    }
    if (!Number.isInteger(amount) || amount <= 0 || refunded + amount > charge.amount) {
      return [400, error('invalid_request_error', 'Refund amount is greater than unrefunded amount on charge', { param: 'amount' })];
    }
    const refund = {
      id: `re_${randomBytes(12).toString('hex')}`,
      object: 'refund',
      amount,
      charge: charge.id,
      created: Math.floor(Date.now() / 1000),
      currency: charge.currency,
      failure_reason: this.refundStatus === 'failed' ? 'unknown' : null,
      metadata: metadataOf(params),
      payment_intent: this.intentOf(charge.id),
      reason: params.reason ?? null,
      status: this.refundStatus,
      idempotencyKey,
    };
    this.refunds.push(refund);
    this.emit('refund.created', refund.id);
    this.emit('charge.refunded', charge.id);
    return [200, refundBody(refund)];
  }

  charge(params, idempotencyKey) {
    const amount = Number(params.amount);
    if (!Number.isInteger(amount) || amount < 50 || !params.currency) {
      return [400, error('invalid_request_error', 'Invalid amount or currency', { param: 'amount' })];
    }
    if (params.source === INVALID_TOKEN) {
      return [400, error('invalid_request_error', `No such token: '${params.source}'`, { code: 'resource_missing', param: 'source' })];
    }
    if (params.source === DECLINED_TOKEN) {
      return [402, error('card_error', 'Your card was declined.', { code: 'card_declined', decline_code: 'generic_decline' })];
    }
    const metadata = metadataOf(params);
    const charge = {
      id: `ch_${randomBytes(12).toString('hex')}`,
      amount,
      currency: params.currency,
      source: params.source,
      metadata,
      idempotencyKey,
      created: Math.floor(Date.now() / 1000),
    };
    this.charges.push(charge);
    return [
      200,
      {
        id: charge.id,
        object: 'charge',
        amount,
        amount_captured: amount,
        currency: charge.currency,
        captured: true,
        paid: true,
        status: 'succeeded',
        description: params.description ?? null,
        failure_message: null,
        metadata,
        livemode: false,
        created: Math.floor(Date.now() / 1000),
      },
    ];
  }
}

function routeOf(method, path) {
  if (method === 'POST') {
    if (path === '/v1/charges') return { name: 'charges' };
    if (path === '/v1/refunds') return { name: 'refunds' };
    if (path === '/v1/payment_methods') return { name: 'methods.create' };
    if (path === '/v1/payment_intents') return { name: 'intents.create' };
    const cancel = /^\/v1\/payment_intents\/(pi_\w+)\/cancel$/.exec(path);
    if (cancel) return { name: 'intents.cancel', id: cancel[1] };
  }
  if (method === 'GET') {
    if (path === '/v1/refunds') return { name: 'refunds.list' };
    if (path === '/v1/disputes') return { name: 'disputes.list' };
    if (path === '/v1/events') return { name: 'events.list' };
    const read = /^\/v1\/(refunds|charges|disputes|events)\/((?:re|ch|dp|evt)_\w+)$/.exec(path);
    if (read) return { name: `${read[1]}.retrieve`, id: read[2] };
    if (path === '/v1/payment_intents') return { name: 'intents.list' };
    if (path === '/v1/payment_intents/search') return { name: 'intents.search' };
    const one = /^\/v1\/payment_intents\/(pi_\w+)$/.exec(path);
    if (one) return { name: 'intents.retrieve', id: one[1] };
  }
  return undefined;
}

/** The PaymentIntent as Stripe answers it (only the fields this service reads, and a few more). */
function intentBody(intent) {
  return {
    id: intent.id,
    object: 'payment_intent',
    amount: intent.amount,
    amount_received: intent.status === 'succeeded' ? intent.amount : 0,
    currency: intent.currency,
    status: intent.status,
    client_secret: intent.clientSecret,
    confirmation_method: 'automatic',
    capture_method: 'automatic',
    payment_method: intent.paymentMethod,
    payment_method_types: ['card'],
    latest_charge: intent.latestCharge,
    metadata: intent.metadata,
    cancellation_reason: intent.cancellationReason ?? null,
    last_payment_error: intent.lastError ? { type: 'card_error', code: 'card_declined', message: intent.lastError } : null,
    next_action: intent.status === 'requires_action' ? { type: 'use_stripe_sdk', use_stripe_sdk: {} } : null,
    created: intent.created,
    livemode: false,
  };
}

/** The refund as Stripe answers it (API "The Refund object", the fields this fake keeps). */
function refundBody(refund) {
  const { idempotencyKey: _key, ...body } = refund;
  return body;
}

/** The dispute as Stripe answers it (API "The Dispute object", the fields this fake keeps). */
function disputeBody(dispute) {
  return { ...dispute, balance_transactions: dispute.balance_transactions.map((txn) => ({ ...txn })), metadata: { ...dispute.metadata } };
}

/** A Stripe error thrown by the fake's own methods; the /_test routes answer it. */
class FakeError extends Error {
  constructor(status, body) {
    super(body.error.message);
    this.status = status;
    this.body = body;
  }
}

/** GET /v1/<things>/<id>: the object, or Stripe's 404. */
function retrieved(items, id, name, body) {
  const found = items.find((item) => item.id === id);
  if (!found) return [404, error('invalid_request_error', `No such ${name}: '${id}'`, { code: 'resource_missing', param: 'id' })];
  return [200, body(found)];
}

/** Only the items whose `keys` equal the query's, for the keys it has. */
function byParams(query, keys) {
  const wanted = keys.filter((key) => query.has(key)).map((key) => [key, query.get(key)]);
  return (item) => wanted.every(([key, value]) => item[key] === value);
}

/**
 * The events list's type filter (API "List all events"): `type`, exact or with `*`
 * as a wildcard, or `types` (up to 20 exact types, as `types[0]=…` the SDK sends, or
 * `types[]=…`), not both. A 400 answer ([status, body]) when the query is wrong.
 */
function eventTypes(query) {
  const types = [];
  for (const [key, value] of query) if (/^types\[\d*\]$/.test(key) || key === 'types') types.push(value);
  const type = query.get('type');
  if (type !== null && types.length > 0) return [400, error('invalid_request_error', 'You may pass either type or types, but not both.', { param: 'types' })];
  if (types.length > 20) return [400, error('invalid_request_error', 'You may pass at most 20 types.', { param: 'types' })];
  if (types.length > 0) return (event) => types.includes(event.type);
  if (type === null) return () => true;
  const literal = (part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^${type.split('*').map(literal).join('.*')}$`);
  return (event) => pattern.test(event.type);
}

/**
 * One page of a list as Stripe answers it (API "Pagination"): `items` (oldest
 * first) that `keep`, and within `created[gt|gte|lt|lte]` (or `created`
 * exactly), newest first; `limit` 1-100 (10); after `starting_after` (older) or
 * before `ending_before` (the newer ones just before it), the cursor placed
 * where it stands among all `items`.
 */
function listOf(items, query, url, body, keep) {
  const limit = Number(query.get('limit') ?? 10);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return [400, error('invalid_request_error', 'Invalid limit: must be an integer between 1 and 100', { param: 'limit' })];
  }
  const bounds = [];
  for (const [op, test] of Object.entries({ gt: (a, b) => a > b, gte: (a, b) => a >= b, lt: (a, b) => a < b, lte: (a, b) => a <= b })) {
    const value = query.get(`created[${op}]`);
    if (value !== null) bounds.push((created) => test(created, Number(value)));
  }
  if (query.has('created')) bounds.push((created) => created === Number(query.get('created')));
  const after = query.get('starting_after');
  const before = query.get('ending_before');
  if (after && before) return [400, error('invalid_request_error', 'You may pass either starting_after or ending_before, not both.', { param: 'ending_before' })];
  const cursor = after || before;
  let position = -1;
  if (cursor) {
    position = items.findIndex((item) => item.id === cursor);
    if (position < 0) return [400, error('invalid_request_error', `No such object: '${cursor}'`, { code: 'resource_missing', param: after ? 'starting_after' : 'ending_before' })];
  }
  const kept = [];
  items.forEach((item, index) => {
    if (after && index >= position) return;
    if (before && index <= position) return;
    if (keep(item) && bounds.every((within) => within(item.created))) kept.push(item);
  });
  const newestFirst = kept.reverse();
  // ending_before: the `limit` just newer than the cursor; has_more: newer ones still.
  const page = before ? newestFirst.slice(Math.max(0, newestFirst.length - limit)) : newestFirst.slice(0, limit);
  return [200, { object: 'list', url, has_more: newestFirst.length > limit, data: page.map(body) }];
}

function metadataOf(params) {
  return Object.fromEntries(
    Object.entries(params)
      .filter(([key]) => key.startsWith('metadata['))
      .map(([key, value]) => [key.slice('metadata['.length, -1), value]),
  );
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function header(req, name) {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function error(type, message, extra = {}, objects = {}) {
  return { error: { type, message, ...extra, ...objects } };
}

/** Stripe's answer to a request over its rate limits (docs "Rate limits", error code `rate_limit`). */
function rateLimit() {
  return error('invalid_request_error', 'Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.', {
    code: 'rate_limit',
    doc_url: 'https://stripe.com/docs/error-codes/rate-limit',
  });
}

function reusedKey() {
  return error('idempotency_error', 'Keys for idempotent requests can only be used with the same parameters they were first used with.');
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': `req_${randomBytes(6).toString('hex')}` });
  res.end(JSON.stringify(body));
}

module.exports = {
  FakeStripe,
  DECLINED_TOKEN,
  INVALID_TOKEN,
  VISA_PM,
  DECLINED_PM,
  THREE_D_SECURE_PM,
  THREE_D_SECURE_TOKEN,
};
