import Stripe from 'stripe';
import { ChargeOutcome, ChargeRequest, LookupOutcome } from '../payments/payment-provider';
import { noDefiniteAnswer } from './errors';

/** How many PaymentIntents a closed-window listing reads at most (10 pages) before it gives up (the answer is then `unknown`). */
const LIST_LIMIT = 1000;
/** Allowed clock difference between us and Stripe when a window of creation times is listed, in seconds. */
const CLOCK_SKEW_S = 60;

/**
 * Charges through PaymentIntents (API "Create a PaymentIntent", `confirm: true`,
 * `automatic_payment_methods.allow_redirects: 'never'` so no `return_url` is needed), reads what
 * exists, and cancels. Stripe's errors are told apart by class and code, never
 * by message text.
 */
export class StripeCharges {
  constructor(private readonly stripe: Stripe) {}

  /**
   * Creates and confirms a PaymentIntent. A card token first becomes a
   * PaymentMethod (API "Create a PaymentMethod", `card[token]`, under the key
   * `<idempotencyKey>-pm`): that is the form Stripe's OpenAPI accepts.
   */
  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    let paymentMethod: string;
    if ('token' in request.method) {
      try {
        const created = await this.stripe.paymentMethods.create(
          { type: 'card', card: { token: request.method.token } },
          { idempotencyKey: `${request.idempotencyKey}-pm` },
        );
        paymentMethod = created.id;
      } catch (err) {
        return classify(err, 'token');
      }
    } else {
      paymentMethod = request.method.paymentMethodId;
    }
    try {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount: request.amount,
          currency: request.currency,
          payment_method: paymentMethod,
          // Cards only in effect: no redirect-based method, so confirming needs no return_url (API "Create a PaymentIntent").
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          confirm: true,
          metadata: request.metadata,
          description: `Order ${request.metadata.orderId}`,
        },
        { idempotencyKey: request.idempotencyKey },
      );
      // A replay is the PaymentIntent as it was when first created: ask for what it is now.
      if (replayed(intent.lastResponse?.headers)) return fromIntent(await this.stripe.paymentIntents.retrieve(intent.id));
      return fromIntent(intent);
    } catch (err) {
      return classify(err, 'token' in request.method ? 'token' : 'paymentMethodId');
    }
  }

  /**
   * What Stripe holds for a claim: the PaymentIntent `paymentIntentId` when it is
   * known, else the one Search finds by `metadata['paymentId']` (API "Search
   * PaymentIntents"): one call whatever the account's size. `none` is not
   * certain: Stripe's "Search" guide ("Data freshness") says an object is
   * searchable within about a minute, so one just created may be missing.
   */
  async lookup(claim: { paymentId: string; paymentIntentId?: string }): Promise<LookupOutcome> {
    try {
      if (claim.paymentIntentId) return fromIntent(await this.stripe.paymentIntents.retrieve(claim.paymentIntentId)) as LookupOutcome;
      const found = await this.stripe.paymentIntents.search({ query: `metadata['paymentId']:'${claim.paymentId}'`, limit: 10 });
      const intent = found.data.find((candidate) => candidate.metadata?.paymentId === claim.paymentId);
      return intent ? (fromIntent(intent) as LookupOutcome) : { kind: 'none' };
    } catch (err) {
      return noAnswer(err);
    }
  }

  /**
   * The claim's PaymentIntent among those created in a closed window of time (API
   * "List all PaymentIntents", `created[gte]`/`created[lte]`): lists are read after
   * write, so `none` is certain. The window no longer grows, so its cost is bounded;
   * past 1,000 PaymentIntents the answer is `unknown`.
   */
  async findCreated(claim: { paymentId: string; from: Date; to: Date }): Promise<LookupOutcome> {
    try {
      const created = { gte: seconds(claim.from) - CLOCK_SKEW_S, lte: seconds(claim.to) + CLOCK_SKEW_S };
      let read = 0;
      for await (const intent of this.stripe.paymentIntents.list({ created, limit: 100 })) {
        if (intent.metadata?.paymentId === claim.paymentId) return fromIntent(intent) as LookupOutcome;
        read += 1;
        if (read >= LIST_LIMIT) return { kind: 'unknown', message: `no answer among ${read} PaymentIntents created in the claim's window` };
      }
      return { kind: 'none' };
    } catch (err) {
      return noAnswer(err);
    }
  }

  /**
   * Cancels a PaymentIntent nobody completed (API "Cancel a PaymentIntent",
   * `abandoned`); one that succeeded meanwhile answers with what it is.
   */
  async cancel(paymentIntentId: string): Promise<LookupOutcome> {
    try {
      return fromIntent(await this.stripe.paymentIntents.cancel(paymentIntentId, { cancellation_reason: 'abandoned' })) as LookupOutcome;
    } catch (err) {
      if (err instanceof Stripe.errors.StripeInvalidRequestError && err.code === 'payment_intent_unexpected_state') {
        return this.lookup({ paymentId: '', paymentIntentId });
      }
      return noAnswer(err);
    }
  }
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** A read that failed says nothing about what exists. */
function noAnswer(err: unknown): LookupOutcome {
  const outcome = classify(err);
  return outcome.kind === 'unavailable' ? outcome : { kind: 'unknown', message: 'message' in outcome ? outcome.message : String(err) };
}

