import { AsyncLocalStorage } from 'node:async_hooks';
import { delay } from '../backoff';
import { ChargeAdmission } from '../payments/payment-provider';
import { RefusalLine } from './refusal-line';

/** Where the budget's slots are kept, shared by every instance (data-access/call-slots.ts). */
export interface CallSlots {
  /** Takes slot `slot` of `endpoint` (which starts at `at`); false when another caller has it. */
  take(endpoint: string, slot: number, at: Date): Promise<boolean>;
}

export interface CallBudgetOptions {
  /** STRIPE_MAX_RPS: the most requests a second to any one Stripe endpoint, all instances together (CONTRACT.md, 2026-12-05). */
  maxRps: number;
  /** How far ahead a payment may be admitted, in ms: a buyer beyond it is refused with Retry-After; also how far ahead an admitted buyer's call looks for a slot. */
  queueMs: number;
  /** How long a call of the sweeps, webhooks or reads waits for a slot no buyer wants before it queues behind the buyers, in ms. */
  patienceMs: number;
  /** How long an endpoint rests after Stripe answered 429, in ms, for every instance. */
  restMs: number;
  /** Told how long each call waited for its slot, in ms, and for whom. */
  onWait?: (priority: Priority, waitMs: number) => void;
  /** Told of each payment refused for want of a slot. */
  onRefused?: () => void;
}

export type Priority = 'buyer' | 'background';

/** The farthest ahead a call queues once its patience is over, in ms. */
const LONGEST_QUEUE_MS = 30_000;

/** The share of the budget payments are admitted at: the rest keeps room for recovery, refunds, webhooks and reads, and keeps the queue of calls short. */
const ADMITTED_SHARE = 0.9;

/** The key of an endpoint's admission slots is this prefix and the endpoint. */
const ADMISSION = 'admission ';

/** A buyer's calls run inside this: they queue as buyers; `called` the endpoints they reached. */
interface Admitted {
  buyer: true;
  called: Set<string>;
}

/**
 * The budget of Stripe calls shared by every instance: at most `maxRps` requests a
 * second to any one endpoint (Stripe's documented default is 25 per endpoint and 100
 * per account in live mode: "Rate limits"). Time is cut into slots of 1/maxRps
 * seconds per endpoint; a call takes a free slot (data-access/call-slots.ts: an
 * insert, so no two instances take one) when it is about to be made, and is sent
 * when its slot begins: what is sent in any second stays within the budget.
 *
 * Buyers first, and refused before anything is held: a payment is admitted
 * (`admit`, before any claim) against admission slots of its own, 90 % of the
 * budget a second on each endpoint it will call, up to `queueMs` ahead; when none is
 * free that soon it is refused with the time to come back. Admitted payments thus
 * arrive at the call slots a little slower than the slots come, so their calls
 * wait little (at most `queueMs`, then they queue like the rest). Every other call
 * (recovery, refunds, webhooks, the events sweep, reads, the SDK's retries) takes a
 * slot only when one is free right now, or after `patienceMs` queues behind the
 * buyers. (Reserving the call slots themselves at admission, measured in
 * docs/benchmarks.md, sent calls late in bursts: the claim and Stripe's answer to
 * the first call come between admission and each call.)
 */
export class StripeCallBudget {
  private readonly slotMs: number;
  private readonly admissionSlotMs: number;
  private readonly line = new RefusalLine();
  /** Per endpoint: the first slot not known to be taken (this instance has seen every slot below it taken). */
  private readonly nextFree = new Map<string, number>();
  private readonly admitted = new AsyncLocalStorage<Admitted>();
  /** Per admission key: slots this instance took for payments that did not use them, still to come (spareUnused). */
  private readonly spare = new Map<string, number[]>();
  /** Per endpoint: until when (ms since the epoch) it rests after a 429 this instance saw. */
  private readonly restingUntil = new Map<string, number>();

