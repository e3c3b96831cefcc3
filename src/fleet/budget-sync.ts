import type { Clock } from '../engine/clock.js';
import { WindowCounter } from '../engine/window-counter.js';
import { budgetArgs, BUDGET_SYNC_SCRIPT, parseBudgetReply, type BudgetCounts } from './budget-script.js';
import type { ReadyCommander } from './gcra.js';
import { fleetKey } from './keys.js';
import { numberOption } from './option.js';
import type { RespValue } from './resp.js';
import { ScriptRunner } from './script-runner.js';
import { SyncedTarget, SyncLoop, type FleetMode } from './sync-loop.js';

/**
 * The shared retry budget per target: the rule of engine/retry-budget.ts (retries and
 * hedges <= ratio * first attempts + minPerSecond * window seconds, over the window),
 * applied to the whole fleet's counts. A FleetBudget sits beside a target's
 * RetryBudget, which asks it synchronously and falls back on its own window when the
 * answer is undefined (Redis down or slow, or not synced yet).
 *
 * - recordFirstAttempt() / recordRetry() / recordHedge(): counted on the hot path
 *   (fields only), flushed on each regular round (INCRBY into the window's time
 *   buckets, TTL'd), whose reply is the fleet's window totals, this flush included:
 *   one script call per active target per round.
 * - allowsRetry(now) / allowsHedge(now, ratio): the fleet's answer, no I/O. Between
 *   two rounds every instance sees the same totals, so each may use only its SHARE of
 *   the room they leave (its first attempts over the fleet's, or 1 / expectedInstances
 *   while the fleet has none), plus ratio times its own first attempts not yet flushed:
 *   the fleet as a whole then stays within the rule even when every instance retries
 *   as hard as it may (instances sync at different moments, so it can overshoot by
 *   what the fleet flushed in one round). An instance alone in retrying takes its
 *   share of what is left on each round, so over a window it can still use most of
 *   the fleet's room.
 * - The floor (minPerSecond) is the fleet's, not each instance's: a fleet of N quiet
 *   instances retries at minPerSecond in all, not N times it.
 *
 * Cost per instance: 1000 / syncMs script calls per second per active target (1 at
 * the default 1000 ms), each reading three totals (lua-lib.ts) and, once a bucket,
 * dropping the bucket that left the window. Counts made while Redis is down are
 * dropped (the local RetryBudget has them); the first round answered rejoins.
 */

export interface FleetBudgetSettings {
  /** Retries allowed per first attempt in the window. */
  readonly ratio: number;
  /** Retries always allowed per second, fleet-wide. */
  readonly minPerSecond: number;
  readonly windowMs: number;
}

export interface FleetBudgetView {
  readonly mode: FleetMode;
  /** The fleet's totals over the window, as last heard. */
  readonly fleet: BudgetCounts;
  /** This instance's part of the room the fleet leaves. */
  readonly share: number;
  /** Counted here and not yet in the fleet's totals. */
  readonly pending: BudgetCounts;
}

export interface BudgetSyncOptions {
  /** breakwater's own Redis client (RespClient). */
  readonly client: ReadyCommander;
  /** The service's name: keys are per service (keys.ts). */
  readonly service: string;
  /** Rounds (ms). Default 1000: the window is seconds long, and what an instance retries between rounds is bounded by its share. */
  readonly syncMs?: number;
  /** A round's time limit (ms). Default 250. */
  readonly timeoutMs?: number;
  /** A target unused this long is no longer polled (ms). Default 10000. */
  readonly idleAfterMs?: number;
  /** An instance's share while the fleet has counted no first attempts. Default 1. */
  readonly expectedInstances?: number;
  /** Wall-clock ms passed to the script instead of Redis's TIME (tests). */
  readonly now?: () => number;
  /** Local time and timers, the engine's: allowsRetry takes `now` from it. Default systemClock. */
  readonly clock?: Clock;
  readonly onModeChange?: (mode: FleetMode) => void;
}

const DEFAULT_SYNC_MS = 1000;
/** As the local window (retry-budget.ts): 10 buckets. */
const WINDOW_BUCKETS = 10;
const WINDOW_SLACK_MS = 1000;
const NONE: BudgetCounts = { firstAttempts: 0, retries: 0, hedges: 0 };

/** An instance's part of the fleet's room: its first attempts over the fleet's (pure). */
export function budgetShare(mine: number, fleet: number, expectedInstances: number): number {
  return fleet > 0 ? Math.min(1, mine / fleet) : 1 / expectedInstances;
}

/**
 * Whether one more extra attempt (retry or hedge) fits (pure): the fleet's room
 * (ratio * first attempts + floor - extra attempts, over the window) times this
 * instance's share, plus ratio times the first attempts it has not flushed, must hold
 * the extra attempts it has not flushed and this one.
 */
export function fleetAllows(fleet: BudgetCounts, pending: BudgetCounts, share: number, ratio: number, floor: number): boolean {
  const room = Math.max(0, ratio * fleet.firstAttempts + floor - fleet.retries - fleet.hedges);
  return pending.retries + pending.hedges + 1 <= share * room + ratio * pending.firstAttempts;
}

export class BudgetSync {
  readonly #loop: SyncLoop;
  readonly #runner: ScriptRunner;
  readonly #service: string;
  readonly #expectedInstances: number;
  readonly #now: (() => number) | undefined;

