/**
 * How much an entry's state matters right now, which decides when it may be forgotten.
 * - FREE: nothing in progress (a closed breaker, an empty bulkhead): may be evicted to
 *   make room, and expires after the idle time.
 * - EXPIRABLE: a half-open breaker nobody is probing: kept under pressure (forgetting it
 *   would let every call through at once), but expires after the idle time, since
 *   without timers nothing else would ever move it.
 * - PINNED: an open breaker (isolated ones included), probes or calls in its bulkhead:
 *   never forgotten; forgetting would let calls through to a dependency known bad or
 *   break a concurrency limit.
 */
export const FREE = 0;
export const EXPIRABLE = 1;
export const PINNED = 2;
export type Hold = typeof FREE | typeof EXPIRABLE | typeof PINNED;

export interface TargetRegistryOptions<Entry> {
  /** Most targets kept at once: the bound on memory. */
  readonly maxEntries: number;
  /** A target not looked up for this long is forgotten, unless pinned. Infinity: never. */
  readonly idleMs: number;
  readonly create: (target: string) => Entry;
  readonly holdOf: (entry: Entry, now: number) => Hold;
  /** Read only when a lookup brings no time of its own and needs one (idle expiry, or a full registry). */
  readonly clock: () => number;
}

interface Slot<Entry> {
  entry: Entry;
  lastUsed: number;
}

/** How many parked entries one insertion looks at again, and how many idle ones it may drop. */
const RECHECK_PER_INSERT = 2;
const EXPIRE_PER_INSERT = 4;

/**
 * Per-target state (breaker, retry budget, bulkhead), one entry per target, bounded in
 * memory by `maxEntries`. This is the memory bound only: every target keeps its own
 * state, so one failing host never opens the breaker of another (the cardinality of
 * the target label is bounded apart, in src/telemetry/target-label.ts).
 *
 * Past the bound, the least recently used FREE entry makes room; an open breaker is
 * never evicted. Entries in least-recently-used order live in `slots`; one found pinned
 * while looking for room is parked apart (`parked`), so later insertions do not walk
 * past it again: finding room costs O(1) amortised, whatever the share of open
 * breakers. Parked entries are looked at again a few per insertion, oldest first, and
 * one that was called again goes back to `slots`. When nothing can make room (every
 * entry pinned: thousands of dependencies failing at once), the new target gets a state
 * that is not kept: its calls run as without a breaker (fail open), never under another
 * target's; `untracked` counts those lookups. A forgotten target starts afresh (closed
 * breaker) when called again.
 */
export class TargetRegistry<Entry> {
  private readonly slots = new Map<string, Slot<Entry>>();
  private readonly parked = new Map<string, Slot<Entry>>();
  private mostRecent: string | undefined;
  private untrackedLookups = 0;
  private readonly maxEntries: number;
  private readonly idleMs: number;
  private readonly create: (target: string) => Entry;
  private readonly holdOf: (entry: Entry, now: number) => Hold;
  private readonly clock: () => number;

  constructor(options: TargetRegistryOptions<Entry>) {
    this.maxEntries = Math.max(1, options.maxEntries);
    this.idleMs = options.idleMs > 0 ? options.idleMs : Infinity;
    this.create = options.create;
    this.holdOf = options.holdOf;
    this.clock = options.clock;
  }

  /**
   * The target's state, created on first use. `now` dates the use when the caller has
   * read the clock anyway; NaN (not read) makes the registry read it only if it needs
   * it: without idle expiry, a lookup that finds room reads no clock (the engine's
   * untimed fast path reads none).
   */
  get(target: string, now = NaN): Entry {
    const timed = this.idleMs !== Infinity;
    if (timed && now !== now) now = this.clock(); // NaN
    const slots = this.slots;
    let slot = slots.get(target);
    if (slot !== undefined) {
      // Map keeps insertion order; re-inserting marks it most recent. Skipped for the
      // common case of the same target twice in a row, which costs a Map write.
      if (this.mostRecent !== target) {
        slots.delete(target);
        slots.set(target, slot);
        this.mostRecent = target;
      }
    } else {
      slot = this.parked.get(target);
      if (slot !== undefined) {
        this.parked.delete(target);
      } else {
        if (timed) this.expireIdle(now);
        if (this.size >= this.maxEntries && !this.makeRoom(now === now ? now : this.clock())) {
          this.untrackedLookups++;
          return this.create(target);
        }
        slot = { entry: this.create(target), lastUsed: now };
      }
      slots.set(target, slot);
      this.mostRecent = target;
    }
    if (timed) {
      if (now - slot.lastUsed >= this.idleMs && this.holdOf(slot.entry, now) !== PINNED) slot.entry = this.create(target);
      slot.lastUsed = now;
    }
    return slot.entry;
  }

  peek(target: string): Entry | undefined {
    return (this.slots.get(target) ?? this.parked.get(target))?.entry;
  }

  get size(): number {
    return this.slots.size + this.parked.size;
  }

  /** Lookups of a new target that found no room (every candidate pinned): served by state not kept. */
  get untracked(): number {
    return this.untrackedLookups;
  }

  forEach(visit: (entry: Entry, target: string) => void): void {
    this.slots.forEach((slot, target) => visit(slot.entry, target));
    this.parked.forEach((slot, target) => visit(slot.entry, target));
  }

  /** Whether an entry may be dropped to make room now. */
  private evictable(slot: Slot<Entry>, now: number): boolean {
    const hold = this.holdOf(slot.entry, now);
    return hold === FREE || (hold === EXPIRABLE && now - slot.lastUsed >= this.idleMs);
  }

  /** Drops the oldest entries idle past idleMs, a few per insertion so no lookup pays for a backlog. */
  private expireIdle(now: number): void {
    let expired = 0;
    for (const [target, slot] of this.slots) {
      if (expired >= EXPIRE_PER_INSERT || now - slot.lastUsed < this.idleMs) return;
      if (this.holdOf(slot.entry, now) === PINNED) this.park(target, slot);
      else this.forget(target);
      expired++;
    }
  }

  /**
   * Frees one entry: a parked one that has become evictable (they are the least recently
   * used of all), else the least recently used evictable one in `slots`, parking the
   * pinned ones passed on the way.
   */
  private makeRoom(now: number): boolean {
    const parked = this.parked;
    let rechecked = 0;
    for (const [target, slot] of parked) {
      if (rechecked++ >= RECHECK_PER_INSERT) break;
      parked.delete(target);
      if (this.evictable(slot, now)) return true;
      parked.set(target, slot); // still pinned: to the back of the parked queue
    }
    for (const [target, slot] of this.slots) {
      if (this.evictable(slot, now)) {
        this.forget(target);
        return true;
      }
      this.park(target, slot);
    }
    return false;
  }

  private park(target: string, slot: Slot<Entry>): void {
    this.forget(target);
    this.parked.set(target, slot);
  }

  private forget(target: string): void {
    this.slots.delete(target);
    if (this.mostRecent === target) this.mostRecent = undefined;
  }
}