function replayed(headers: Record<string, string | string[] | undefined> | undefined): boolean {
  const value = headers?.['idempotent-replayed'];
  return (Array.isArray(value) ? value[0] : value) === 'true';
}

function fromIntent(intent: Stripe.PaymentIntent): ChargeOutcome {
  switch (intent.status) {
    case 'succeeded': {
      const charge = typeof intent.latest_charge === 'string' ? intent.latest_charge : intent.latest_charge?.id;
      if (!charge) return { kind: 'unknown', message: `PaymentIntent ${intent.id} succeeded without a charge` };
      return { kind: 'charged', stripeId: charge, paymentIntentId: intent.id };
    }
    case 'requires_action':
      return { kind: 'requires_action', paymentIntentId: intent.id, clientSecret: intent.client_secret ?? '' };
    case 'processing':
    case 'requires_capture':
    case 'requires_confirmation':
      return { kind: 'processing', paymentIntentId: intent.id };
    case 'canceled':
      return { kind: 'declined', message: 'The payment was cancelled', paymentIntentId: intent.id, canceled: true };
    case 'requires_payment_method':
    default:
      return { kind: 'declined', message: intent.last_payment_error?.message ?? 'Your card was declined.', paymentIntentId: intent.id };
  }
}

function classify(err: unknown, method?: 'token' | 'paymentMethodId'): ChargeOutcome {
  const { errors } = Stripe;
  if (err instanceof errors.StripeCardError) {
    return { kind: 'declined', message: err.message, paymentIntentId: err.payment_intent?.id };
  }
  if (err instanceof errors.StripeIdempotencyError) {
    return { kind: 'idempotency_conflict', message: err.message };
  }
  if (err instanceof errors.StripeInvalidRequestError) {
    if (err.type === 'idempotency_error') return { kind: 'idempotency_conflict', message: err.message };
    const aboutMethod =
      err.param === 'payment_method' || err.param?.startsWith('card') || err.code === 'resource_missing' || err.code === 'token_already_used';
    if (aboutMethod && method) {
      const message = method === 'token' ? 'The card token is invalid, expired or already used' : 'The payment method is invalid or cannot be used';
      return { kind: 'rejected', message, field: method };
    }
    // Stripe's own minimum (the equivalent of 0.50 USD) or maximum for a currency it documents no fixed limit for.
    if (err.code === 'amount_too_small' || err.code === 'amount_too_large' || err.code === 'invalid_charge_amount') {
      return { kind: 'rejected', message: 'The order amount cannot be charged in this currency', amount: true };
    }
    return { kind: 'rejected', message: 'The payment provider rejected the charge' };
  }
  const outcome = noDefiniteAnswer(err);
  if (outcome.kind === 'unavailable') return outcome;
  // The payment may exist; `replayed`: Stripe answered with what it stored under the key.
  const headers = err instanceof errors.StripeError ? (err as unknown as { headers?: Record<string, string | undefined> }).headers : undefined;
  return { ...outcome, replayed: replayed(headers) };
}
