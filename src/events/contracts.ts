import { MalformedEvent } from './bus';

/** The platform's event subjects and payloads (see shared/CONTRACT.md). */
export const Subjects = {
  OrderCreated: 'order:created',
  OrderCancelled: 'order:cancelled',
  PaymentCreated: 'payment:created',
  PaymentRefunded: 'payment:refunded',
  PaymentRefundFailed: 'payment:refund_failed',
  PaymentDisputed: 'payment:disputed',
} as const;

export interface OrderCreated {
  id: string;
  version: number;
  status: string;
  userId: string;
  price: number;
}

export interface OrderCancelled {
  id: string;
  version: number;
}

/** `payment:created`: the order is paid. `amount` is in minor units of `currency`. */
export interface PaymentCreated {
  id: string;
  orderId: string;
  /** The Stripe charge id (`ch_…`; with PaymentIntents, its `latest_charge`). */
  stripeId: string;
  /** The PaymentIntent (`pi_…`) that made the charge (contract addition 2026-11-29). */
  paymentIntentId?: string;
  amount: number;
  currency: string;
}

/**
 * `payment:refunded` (CONTRACT.md, 2026-11-29; per refund since 2026-12-05): money was given
 * back, wherever the refund was made; `amount` is this refund's, in minor units (consumers add them up by `refundId`).
 */
export interface PaymentRefunded {
  id: string;
  orderId: string;
  stripeId: string;
  /** The Stripe refund id (`re_…`). */
  refundId: string;
  amount: number;
  currency: string;
}

/** `payment:refund_failed` (CONTRACT.md, 2026-12-05): a refund Stripe accepted failed or was cancelled; the money is not back. `reason`: Stripe's `failure_reason`. */
export interface PaymentRefundFailed {
  id: string;
  orderId: string;
  refundId: string;
  amount: number;
  currency: string;
  reason: string;
}

/** `payment:disputed` (CONTRACT.md, 2026-12-05): a dispute opened or changed status; `reason` and `status` are Stripe's. */
export interface PaymentDisputed {
  id: string;
  orderId: string;
  stripeId: string;
  disputeId: string;
  status: string;
  reason: string;
  amount: number;
  currency: string;
}

const OBJECT_ID = /^[0-9a-fA-F]{24}$/;

export function isObjectId(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_ID.test(value);
}

export function parseOrderCreated(data: unknown): OrderCreated {
  const event = record(data);
  const ticket = record(event.ticket, 'ticket');
  return {
    id: objectId(event.id, 'id'),
    version: version(event.version),
    status: text(event.status, 'status'),
    userId: text(event.userId, 'userId'),
    price: price(ticket.price),
  };
}

/**
 * Any non-negative integer version: the orders service publishes a user's own cancel
 * with the version it read before saving it, 0 for a fresh order (CONTRACT.md, Additions 2026-12-05).
 */
export function parseOrderCancelled(data: unknown): OrderCancelled {
  const event = record(data);
  return { id: objectId(event.id, 'id'), version: version(event.version) };
}

function record(value: unknown, name = 'payload'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedEvent(`${name} must be an object`);
  }
  return value as Record<string, unknown>;
}

function objectId(value: unknown, name: string): string {
  if (!isObjectId(value)) throw new MalformedEvent(`${name} must be a 24-hex-digit id`);
  return value.toLowerCase();
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw new MalformedEvent(`${name} must be a non-empty string of at most 200 characters`);
  }
  return value;
}

function version(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new MalformedEvent('version must be a non-negative integer');
  }
  return value;
}

function price(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new MalformedEvent('ticket.price must be a finite non-negative number');
  }
  return value;
}