  /** Throws RangeError on a bad option (configuration, checked once). */
  constructor(options: BudgetSyncOptions) {
    this.#loop = new SyncLoop({ ...options, syncMs: options.syncMs ?? DEFAULT_SYNC_MS });
    this.#runner = new ScriptRunner(options.client, BUDGET_SYNC_SCRIPT);
    this.#service = options.service;
    this.#expectedInstances = numberOption(options.expectedInstances, 1, 'expectedInstances', 1);
    this.#now = options.now;
  }

  /** 'fleet' while Redis answers; a target's own view is FleetBudget.mode. */
  get mode(): FleetMode {
    return this.#loop.mode;
  }

  /** Targets synced now. */
  get size(): number {
    return this.#loop.size;
  }

  /** The fleet's budget for `target` (throws RangeError on bad settings); close() it when the engine forgets the target. */
  target(target: string, settings: FleetBudgetSettings): FleetBudget {
    const key = fleetKey(this.#service, target, 'budget');
    return new FleetBudget(this.#loop, {
      target,
      settings,
      expectedInstances: this.#expectedInstances,
      send: (flush) => this.#runner.run([key], budgetArgs({ ...flush, now: this.#now?.() }), this.#loop.timeoutMs),
    });
  }

  /** Stops syncing; every target's answer is undefined (local) from now on. */
  close(): void {
    this.#loop.close();
  }
}

interface FleetBudgetHost {
  readonly target: string;
  readonly settings: FleetBudgetSettings;
  readonly expectedInstances: number;
  readonly send: (flush: BudgetCounts & { bucketMs: number; buckets: number; ttlMs: number }) => Promise<RespValue>;
}

/** One target's fleet retry budget; made by BudgetSync.target(). */
export class FleetBudget extends SyncedTarget<BudgetCounts> {
  readonly target: string;
  readonly #send: FleetBudgetHost['send'];
  readonly #ratio: number;
  readonly #floor: number;
  readonly #bucketMs: number;
  readonly #ttlMs: number;
  readonly #expectedInstances: number;
  /** This instance's flushed first attempts over the window: its share's numerator. */
  readonly #mine: WindowCounter;

  #first = 0;
  #retries = 0;
  #hedges = 0;
  #inFlight: BudgetCounts = NONE;
  #fleet: BudgetCounts = NONE;
  #share: number;

  /** @internal Use BudgetSync.target(). */
  constructor(loop: SyncLoop, host: FleetBudgetHost) {
    const { settings } = host;
    const ratio = numberOption(settings.ratio, NaN, 'ratio', 0);
    const windowMs = numberOption(settings.windowMs, NaN, 'windowMs', WINDOW_BUCKETS);
    const floor = numberOption(settings.minPerSecond, NaN, 'minPerSecond', 0) * (windowMs / 1000);
    super(loop);
    this.target = host.target;
    this.#send = host.send;
    this.#ratio = ratio;
    this.#floor = floor;
    this.#bucketMs = Math.ceil(windowMs / WINDOW_BUCKETS);
    this.#ttlMs = windowMs + WINDOW_SLACK_MS;
    this.#expectedInstances = host.expectedInstances;
    this.#share = 1 / host.expectedInstances;
    this.#mine = new WindowCounter(windowMs, WINDOW_BUCKETS, 1);
  }

  recordFirstAttempt(): void {
    this.touch();
    this.#first++;
  }

  recordRetry(): void {
    this.touch();
    this.#retries++;
  }

  recordHedge(): void {
    this.touch();
    this.#hedges++;
  }

  /** Whether the fleet's budget has room for one more retry; undefined: no fleet view, decide locally. */
  allowsRetry(now: number): boolean | undefined {
    return this.live(now) ? fleetAllows(this.#fleet, this.#pending(), this.#share, this.#ratio, this.#floor) : undefined;
  }

  /** Whether a hedge fits within `ratio` of the fleet's first attempts (no floor); undefined: decide locally. */
  allowsHedge(now: number, ratio: number): boolean | undefined {
    return this.live(now) ? fleetAllows(this.#fleet, this.#pending(), this.#share, ratio, 0) : undefined;
  }

  view(now: number): FleetBudgetView {
    return { mode: this.live(now) ? 'fleet' : 'local', fleet: this.#fleet, share: this.#share, pending: this.#pending() };
  }

  protected override send(): Promise<BudgetCounts> {
    this.#inFlight = { firstAttempts: this.#first, retries: this.#retries, hedges: this.#hedges };
    this.#first = this.#retries = this.#hedges = 0;
    return this.#send({ ...this.#inFlight, bucketMs: this.#bucketMs, buckets: WINDOW_BUCKETS, ttlMs: this.#ttlMs }).then(parseBudgetReply);
  }

  protected override apply(reply: BudgetCounts, now: number): void {
    this.#mine.add(now, 0, this.#inFlight.firstAttempts);
    this.#inFlight = NONE;
    this.#fleet = reply;
    this.#share = budgetShare(this.#mine.total(now, 0), reply.firstAttempts, this.#expectedInstances);
  }

  protected override failed(): void {
    this.#inFlight = NONE; // dropped: the local RetryBudget counted them
  }

  #pending(): BudgetCounts {
    const sent = this.#inFlight;
    return { firstAttempts: this.#first + sent.firstAttempts, retries: this.#retries + sent.retries, hedges: this.#hedges + sent.hedges };
  }
}
