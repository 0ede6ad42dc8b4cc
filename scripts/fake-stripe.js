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
 * - `hang`: never answers; `rateLimited`: 429;
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

class FakeStripe {
  constructor(server, host) {
    this.server = server;
    this.host = host;
    this.mode = 'normal';
    this.refundMode = 'normal';
    /** Answers charges this much later, as a slow Stripe would. */
    this.delayMs = 0;
    this.charges = [];
    this.refunds = [];
    this.intents = [];
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
    /** Where events are sent (`{ url, secret }`); none: no event is sent. */
    this.webhooks = undefined;
    this.webhookMode = 'normal';
    this.webhookRetryMs = 1000;
    /** Every event sent or being sent, with its attempts. */
    this.deliveries = [];
    /** Events kept while `webhookMode` is `held`. */
    this.held = [];
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
   * object"): `payment_intent.*` for a PaymentIntent, `charge.refunded` for a
   * charge, `charge.dispute.created` for a charge (a dispute on it is made).
   */
  event(type, objectId) {
    let object;
    if (type.startsWith('payment_intent.')) {
      const intent = this.intents.find((candidate) => candidate.id === objectId);
      if (!intent) throw new Error(`no PaymentIntent ${objectId}`);
      object = intentBody(intent);
    } else {
      const charge = this.charges.find((candidate) => candidate.id === objectId);
      if (!charge) throw new Error(`no charge ${objectId}`);
      if (type === 'charge.dispute.created') {
        this.disputed.add(charge.id);
        object = { id: `dp_${randomBytes(12).toString('hex')}`, object: 'dispute', charge: charge.id, amount: charge.amount, currency: charge.currency, reason: 'fraudulent', status: 'needs_response' };
      } else {
        const refunded = this.refunds.filter((refund) => refund.charge === charge.id).reduce((sum, refund) => sum + refund.amount, 0);
        object = { id: charge.id, object: 'charge', amount: charge.amount, amount_refunded: refunded || charge.amount, refunded: true, currency: charge.currency, metadata: charge.metadata };
      }
    }
    return { id: `evt_${randomBytes(12).toString('hex')}`, object: 'event', type, api_version: '2025-01-27', created: Math.floor(Date.now() / 1000), livemode: false, data: { object } };
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

  requestsFor(orderId) {
    return this.requests.filter((request) => request.params['metadata[orderId]'] === orderId);
  }

  async stop() {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Sends the event about an object as it is now to the webhook endpoint, if there is one. */
  emit(type, objectId) {
    if (!this.webhooks) return;
    const event = this.event(type, objectId);
    if (this.webhookMode === 'held') {
      this.held.push(event);
      return;
    }
    const delivery = { event, attempts: 0, delivered: false, statuses: [] };
    this.deliveries.push(delivery);
    void this.attempt(delivery);
  }

  async attempt(delivery) {
    if (this.stopped || !this.webhooks) return;
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
    this.requests.push({ method: req.method ?? '', path, idempotencyKey, params });

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

    if (!/^Bearer sk_(test|live)_\w+$/.test(header(req, 'authorization') ?? '')) {
      return send(res, 401, error('authentication_error', 'Invalid API Key provided'));
    }
    const route = routeOf(req.method ?? '', path);
    if (!route) {
      return send(res, 404, error('invalid_request_error', `Unrecognized request URL (${req.method}: ${path})`));
    }
    const creates = route.name === 'charges' || route.name === 'intents.create' || route.name === 'methods.create';
    // PaymentMethod creation (a token becoming a pm_) always answers: the modes act on the payment itself.
    const mode = route.name === 'refunds' ? this.refundMode : route.name === 'methods.create' ? 'normal' : this.mode;
    if (mode === 'hang') return; // never answers; the SDK times out
    if (creates && this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (mode === 'error500') return send(res, 500, error('api_error', 'An unknown error occurred'));
    if (mode === 'rateLimited') return send(res, 429, error('rate_limit_error', 'Too many requests hit the API too quickly.'));
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
    return [404, error('invalid_request_error', 'Unrecognized request URL')];
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
    const refunded = this.refunds.filter((refund) => refund.charge === charge.id).reduce((sum, refund) => sum + refund.amount, 0);
    const amount = params.amount === undefined ? charge.amount - refunded : Number(params.amount);
    if (refunded >= charge.amount) {
      return [400, error('invalid_request_error', `Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' })];
    }
    if (!Number.isInteger(amount) || amount <= 0 || refunded + amount > charge.amount) {
      return [400, error('invalid_request_error', 'Refund amount is greater than unrefunded amount on charge', { param: 'amount' })];
    }
    const refund = { id: `re_${randomBytes(12).toString('hex')}`, charge: charge.id, amount, metadata: metadataOf(params), idempotencyKey };
    this.refunds.push(refund);
    this.emit('charge.refunded', charge.id);
    return [
      200,
      {
        id: refund.id,
        object: 'refund',
        amount,
        charge: charge.id,
        currency: charge.currency,
        metadata: refund.metadata,
        reason: params.reason ?? null,
        status: 'succeeded',
        created: Math.floor(Date.now() / 1000),
      },
    ];
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
