import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import Stripe from 'stripe';

/**
 * A small stateful stand-in for Stripe's PaymentMethods, PaymentIntents, Charges
 * and Refunds APIs, spoken to by the real SDK. It keeps what it creates and
 * honours Idempotency-Key as Stripe does: the same key with the same parameters
 * replays the stored response (with `Idempotent-Replayed: true`), with other
 * parameters it is an idempotency_error. `mode` (payments: PaymentIntents and
 * charges; reads of intents too for `error500`, `rateLimited`, `hang`; never
 * PaymentMethod creation)
 * and `refundMode` (refunds) make it fail the way Stripe and networks do:
 * - `error500`: 500, nothing stored under the key (the next try runs afresh);
 * - `storedError500`: 500 stored under the key, nothing created (Stripe keeps a
 *   500 it answered once the request began executing: every replay gets it);
 * - `chargeThenDrop`: done, but the connection is dropped before the answer;
 * - `hang`: never answers; `rateLimited`: 429.
 */
export type FakeStripeMode = 'normal' | 'error500' | 'storedError500' | 'rateLimited' | 'hang' | 'chargeThenDrop';

/** A PaymentIntent as the fake keeps it (Stripe API, "The PaymentIntent object"). */
export interface FakeIntent {
  id: string;
  amount: number;
  currency: string;
  status: 'requires_payment_method' | 'requires_action' | 'processing' | 'succeeded' | 'canceled';
  paymentMethod: string;
  /** What the customer paid with, as the request named it (a token or a pm_ id). */
  source: string;
  metadata: Record<string, string>;
  latestCharge: string | null;
  clientSecret: string;
  created: number;
  lastError?: string;
  cancellationReason?: string;
  idempotencyKey?: string;
}

export interface FakeCharge {
  id: string;
  amount: number;
  currency: string;
  source: string;
  metadata: Record<string, string>;
  idempotencyKey?: string;
}

export interface FakeRefund {
  id: string;
  charge: string;
  amount: number;
  metadata: Record<string, string>;
  idempotencyKey?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey?: string;
  params: Record<string, string>;
}

export const DECLINED_TOKEN = 'tok_chargeDeclined';
export const INVALID_TOKEN = 'tok_doesNotExist';
/** Stripe's test PaymentMethods (docs "Testing": pm_card_visa, pm_card_chargeDeclined, pm_card_threeDSecure2Required). */
export const VISA_PM = 'pm_card_visa';
export const DECLINED_PM = 'pm_card_chargeDeclined';
export const THREE_D_SECURE_PM = 'pm_card_threeDSecure2Required';
export const THREE_D_SECURE_TOKEN = 'tok_threeDSecure2Required';

type CardBehaviour = 'succeeds' | 'declines' | 'requiresAction';
const TEST_METHODS: Record<string, CardBehaviour> = { [VISA_PM]: 'succeeds', [DECLINED_PM]: 'declines', [THREE_D_SECURE_PM]: 'requiresAction' };
function tokenBehaviour(token: string): CardBehaviour {
  if (token === DECLINED_TOKEN) return 'declines';
  if (token === THREE_D_SECURE_TOKEN) return 'requiresAction';
  return 'succeeds';
}

