import { AsyncLocalStorage } from 'node:async_hooks';
import { delay } from '../backoff';
import { ChargeAdmission } from '../payments/payment-provider';

/** Where the budget's slots are kept, shared by every instance (data-access/call-slots.ts). */
export interface CallSlots {
  /** Takes slot `slot` of `endpoint` (which starts at `at`); false when another caller has it. */
  take(endpoint: string, slot: number, at: Date): Promise<boolean>;
  /** Gives back slots taken and not used. */
  giveBack(endpoint: string, slots: number[]): Promise<void>;
}

export interface CallBudgetOptions {
  /** STRIPE_MAX_RPS: the most requests a second to any one Stripe endpoint, all instances together (CONTRACT.md, 2026-12-05). */
  maxRps: number;
  /** How long an admitted buyer may wait for its slot, in ms: a buyer beyond it is refused with Retry-After. */
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

/** A buyer's admission: the slots reserved for its calls, by endpoint, not used yet. */
interface Admitted {
  reserved: Map<string, number[]>;
}

/**
 * The budget of Stripe calls shared by every instance: at most `maxRps` requests a
 * second to any one endpoint (Stripe's documented default is 25 per endpoint and 100
 * per account in live mode: "Rate limits"). Time is cut into slots of 1/maxRps
 * seconds per endpoint; a call takes a free slot (data-access/call-slots.ts: an
 * insert, so no two instances take one) and is sent when its slot begins. Stripe
 * limits with a token bucket ("Scaling your API with rate limiters"), whose burst
 * absorbs the jitter of our sending times.
 *
 * Buyers first: a payment reserves its calls before any claim (`admit`), up to
 * `queueMs` ahead; when no slot is free that soon it is refused with the time
 * to come back. Every other call (recovery, refunds, webhooks, the events sweep,
 * reads, the SDK's retries) takes a slot only when none is waiting, or after
 * `patienceMs` queues behind the buyers already admitted.
 */
export class StripeCallBudget {
  private readonly slotMs: number;
  /** Per endpoint: the first slot not known to be taken (this instance has seen every slot below it taken). */
  private readonly nextFree = new Map<string, number>();
  private readonly admitted = new AsyncLocalStorage<Admitted>();
  /** Per endpoint: until when (ms since the epoch) it rests after a 429 this instance saw. */
  private readonly restingUntil = new Map<string, number>();

  constructor(
    private readonly slots: CallSlots,
    private readonly options: CallBudgetOptions,
  ) {
    this.slotMs = 1000 / options.maxRps;
  }

  /**
   * Reserves a slot on each of `endpoints` (one per call, e.g. `POST /v1/payment_methods`
   * then `POST /v1/payment_intents`), all within `queueMs`, or none. Admitted: `run`
   * makes the calls inside it use their slots, and gives back those left unused.
   * Refused: `retryAfterMs`, when a slot will be within reach again.
   * @throws the database's error when the slots cannot be read.
   */
  async admit(endpoints: string[]): Promise<ChargeAdmission> {
    const reserved = new Map<string, number[]>();
    for (const endpoint of endpoints) {
      const taken = await this.take(endpoint, this.options.queueMs);
      if ('retryAfterMs' in taken) {
        await this.giveBack(reserved);
        this.options.onRefused?.();
        return { admitted: false, retryAfterMs: taken.retryAfterMs };
      }
      reserved.set(endpoint, [...(reserved.get(endpoint) ?? []), taken.slot]);
    }
    return {
      admitted: true,
      run: async (work) => {
        try {
          return await this.admitted.run({ reserved }, work);
        } finally {
          void this.giveBack(reserved).catch(() => undefined);
        }
      },
    };
  }

  /**
   * Waits until the call to `endpoint` may be sent: its reserved slot, else a new one
   * (a buyer's follow-up calls queue like buyers, every other call as `background`).
   * @throws Error when no slot came within `patienceMs` plus 30 s (the call is not sent).
   */
  async beforeCall(endpoint: string): Promise<void> {
    const admitted = this.admitted.getStore();
    const priority: Priority = admitted ? 'buyer' : 'background';
    const started = Date.now();
    let slot = admitted?.reserved.get(endpoint)?.shift() ?? (await this.waitForSlot(endpoint, priority));
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
      const aheadMs = patient ? (priority === 'buyer' ? this.options.queueMs : 0) : LONGEST_QUEUE_MS;
      const taken = await this.take(endpoint, aheadMs);
      if ('slot' in taken) return taken.slot;
      if (!patient) throw new Error(`no Stripe call slot free for ${endpoint} in the next ${LONGEST_QUEUE_MS} ms`);
      await delay(Math.max(1, Math.min(taken.retryAfterMs, 100, patientUntil - Date.now())));
    }
  }

  /**
   * The first free slot of `endpoint` from now to `aheadMs` from now, taken; else how
   * long until one would be within reach, in ms. Slots this instance tries are handed
   * out one by one before the database answers, so its own callers never race.
   */
  private async take(endpoint: string, aheadMs: number): Promise<{ slot: number } | { retryAfterMs: number }> {
    const now = Date.now();
    const last = Math.floor((now + aheadMs) / this.slotMs);
    let slot = this.currentSlot(endpoint);
    while (slot <= last) {
      this.nextFree.set(endpoint, slot + 1);
      if (await this.slots.take(endpoint, slot, new Date(slot * this.slotMs))) return { slot };
      slot = Math.max(slot + 1, this.nextFree.get(endpoint) ?? 0);
    }
    return { retryAfterMs: Math.max(this.slotMs, slot * this.slotMs - aheadMs - now) };
  }

  private currentSlot(endpoint: string): number {
    return Math.max(Math.floor(Date.now() / this.slotMs), this.nextFree.get(endpoint) ?? 0);
  }

  private async giveBack(reserved: Map<string, number[]>): Promise<void> {
    await Promise.all([...reserved].map(([endpoint, slots]) => this.slots.giveBack(endpoint, slots.splice(0))));
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