  constructor(
    private readonly slots: CallSlots,
    private readonly options: CallBudgetOptions,
  ) {
    this.slotMs = 1000 / options.maxRps;
    this.admissionSlotMs = 1000 / (options.maxRps * ADMITTED_SHARE);
  }

  /**
   * Admits a payment that will call each of `endpoints` (one per call, e.g. `POST
   * /v1/payment_methods` then `POST /v1/payment_intents`): an admission slot on each,
   * all within `queueMs`, or none. Admitted: the calls made inside `run` queue as a
   * buyer's. Refused: `retryAfterMs`, when an admission slot will be within reach again.
   * @throws the database's error when the slots cannot be read.
   */
  async admit(endpoints: string[]): Promise<ChargeAdmission> {
    const taken: Array<[string, number]> = [];
    // The last call first (the PaymentIntent, which every payment makes): a buyer with
    // more calls reaches the scarce slots as soon as one with fewer.
    for (const endpoint of [...endpoints].reverse()) {
      const admission = `${ADMISSION}${endpoint}`;
      const slot = await this.take(admission, this.options.queueMs, this.admissionSlotMs);
      if ('retryAfterMs' in slot) {
        this.spareUnused(taken, new Set());
        this.options.onRefused?.();
        return { admitted: false, retryAfterMs: slot.retryAfterMs + this.line.spreadMs() };
      }
      taken.push([admission, slot.slot]);
    }
    this.line.admitted();
    return {
      admitted: true,
      run: async (work) => {
        const admitted: Admitted = { buyer: true, called: new Set() };
        try {
          return await this.admitted.run(admitted, work);
        } finally {
          this.spareUnused(taken, admitted.called);
        }
      },
    };
  }

  /**
   * The admission slots of endpoints the payment never called, still to come, go to this
   * instance's next buyers (they stay taken in the database, by this instance): a second
   * click on an order already being paid (409), a card declined at its PaymentMethod, an
   * attempt over the user's limit (429), a payment refused on its second endpoint spend
   * no room at Stripe.
   */
  private spareUnused(taken: Array<[string, number]>, called: Set<string>): void {
    const now = Date.now();
    for (const [key, slot] of taken) {
      if (called.has(key.slice(ADMISSION.length)) || slot * this.admissionSlotMs <= now) continue;
      this.spare.set(key, [...(this.spare.get(key) ?? []), slot].sort((x, y) => x - y));
    }
  }

  /** A spare slot of `key` (spareUnused) not begun and at most `last`, taken from the spares; those begun are dropped. */
  private takeSpare(key: string, last: number, slotMs: number): number | undefined {
    const spares = this.spare.get(key);
    if (!spares) return undefined;
    const first = Math.ceil(Date.now() / slotMs);
    const spare = spares.filter((slot) => slot >= first);
    const slot = spare[0] !== undefined && spare[0] <= last ? spare.shift() : undefined;
    if (spare.length > 0) this.spare.set(key, spare);
    else this.spare.delete(key);
    return slot;
  }

  /**
   * Waits until the call to `endpoint` may be sent: takes the first free slot (an
   * admitted payment's calls as a buyer's, every other call as `background`) and waits
   * for it to begin.
   * @throws Error when no slot came within `patienceMs` plus 30 s (the call is not sent).
   */
  async beforeCall(endpoint: string): Promise<void> {
    const admitted = this.admitted.getStore();
    admitted?.called.add(endpoint);
    const priority: Priority = admitted ? 'buyer' : 'background';
    const started = Date.now();
    let slot = await this.waitForSlot(endpoint, priority);
    for (;;) {
      const waitMs = slot * this.slotMs - Date.now();
      if (waitMs > 0) await delay(waitMs);
      // A 429 seen while this call waited: its slot falls in the rest, it takes one after.
      if (Date.now() >= (this.restingUntil.get(endpoint) ?? 0)) break;
      slot = await this.waitForSlot(endpoint, priority);
    }
    this.options.onWait?.(priority, Date.now() - started);
  }

