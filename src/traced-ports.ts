import { Attributes, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { EventBus } from './events/bus';
import { Order } from './orders/order';
import { OrderReplicaStore } from './orders/replicate-order';
import { OwesEvents, Payment, Refund } from './payments/payment';
import { ChargeOutcome, LookupOutcome, PaymentProvider, RefundOutcome } from './payments/payment-provider';
import { ChargeOutcomeStore, DisputeStore, HandledEventStore, OrderReader, OwedEventsStore, PaymentClaimStore, RefundStore } from './payments/stores';
import { traced } from './tracing';

/**
 * The spans of the ports the use cases call, put on at composition (use-cases.ts)
 * with the tracing decorator: each call of a method named here is one span, child of
 * the request's, event's or sweep's. Attributes are ids, amounts and outcomes only:
 * never card tokens, PaymentMethod ids, client secrets or keys. Methods called
 * outside any request (the metrics' counts on a scrape) are left out on purpose:
 * each would start a trace of its own.
 */

type ProviderAnswer = ChargeOutcome | LookupOutcome | RefundOutcome | { kind: string };

/** What Stripe answered: its kind and the Stripe ids it names; an error status for no answer. */
function answered(outcome: ProviderAnswer): Attributes {
  const o = outcome as { kind: string; paymentIntentId?: string; stripeId?: string; refundId?: string };
  return {
    'payment_provider.outcome': o.kind,
    ...(o.paymentIntentId ? { 'stripe.payment_intent.id': o.paymentIntentId } : {}),
    ...(o.stripeId ? { 'stripe.charge.id': o.stripeId } : {}),
    ...(o.refundId ? { 'stripe.refund.id': o.refundId } : {}),
  };
}

/** `unavailable` and `unknown`: Stripe gave no answer (the span is marked an error). */
function noAnswer(outcome: { kind: string; message?: string }): string | undefined {
  return outcome.kind === 'unavailable' || outcome.kind === 'unknown' ? `${outcome.kind}: ${outcome.message ?? ''}` : undefined;
}

const client = { kind: SpanKind.CLIENT, error: noAnswer } as const;

/** The payment provider (Stripe): `payment-provider.charge`, `.lookup`, `.refund`… each a client span. */
export function tracedProvider(provider: PaymentProvider): PaymentProvider {
  return traced(provider, 'payment-provider', {
    // The Stripe call budget's slots (STRIPE_MAX_RPS): refused means 503 with Retry-After, before any claim.
    admitCharge: { args: (method) => ({ 'payment.method': method }), result: (admission) => ({ 'stripe.budget.admitted': admission.admitted }) },
    charge: {
      ...client,
      args: (request) => ({
        'payment.id': request.metadata.paymentId,
        'order.id': request.metadata.orderId,
        'payment.amount': request.amount,
        'payment.currency': request.currency,
        'payment.method': 'token' in request.method ? 'token' : 'paymentMethodId',
      }),
      result: answered,
    },
    lookup: { ...client, args: (claim) => ({ 'payment.id': claim.paymentId, ...(claim.paymentIntentId ? { 'stripe.payment_intent.id': claim.paymentIntentId } : {}) }), result: answered },
    findCreated: { ...client, args: (claim) => ({ 'payment.id': claim.paymentId }), result: answered },
    cancel: { ...client, args: (paymentIntentId) => ({ 'stripe.payment_intent.id': paymentIntentId }), result: answered },
    refund: {
      ...client,
      args: (request) => ({ 'stripe.charge.id': request.charge, 'payment.id': request.metadata.paymentId, 'order.id': request.metadata.orderId, 'refund.amount': request.amount }),
      result: answered,
    },
    refundsOf: { ...client, args: (chargeId) => ({ 'stripe.charge.id': chargeId }), result: (r) => ({ 'payment_provider.outcome': r.kind, ...(r.kind === 'listed' ? { 'stripe.refunds': r.refunds.length } : {}) }) },
    dispute: { ...client, args: (disputeId) => ({ 'stripe.dispute.id': disputeId }), result: (r) => ({ 'payment_provider.outcome': r.kind }) },
    eventsBetween: {
      ...client,
      args: (since, until) => ({ 'stripe.events.since': since.toISOString(), ...(until ? { 'stripe.events.until': until.toISOString() } : {}) }),
      result: (r) => ({ 'payment_provider.outcome': r.kind, ...(r.kind === 'listed' ? { 'stripe.events': r.events.length, 'stripe.events.complete': r.complete } : {}) }),
    },
  });
}

const payment = (p: Payment): Attributes => ({ 'payment.id': String(p._id), 'order.id': p.orderId });
const refund = (r: Refund): Attributes => ({ 'refund.id': String(r._id), 'payment.id': String(r.paymentId), 'order.id': r.orderId });
const found = (p: { _id: unknown } | null): Attributes => ({ 'db.found': p !== null });

/** The order replica: `orders.read` (the payment's read of its order) and the replica's writes. */
export function tracedOrders<T extends OrderReader & OrderReplicaStore>(orders: T): T {
  const order = (orderId: string): Attributes => ({ 'order.id': orderId });
  return traced<OrderReader & OrderReplicaStore>(orders, 'orders', {
    find: { name: () => 'orders.read', args: order, result: found },
    statusOf: { name: () => 'orders.read-status', args: order },
    insert: { args: (o: Order) => order(o._id), result: (outcome) => ({ 'db.outcome': outcome }) },
    fillTombstone: { args: (o) => order(o._id) },
    cancel: { args: (orderId) => order(orderId), result: (outcome) => ({ 'db.outcome': outcome }) },
  }) as T;
}

/** Payment attempts: `payments.claim` (the insert that holds the order), the reads and take-overs. */
export function tracedClaims<T extends PaymentClaimStore>(claims: T): T {
  // The store's other methods (countStaleCharging, say) pass through untraced.
  return traced<PaymentClaimStore>(claims, 'payments', {
    insert: { name: () => 'payments.claim', args: payment, result: (outcome) => ({ 'db.outcome': outcome }) },
    findByOrder: { args: (orderId) => ({ 'order.id': orderId }), result: found },
    latestForOrder: { args: (orderId) => ({ 'order.id': orderId }), result: found },
    findById: { args: (id) => ({ 'payment.id': String(id) }), result: found },
    findByProviderIds: { args: (ids) => ({ ...(ids.paymentId ? { 'payment.id': ids.paymentId } : {}), ...(ids.paymentIntentId ? { 'stripe.payment_intent.id': ids.paymentIntentId } : {}), ...(ids.stripeId ? { 'stripe.charge.id': ids.stripeId } : {}) }), result: found },
    takeOver: { name: () => 'payments.take-over', args: (id) => ({ 'payment.id': String(id) }), result: found },
    takeOverForEvent: { name: () => 'payments.take-over-for-event', args: (id) => ({ 'payment.id': String(id) }), result: found },
    expired: { result: (claims) => ({ 'db.count': claims.length }) },
  }) as T;
}

/** The one write each charge outcome makes: `payments.record` (charged), `payments.release`, `payments.defer`. */
export function tracedOutcomes(outcomes: ChargeOutcomeStore): ChargeOutcomeStore {
  return traced(outcomes, 'payments', {
    record: { args: (claim, charge) => ({ ...payment(claim), 'stripe.charge.id': charge.stripeId, ...(charge.paymentIntentId ? { 'stripe.payment_intent.id': charge.paymentIntentId } : {}) }) },
    release: { args: (claim, failure) => ({ ...payment(claim), 'payment.failure': failure.kind }) },
    defer: { args: (claim, retryInMs, what) => ({ ...payment(claim), 'payment.retry_in_ms': retryInMs, 'payment.waiting_for': what }) },
  });
}

/** Refunds: `refunds.insert`, `refunds.record-refunded`… */
export function tracedRefunds(refunds: RefundStore): RefundStore {
  return traced(refunds, 'refunds', {
    insert: { args: (r) => ({ 'payment.id': String(r.paymentId), 'order.id': r.orderId }), result: (r) => ({ 'db.outcome': r ? 'inserted' : 'duplicate' }) },
    findById: { args: (id) => ({ 'refund.id': String(id) }), result: found },
    listByPayment: { args: (id) => ({ 'payment.id': String(id) }) },
    expired: { result: (refunds) => ({ 'db.count': refunds.length }) },
    takeOver: { name: () => 'refunds.take-over', args: (id) => ({ 'refund.id': String(id) }), result: found },
    recordRefunded: { name: () => 'refunds.record-refunded', args: (r, stripe) => ({ ...refund(r), 'stripe.refund.id': stripe.refundId, 'stripe.refund.status': stripe.status }) },
    recordRefused: { name: () => 'refunds.record-refused', args: (r, failure) => ({ ...refund(r), 'refund.refused': failure.code }) },
    defer: { args: (r, retryInMs) => ({ ...refund(r), 'refund.retry_in_ms': retryInMs }) },
    observe: { args: (p, r) => ({ ...payment(p), 'stripe.refund.id': r.refundId, 'stripe.refund.status': r.status }), result: (o) => ({ 'db.outcome': o.kind }) },
    unsettled: { result: (refunds) => ({ 'db.count': refunds.length }) },
  });
}

export function tracedDisputes(disputes: DisputeStore): DisputeStore {
  return traced(disputes, 'disputes', {
    observe: { args: (p, d) => ({ ...payment(p), 'stripe.dispute.id': d.disputeId, 'stripe.dispute.status': d.status }), result: (o) => ({ 'db.outcome': o.kind }) },
    findByPayment: { args: (id) => ({ 'payment.id': String(id) }), result: found },
  });
}

export function tracedHandledEvents(events: HandledEventStore): HandledEventStore {
  return traced(events, 'stripe-events', {
    seen: { args: (eventId) => ({ 'stripe.event.id': eventId }), result: (seen) => ({ 'stripe.event.seen': seen }) },
    record: { args: (e) => ({ 'stripe.event.id': e._id, 'stripe.event.type': e.type }), result: (outcome) => ({ 'db.outcome': outcome }) },
  });
}

/** The outbox's documents owing events (`outbox.<kind>.take-due`…); `countOwing` (a metric) is not traced. */
export function tracedOwed<T extends OwesEvents>(owed: OwedEventsStore<T>, kind: string): OwedEventsStore<T> {
  const doc = (d: T): Attributes => ({ [`${kind === 'payments' ? 'payment' : kind.replace(/s$/, '')}.id`]: String(d._id) });
  return traced(owed, `outbox.${kind}`, {
    takeDue: { name: () => `outbox.${kind}.take-due`, result: (d) => (d ? { ...doc(d), 'db.found': true } : { 'db.found': false }) },
    postpone: { args: (d) => doc(d) },
    clear: { args: (d, steps) => ({ ...doc(d), 'outbox.events': steps.length }) },
  });
}

/** The bus: `bus.publish <subject>`, a producer span (JetStream carries its `traceparent`, jetstream-bus.ts). */
export function tracedBus<B extends EventBus | undefined>(bus: B): B {
  if (!bus) return bus;
  return traced<EventBus>(bus, 'bus', {
    publish: {
      name: (subject) => `bus.publish ${subject}`,
      kind: SpanKind.PRODUCER,
      args: (subject, data, options) => ({
        'messaging.destination.name': subject,
        ...(options?.messageId ? { 'messaging.message.id': options.messageId } : {}),
        ...orderOf(data),
      }),
    },
  }) as B;
}

function orderOf(data: object): Attributes {
  const { orderId } = data as { orderId?: unknown };
  return typeof orderId === 'string' ? { 'order.id': orderId } : {};
}

/** What the Stripe SDK tells of each HTTP request it made (its `response` event); times are ms since the epoch. */
export interface StripeResponseEvent {
  method: string;
  path: string;
  status: number;
  request_id?: string;
  request_start_time: number;
  request_end_time: number;
}

/**
 * One client span per HTTP request the Stripe SDK makes (`stripe POST /v1/payment_intents`,
 * `stripe POST /v1/payment_intents/{id}/cancel`), from its `response` event, child of the
 * span active when the call was made (the provider's): a charge with a card token shows
 * its PaymentMethod and its PaymentIntent calls apart, and an SDK retry is a span of its
 * own. The path's query (a search's metadata) is left out. A request that got no answer
 * emits no event: the provider's span says it.
 */
export function traceStripeRequests(stripe: { on(event: 'response', handler: (event: StripeResponseEvent) => void): unknown }): void {
  const tracer = trace.getTracer('payments');
  stripe.on('response', (event) => {
    const path = event.path.split('?')[0];
    const segments = path.split('/');
    // /v1/<collection>/<id>/<action>: the id is not part of the name.
    if (segments.length > 3 && segments[3] !== 'search') segments[3] = '{id}';
    const span = tracer.startSpan(`stripe ${event.method} ${segments.join('/')}`, {
      kind: SpanKind.CLIENT,
      startTime: event.request_start_time,
      attributes: {
        'http.request.method': event.method,
        'url.path': path,
        'http.response.status_code': event.status,
        ...(event.request_id ? { 'stripe.request_id': event.request_id } : {}),
      },
    });
    if (event.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${event.status}` });
    span.end(event.request_end_time);
  });
}
