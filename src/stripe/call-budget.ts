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

/** A buyer's admission: the slots reserved for its calls, by endpoint, not used yet; when its last call was sent. */
interface Admitted {
  reserved: Map<string, number[]>;
  /** Calls sent so far (0 before the first). */
  sent: number;
  /** When the admission was made, then when its last call was sent, in ms since the epoch. */
  lastAtMs: number;
}

/** The first guess of the time from an admission to its first call, and from one call to the next, in ms. */
const FIRST_GAP_GUESS_MS = 100;
/** Slots are reserved this many times the usual gap after the call before: a call waits a little rather than miss its slot. */
const GAP_MARGIN = 1.5;

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
 * to come back. Each call's slot is placed where the call is expected (after the
 * claim; after the call before it answered: moving averages of the gaps seen), and
 * a call that comes later than its slot takes a new one rather than being sent
 * late: what is sent in any second stays within the budget. Every other call (recovery, refunds, webhooks, the events sweep,
 * reads, the SDK's retries) takes a slot only when none is waiting, or after
 * `patienceMs` queues behind the buyers already admitted.
 */
export class StripeCallBudget {
  private readonly slotMs: number;
  /** Per endpoint: the first slot not known to be taken (this instance has seen every slot below it taken). */
  private readonly nextFree = new Map<string, number>();
  /** Per endpoint: slots at or above `nextFree` this instance has already tried (a payment's later calls reserve ahead). */
  private readonly tried = new Map<string, Set<number>>();
  /** Per endpoint: slots this instance gave back (a refused admission's other calls), free again: tried first. */
  private readonly returned = new Map<string, Set<number>>();
  /** The usual time before a payment's call number i (0: from its admission; then from the call before), in ms: a moving average. */
  private readonly gapsMs: number[] = [];
  /** How late a call may be sent on its reserved slot, in ms; later, the slot's time has passed and it takes a new one. */
  private readonly lateMs: number;
  private readonly admitted = new AsyncLocalStorage<Admitted>();
  /** Per endpoint: until when (ms since the epoch) it rests after a 429 this instance saw. */
  private readonly restingUntil = new Map<string, number>();

  constructor(
    private readonly slots: CallSlots,
    private readonly options: CallBudgetOptions,
  ) {
    this.slotMs = 1000 / options.maxRps;
    this.lateMs = Math.max(this.slotMs, 25);
  }

  /**
   * Reserves a slot on each of `endpoints` (one per call, e.g. `POST /v1/payment_methods`
   * then `POST /v1/payment_intents`), all within `queueMs`, or none. Admitted: `run`
   * makes the calls inside it use their slots, and gives back those left unused.
   * Refused: `retryAfterMs`, when a slot will be within reach again.
   * @throws the database's error when the slots cannot be read.
   */
  async admit(endpoints: string[]): Promise<ChargeAdmission> {
    const now = Date.now();
    const reserved = new Map<string, number[]>();
    let previousMs = now;
    for (const [i, endpoint] of endpoints.entries()) {
      // Each call's slot where the call is expected: after the claim, after the call before it answered.
      const gapMs = GAP_MARGIN * this.gapMs(i);
      const taken = await this.take(endpoint, previousMs + gapMs, now + this.options.queueMs + gapMs * (i + 1));
      if ('retryAfterMs' in taken) {
        await this.giveBack(reserved);
        this.options.onRefused?.();
        return { admitted: false, retryAfterMs: taken.retryAfterMs };
      }
      reserved.set(endpoint, [...(reserved.get(endpoint) ?? []), taken.slot]);
      previousMs = taken.slot * this.slotMs;
    }
    return {
      admitted: true,
      run: async (work) => {
        try {
          return await this.admitted.run({ reserved, sent: 0, lastAtMs: now }, work);
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
    let slot: number | undefined;
    if (admitted) {
      this.observeGap(admitted.sent, started - admitted.lastAtMs);
      slot = admitted.reserved.get(endpoint)?.shift();
      // A slot whose time has passed is spent: sent now, the call would crowd the slots after it.
      if (slot !== undefined && slot * this.slotMs + this.lateMs < started) slot = undefined;
    }
    slot ??= await this.waitForSlot(endpoint, priority);
    for (;;) {
      const waitMs = slot * this.slotMs - Date.now();
      if (waitMs > 0) await delay(waitMs);
      // A 429 seen while this call waited: its slot falls in the rest, it takes one after.
      if (Date.now() >= (this.restingUntil.get(endpoint) ?? 0)) break;
      slot = await this.waitForSlot(endpoint, priority);
    }
    if (admitted) {
      admitted.sent += 1;
      admitted.lastAtMs = Date.now();
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
      const now = Date.now();
      const taken = await this.take(endpoint, now, now + aheadMs);
      if ('slot' in taken) return taken.slot;
      if (!patient) throw new Error(`no Stripe call slot free for ${endpoint} in the next ${LONGEST_QUEUE_MS} ms`);
      await delay(Math.max(1, Math.min(taken.retryAfterMs, 100, patientUntil - Date.now())));
    }
  }

  /**
   * The first free slot of `endpoint` from `fromMs` to `untilMs` (ms since the epoch, never
   * before now), taken; else how long until one would be within reach, in ms. Slots this
   * instance tries are marked before the database answers, so its own callers never race.
   */
  private async take(endpoint: string, fromMs: number, untilMs: number): Promise<{ slot: number } | { retryAfterMs: number }> {
    const last = Math.floor(untilMs / this.slotMs);
    const first = Math.max(Math.floor(fromMs / this.slotMs), Math.floor(Date.now() / this.slotMs));
    const returned = this.returned.get(endpoint);
    for (const slot of [...(returned ?? [])].sort((x, y) => x - y)) {
      if (slot > last) break;
      if (slot < first) {
        if (slot * this.slotMs < Date.now()) returned!.delete(slot);
        continue;
      }
      returned!.delete(slot);
      if (await this.slots.take(endpoint, slot, new Date(slot * this.slotMs))) return { slot };
    }
    let slot = Math.max(first, this.currentSlot(endpoint));
    for (; slot <= last; slot = Math.max(slot + 1, this.currentSlot(endpoint))) {
      if (!this.tryLocally(endpoint, slot)) continue;
      if (await this.slots.take(endpoint, slot, new Date(slot * this.slotMs))) return { slot };
    }
    return { retryAfterMs: Math.max(this.slotMs, Math.max(last + 1, this.currentSlot(endpoint)) * this.slotMs - untilMs) };
  }

  /** Marks `slot` tried by this instance: false when it already was (or lies below `nextFree`). */
  private tryLocally(endpoint: string, slot: number): boolean {
    let next = this.currentSlot(endpoint);
    const tried = this.tried.get(endpoint) ?? new Set<number>();
    this.tried.set(endpoint, tried);
    if (slot < next || tried.has(slot)) return false;
    tried.add(slot);
    while (tried.has(next)) next += 1;
    this.nextFree.set(endpoint, next);
    for (const old of tried) if (old < next) tried.delete(old);
    return true;
  }

  /** The usual gap before call number `i` of a payment, in ms (a first guess until one is seen). */
  private gapMs(i: number): number {
    return this.gapsMs[i] ?? this.gapsMs[i - 1] ?? FIRST_GAP_GUESS_MS;
  }

  /** Folds one gap seen before call number `i` into its moving average (a fifth of the new one). */
  private observeGap(i: number, gapMs: number): void {
    this.gapsMs[i] = this.gapsMs[i] === undefined ? gapMs : 0.8 * this.gapsMs[i] + 0.2 * gapMs;
  }

  private currentSlot(endpoint: string): number {
    return Math.max(Math.floor(Date.now() / this.slotMs), this.nextFree.get(endpoint) ?? 0);
  }

  /** Gives back the slots reserved and not used; those still ahead are free again for this instance's next callers. */
  private async giveBack(reserved: Map<string, number[]>): Promise<void> {
    await Promise.all(
      [...reserved].map(async ([endpoint, slots]) => {
        const unused = slots.splice(0);
        await this.slots.giveBack(endpoint, unused);
        const returned = this.returned.get(endpoint) ?? new Set<number>();
        this.returned.set(endpoint, returned);
        for (const slot of unused) if (slot * this.slotMs > Date.now()) returned.add(slot);
      }),
    );
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