  /**
   * Stripe answered 429 on `endpoint`: every instance leaves it alone for `restMs`. This
   * instance's calls already given a slot in the rest move after it; the other instances'
   * new calls find the rest's slots taken (their calls already given a slot are sent,
   * and a 429 of theirs rests them too).
   */
  async rateLimited(endpoint: string): Promise<void> {
    this.restingUntil.set(endpoint, Math.max(this.restingUntil.get(endpoint) ?? 0, Date.now() + this.options.restMs));
    const first = this.currentSlot(endpoint);
    const last = Math.floor((Date.now() + this.options.restMs) / this.slotMs);
    this.nextFree.set(endpoint, Math.max(this.nextFree.get(endpoint) ?? 0, last + 1));
    const resting = Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
    await Promise.all(resting.map((slot) => this.slots.take(endpoint, slot, new Date(slot * this.slotMs))));
  }

  private async waitForSlot(endpoint: string, priority: Priority): Promise<number> {
    const patientUntil = Date.now() + this.options.patienceMs;
    for (;;) {
      const patient = Date.now() < patientUntil;
      // Background: only the next slot, the one about to begin, while patient.
      const aheadMs = patient ? (priority === 'buyer' ? this.options.queueMs : this.slotMs) : LONGEST_QUEUE_MS;
      const taken = await this.take(endpoint, aheadMs);
      if ('slot' in taken) return taken.slot;
      if (!patient) throw new Error(`no Stripe call slot free for ${endpoint} in the next ${LONGEST_QUEUE_MS} ms`);
      await delay(Math.max(1, Math.min(taken.retryAfterMs, 100, patientUntil - Date.now())));
    }
  }

  /**
   * The first free slot (of `slotMs`) of `key` from now to `aheadMs` from now, taken;
   * else how long until one would be within reach, in ms. Slots this instance tries
   * are handed out one by one before the database answers, so its own callers never race.
   * "Now" is read again after each slot found taken: the time an insert took is the
   * database's, not the budget's (a 2 s insert under load once refused buyers with the
   * budget nearly empty: resilience/instances.test.ts). At most one window's worth of
   * slots is tried, so a caller outpaced by the others is refused rather than kept asking.
   */
  private async take(key: string, aheadMs: number, slotMs = this.slotMs): Promise<{ slot: number } | { retryAfterMs: number }> {
    const windowSlots = Math.ceil(aheadMs / slotMs) + 1;
    const spare = this.takeSpare(key, Math.floor((Date.now() + aheadMs) / slotMs), slotMs);
    if (spare !== undefined) return { slot: spare };
    let slot = this.currentSlot(key, slotMs);
    for (let tries = 0; ; tries += 1) {
      const now = Date.now();
      const last = Math.floor((now + aheadMs) / slotMs);
      if (slot > last || tries >= windowSlots) return { retryAfterMs: Math.max(slotMs, slot * slotMs - aheadMs - now) };
      this.nextFree.set(key, slot + 1);
      if (await this.slots.take(key, slot, new Date(slot * slotMs))) return { slot };
      slot = Math.max(slot + 1, this.currentSlot(key, slotMs));
    }
  }

  /** The first slot of `key` not begun yet and not known to be taken (a slot begun is not taken late: its call would crowd the next). */
  private currentSlot(key: string, slotMs = this.slotMs): number {
    return Math.max(Math.ceil(Date.now() / slotMs), this.nextFree.get(key) ?? 0);
  }
}

/**
 * The endpoint a request goes to, as Stripe's limits count them: the method and the
 * path with object ids (`pi_3Mtw…`, `re_…`) and the query left out, e.g.
 * `GET /v1/payment_intents/{id}`.
 */
export function endpointOf(method: string, path: string): string {
  const [pathname] = path.split('?');
  const segments = pathname.split('/').map((segment) => (/^[a-z]+_[A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*$/.test(segment) ? '{id}' : segment));
  return `${method.toUpperCase()} ${segments.join('/')}`;
}
