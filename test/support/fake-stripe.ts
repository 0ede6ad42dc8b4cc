import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/**
 * A small stateful stand-in for Stripe's charges and refunds APIs, spoken to by
 * the real SDK. It keeps charges and refunds and honours Idempotency-Key as
 * Stripe does: the same key with the same parameters replays the stored
 * response, with other parameters it is an idempotency_error. `mode` (charges)
 * and `refundMode` (refunds) make it fail the way Stripe and networks do.
 */
export type FakeStripeMode = 'normal' | 'error500' | 'rateLimited' | 'hang' | 'chargeThenDrop';

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

export class FakeStripe {
  mode: FakeStripeMode = 'normal';
  refundMode: FakeStripeMode = 'normal';
  /** Answers charges this much later, as a slow Stripe would. */
  delayMs = 0;
  readonly charges: FakeCharge[] = [];
  readonly refunds: FakeRefund[] = [];
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
    const endpoint = req.method === 'POST' ? ENDPOINTS[path] : undefined;
    if (!endpoint) {
      return send(res, 404, error('invalid_request_error', `Unrecognized request URL (${req.method}: ${path})`));
    }
    const mode = endpoint === 'charges' ? this.mode : this.refundMode;
    if (mode === 'hang') return; // never answers; the SDK times out
    if (endpoint === 'charges' && this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (mode === 'error500') return send(res, 500, error('api_error', 'An unknown error occurred'));
    if (mode === 'rateLimited') return send(res, 429, error('rate_limit_error', 'Too many requests hit the API too quickly.'));

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

    const [status, body] = endpoint === 'charges' ? this.charge(params, idempotencyKey) : this.refund(params, idempotencyKey);
    if (idempotencyKey) this.replies.set(idempotencyKey, { params: signature, status, body });
    // Done, but no answer ever arrives (the SDK's retry of a reset connection included).
    if (mode === 'chargeThenDrop') return void req.socket.destroy();
    send(res, status, body);
  }

  /** Stripe's rules for refunds (API "Create a refund"): an existing charge, not disputed, not refunded past its amount. */
  private refund(params: Record<string, string>, idempotencyKey?: string): [number, unknown] {
    const charge = this.charges.find((candidate) => candidate.id === params.charge);
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

const ENDPOINTS: Record<string, 'charges' | 'refunds' | undefined> = { '/v1/charges': 'charges', '/v1/refunds': 'refunds' };

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

function error(type: string, message: string, extra: Record<string, string> = {}) {
  return { error: { type, message, ...extra } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': `req_${randomBytes(6).toString('hex')}` });
  res.end(JSON.stringify(body));
}