export class FakeStripe {
  mode: FakeStripeMode = 'normal';
  refundMode: FakeStripeMode = 'normal';
  /** Answers charges this much later, as a slow Stripe would. */
  delayMs = 0;
  readonly charges: FakeCharge[] = [];
  readonly refunds: FakeRefund[] = [];
  readonly intents: FakeIntent[] = [];
  /** PaymentMethods made from tokens (`pm_…` → the token and how the card behaves). */
  private readonly methods = new Map<string, { token: string; behaviour: CardBehaviour }>();
  /** Charges with a dispute opened on them: Stripe refuses to refund those. */
  readonly disputed = new Set<string>();
  readonly requests: RecordedRequest[] = [];
  private readonly replies = new Map<string, { params: string; status: number; body: unknown }>();
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeStripe> {
    let fake: FakeStripe | undefined;
    const server = createServer((req, res) => void fake!.handle(req, res));
    fake = new FakeStripe(server);
    server.on('connection', (socket) => {
      fake!.sockets.add(socket);
      socket.on('close', () => fake!.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  intentsFor(orderId: string): FakeIntent[] {
    return this.intents.filter((intent) => intent.metadata.orderId === orderId);
  }

  /**
   * The customer finishes (or fails) 3-D Secure for a PaymentIntent in
   * `requires_action`, as Stripe.js would: it then succeeds with a charge, or
   * goes back to `requires_payment_method`.
   */
  completeAction(intentId: string, outcome: 'succeeded' | 'failed'): FakeIntent {
    const intent = this.intents.find((candidate) => candidate.id === intentId);
    if (!intent || intent.status !== 'requires_action') throw new Error(`no PaymentIntent ${intentId} awaiting action`);
    if (outcome === 'succeeded') this.chargeIntent(intent);
    else {
      intent.status = 'requires_payment_method';
      intent.lastError = 'We are unable to authenticate your payment method.';
    }
    return intent;
  }

  /**
   * A Stripe event about one of the fake's objects as it is now (API "The Event
   * object"): `payment_intent.*` for a PaymentIntent, `charge.refunded` for a
   * charge, `charge.dispute.created` for a charge (a dispute on it is made).
   */
  event(type: string, objectId: string): Record<string, unknown> {
    let object: unknown;
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
        object = { id: charge.id, object: 'charge', amount: charge.amount, amount_refunded: charge.amount, refunded: true, currency: charge.currency, metadata: charge.metadata };
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
  async deliver(url: string, event: Record<string, unknown>, secret: string, options: { timestamp?: number; signature?: string | null } = {}) {
    const payload = JSON.stringify(event);
    const header = new Stripe('sk_test_fake').webhooks.generateTestHeaderString({ payload, secret, timestamp: options.timestamp });
    const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8' };
    const signature = options.signature === undefined ? header : options.signature;
    if (signature !== null) headers['Stripe-Signature'] = signature;
    const res = await fetch(url, { method: 'POST', headers, body: payload });
    return { status: res.status, body: (await res.json()) as unknown };
  }

  /** The card token a PaymentMethod was made from; a test PaymentMethod (`pm_card_visa`) or an unknown id is itself. */
  tokenOf(paymentMethodId: string): string {
    return this.methods.get(paymentMethodId)?.token ?? paymentMethodId;
  }

  chargesFor(orderId: string): FakeCharge[] {
    return this.charges.filter((charge) => charge.metadata.orderId === orderId);
  }

  refundsFor(orderId: string): FakeRefund[] {
    const charges = new Set(this.chargesFor(orderId).map((charge) => charge.id));
    return this.refunds.filter((refund) => charges.has(refund.charge));
  }

  requestsFor(orderId: string): RecordedRequest[] {
    return this.requests.filter((request) => request.params['metadata[orderId]'] === orderId);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const idempotencyKey = header(req, 'idempotency-key');
    const path = (req.url ?? '').split('?')[0];
    this.requests.push({ method: req.method ?? '', path, idempotencyKey, params });

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
    if (req.method === 'GET') return send(res, ...this.read(route, new URLSearchParams((req.url ?? '').split('?')[1] ?? '')));

    const signature = JSON.stringify(Object.entries(params).sort());
    const stored = idempotencyKey ? this.replies.get(idempotencyKey) : undefined;
    if (stored) {
      if (stored.params !== signature) {
        return send(res, 400, error('idempotency_error', 'Keys for idempotent requests can only be used with the same parameters they were first used with.'));
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

  private write(route: Route, params: Record<string, string>, idempotencyKey?: string): [number, unknown] {
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
        return this.cancelIntent(route.id!, params);
      default:
        return [404, error('invalid_request_error', 'Unrecognized request URL')];
    }
  }

  private read(route: Route, query: URLSearchParams): [number, unknown] {
    if (route.name === 'intents.retrieve') {
      const intent = this.intents.find((candidate) => candidate.id === route.id);
      if (!intent) return [404, error('invalid_request_error', `No such payment_intent: '${route.id}'`, { code: 'resource_missing', param: 'intent' })];
      return [200, intentBody(intent)];
    }
    if (route.name === 'intents.search') {
      // Only the query this service sends: metadata['orderId']:'<id>' (Stripe, "Search query language").
      const match = /^metadata\['(\w+)'\]:'([^']*)'$/.exec(query.get('query') ?? '');
      if (!match) return [400, error('invalid_request_error', 'Unsupported search query', { param: 'query' })];
      const found = this.intents.filter((intent) => intent.metadata[match[1]] === match[2]).reverse();
      return [200, { object: 'search_result', url: '/v1/payment_intents/search', has_more: false, next_page: null, data: found.map(intentBody) }];
    }
    if (route.name === 'intents.list') {
      const since = Number(query.get('created[gte]') ?? 0);
      const limit = Number(query.get('limit') ?? 10);
      let newestFirst = this.intents.filter((intent) => intent.created >= since).reverse();
      const after = query.get('starting_after');
      if (after) newestFirst = newestFirst.slice(newestFirst.findIndex((intent) => intent.id === after) + 1);
      const page = newestFirst.slice(0, limit);
      return [200, { object: 'list', url: '/v1/payment_intents', has_more: newestFirst.length > limit, data: page.map(intentBody) }];
    }
    return [404, error('invalid_request_error', 'Unrecognized request URL')];
  }

  /** A PaymentMethod from a card token (API "Create a PaymentMethod", `card[token]`). */
  private createMethod(params: Record<string, string>): [number, unknown] {
    const token = params['card[token]'];
    if (params.type !== 'card' || !token) return [400, error('invalid_request_error', 'Missing required param: card.', { param: 'card' })];
    if (token === INVALID_TOKEN) return [400, error('invalid_request_error', `No such token: '${token}'`, { code: 'resource_missing', param: 'card[token]' })];
    const id = `pm_${randomBytes(12).toString('hex')}`;
    this.methods.set(id, { token, behaviour: tokenBehaviour(token) });
    return [200, { id, object: 'payment_method', type: 'card', card: { brand: 'visa', last4: '4242' }, created: Math.floor(Date.now() / 1000), livemode: false }];
  }

  /** API "Create a PaymentIntent" with `confirm: true`: succeeds, declines (402, the intent in the error) or asks for 3-D Secure. */
  private createIntent(params: Record<string, string>, idempotencyKey?: string): [number, unknown] {
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
    const intent: FakeIntent = {
      id: `pi_${randomBytes(12).toString('hex')}`,
      amount,
      currency: params.currency,
      status: 'requires_payment_method',
      paymentMethod: pm,
      source: made?.token ?? pm,
      metadata: metadataOf(params),
      latestCharge: null,
      clientSecret: '',
      created: Math.floor(Date.now() / 1000),
      idempotencyKey,
    };
    intent.clientSecret = `${intent.id}_secret_${randomBytes(8).toString('hex')}`;
    this.intents.push(intent);
    if (behaviour === 'declines') {
      intent.lastError = 'Your card was declined.';
      return [402, error('card_error', 'Your card was declined.', { code: 'card_declined', decline_code: 'generic_decline' }, { payment_intent: intentBody(intent) })];
    }
    if (behaviour === 'requiresAction') intent.status = 'requires_action';
    else this.chargeIntent(intent);
    return [200, intentBody(intent)];
  }

  /** API "Cancel a PaymentIntent": only one that has not succeeded (else 400 payment_intent_unexpected_state). */
  private cancelIntent(id: string, params: Record<string, string>): [number, unknown] {
    const intent = this.intents.find((candidate) => candidate.id === id);
    if (!intent) return [404, error('invalid_request_error', `No such payment_intent: '${id}'`, { code: 'resource_missing', param: 'intent' })];
    if (intent.status === 'succeeded' || intent.status === 'canceled') {
      return [400, error('invalid_request_error', `You cannot cancel this PaymentIntent because it has a status of ${intent.status}.`, { code: 'payment_intent_unexpected_state' }, { payment_intent: intentBody(intent) })];
    }
    intent.status = 'canceled';
    intent.cancellationReason = params.cancellation_reason ?? 'requested_by_customer';
    return [200, intentBody(intent)];
  }

  private chargeIntent(intent: FakeIntent): void {
    const charge: FakeCharge = {
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
  private refund(params: Record<string, string>, idempotencyKey?: string): [number, unknown] {
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
    const refund: FakeRefund = { id: `re_${randomBytes(12).toString('hex')}`, charge: charge.id, amount, metadata: metadataOf(params), idempotencyKey };
    this.refunds.push(refund);
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

  private charge(params: Record<string, string>, idempotencyKey?: string): [number, unknown] {
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
    const charge: FakeCharge = {
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

type RouteName = 'charges' | 'refunds' | 'methods.create' | 'intents.create' | 'intents.retrieve' | 'intents.list' | 'intents.search' | 'intents.cancel';
interface Route {
  name: RouteName;
  id?: string;
}

function routeOf(method: string, path: string): Route | undefined {
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
function intentBody(intent: FakeIntent) {
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

function metadataOf(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(params)
      .filter(([key]) => key.startsWith('metadata['))
      .map(([key, value]) => [key.slice('metadata['.length, -1), value]),
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function error(type: string, message: string, extra: Record<string, string> = {}, objects: Record<string, unknown> = {}) {
  return { error: { type, message, ...extra, ...objects } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': `req_${randomBytes(6).toString('hex')}` });
  res.end(JSON.stringify(body));
}
