import { Logger } from '../logger';
import { ChargeAttempts } from './charge-attempt';
import { Payment, PaymentState } from './payment';
import { ProviderEvent } from './payment-provider';
import { HandledEventStore, PaymentClaimStore } from './stores';

/**
 * Applies Stripe's webhook events, each event id once (Stripe, "Receive Stripe
 * events": events may arrive more than once and in any order). The payload is
 * not trusted for state: a PaymentIntent event makes the payment it belongs to
 * ask Stripe through the same attempt recovery runs, so events in any order, or
 * twice, only ever move a payment forward (charging to succeeded, or released).
 * A refunded charge and a dispute are recorded and logged; a dispute at error
 * level, for an operator.
 */
export class StripeEvents {
  constructor(
    private readonly stores: { events: HandledEventStore; claims: PaymentClaimStore },
    private readonly attempts: ChargeAttempts,
    private readonly logger: Logger,
  ) {}

  /**
   * `duplicate`: this event id was handled before and nothing was done.
   * Throws when the database fails (the endpoint then answers 5xx and Stripe redelivers).
   */
  async apply(event: ProviderEvent): Promise<'handled' | 'duplicate'> {
    const { events, claims } = this.stores;
    if (await events.seen(event.id)) return 'duplicate';
    const log = this.logger.child({ eventId: event.id, type: event.type, objectId: event.objectId });
    let payment: Payment | null = null;
    let detail: string | undefined;

    switch (event.kind) {
      case 'payment_intent':
        payment = await claims.findByProviderIds({ paymentId: event.paymentId, paymentIntentId: event.paymentIntentId });
        if (payment?.state === PaymentState.Charging) {
          const claim = await claims.takeOverForEvent(payment._id);
          // Null: the request or recovery holding it is asking Stripe right now.
          if (claim) await this.attempts.run(claim);
        } else if (event.succeeded && payment?.state !== PaymentState.Succeeded) {
          log.error({ paymentId: payment ? String(payment._id) : undefined, state: payment?.state }, 'a PaymentIntent succeeded for no charging payment of this service: an operator must look');
        }
        break;
      case 'charge_refunded':
        payment = await claims.findByProviderIds({ stripeId: event.chargeId });
        log.info({ paymentId: payment ? String(payment._id) : undefined }, 'Stripe reports the charge refunded');
        break;
      case 'dispute_created':
        payment = await claims.findByProviderIds({ stripeId: event.chargeId });
        detail = `${event.reason} ${event.amount} ${event.currency}`;
        log.error(
          { paymentId: payment ? String(payment._id) : undefined, orderId: payment?.orderId, charge: event.chargeId, reason: event.reason, amount: event.amount },
          'a charge is disputed: an operator must look',
        );
        break;
      case 'other':
        log.debug('Stripe event ignored');
    }

    // `duplicate`: another delivery of the same event was handled meanwhile.
    const recorded = await events.record({ _id: event.id, type: event.type, objectId: event.objectId, paymentId: payment?._id, detail });
    return recorded === 'recorded' ? 'handled' : 'duplicate';
  }
}
