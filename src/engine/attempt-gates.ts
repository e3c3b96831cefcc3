import type { Classification } from '../classify/types.js';
import { LimitedError, type LimitReason } from '../errors.js';
import { sleep } from './attempt.js';
import type { Clock } from './clock.js';
import { ConcurrencyGate } from './concurrency-gate.js';
import { GradientLimit, type GradientLimitSettings } from './gradient-limit.js';
import { parseRateLimitHeaders, RATE_LIMIT_MAX_WAIT_MS, type HeaderGetter } from './rate-limit-headers.js';
import { RateGate, type RateGateSettings, type RateGateSnapshot } from './rate-limit.js';
import type { DecisionSource, SharedRate } from './fleet-seams.js';
import { SlotWait } from './slot-wait.js';
import type { TimerQueue } from './timer-queue.js';

/** The adaptive concurrency limit of a policy, every field decided. */
export interface ConcurrencyLimitSettings {
  readonly gradient: GradientLimitSettings;
  /** Attempts that may wait for a slot; past that they are turned away at once. */
  readonly maxQueue: number;
  /** How long an attempt may wait for a slot (within the call's deadline). */
  readonly maxWaitMs: number;
}

/** The rate limit of a policy: a hand-set bucket (rate 0: none) and whether the dependency's own headers feed it. */
export interface RateLimitSettings extends RateGateSettings {
  readonly fromHeaders: boolean;
}

export interface GateSettings {
  readonly concurrency: ConcurrencyLimitSettings | undefined;
  readonly rate: RateLimitSettings | undefined;
}

/** A target's rate state as the status endpoint and CircuitHandle.stats show it. */
export interface RateSnapshot extends RateGateSnapshot {
  /** Whose rate admits attempts now: the fleet's shared one, or this process's. */
  readonly decision: DecisionSource;
}

/**
 * A rate gate's waits loop at most this often: each wake-up may find the token taken by
 * another waiter (waiters hold nothing, so n of them take up to n wake-ups for the last
 * one: ten calls held by a pause and then paced need nine). The wait allowed bounds the
 * loop too; this only caps the wake-ups of a large herd.
 */
const MAX_RATE_WAITS = 64;

/** What the dependency says when it is overloaded, or an attempt that timed out: samples that pull the limit down. */
export function isOverloadSignal(classification: Classification): boolean {
  return classification.category === 'timeout' || classification.category === 'rate_limit' || classification.category === 'resource' || classification.code === '503';
}

/**
 * The dependency refused the attempt for want of slots before doing any work: PostgreSQL's
 * 53300 too_many_connections. Its concurrency was exceeded, whatever its latency.
 */
export function isCapacityRefusal(classification: Classification | undefined): boolean {
  return classification?.code === '53300';
}

/**
 * The gates one target's attempts pass after its breaker (design.md section 4b): the
 * rate (a hand-set bucket, and what the dependency said: a 429/503's Retry-After pauses
 * every attempt, RateLimit headers pace them), then the adaptive concurrency limit.
 * Every attempt passes them, retries and hedges included; a hedge only when both let
 * it through at once.
 *
 * With a SharedRate (fleet mode, fleet-seams.ts) the hand-set bucket is the fleet's:
 * the shared rate takes the place of the local bucket, and what the dependency says
 * (fromHeaders) still pauses and paces this process's attempts first.
 */
export class AttemptGates {
  readonly concurrency: ConcurrencyGate | undefined;
  /** The local gate: the hand-set bucket (none with a shared rate) and the dependency's say. */
  readonly rate: RateGate | undefined;
  private readonly shared: SharedRate | undefined;
  private readonly rateFromHeaders: boolean;

  constructor(
    private readonly settings: GateSettings,
    clock: Clock,
    random: () => number,
    shared?: SharedRate,
  ) {
    this.concurrency = settings.concurrency ? new ConcurrencyGate(new GradientLimit(settings.concurrency.gradient, clock.now(), random), settings.concurrency.maxQueue, clock) : undefined;
    this.shared = settings.rate ? shared : undefined;
    this.rateFromHeaders = settings.rate?.fromHeaders === true;
    // The gate's own cap is on what a dependency may impose (a Retry-After of minutes is
    // honoured); the policy's maxWaitMs is how long one attempt may wait, checked in admit().
    const local = settings.rate && (this.shared === undefined || this.rateFromHeaders);
    this.rate = local ? new RateGate({ ...settings.rate!, ...(this.shared ? { ratePerSecond: 0 } : {}), maxWaitMs: RATE_LIMIT_MAX_WAIT_MS }) : undefined;
  }

  /** Whose rate decides this target's attempts now; undefined without a rate limit. */
  get rateSource(): DecisionSource | undefined {
    return this.shared !== undefined ? this.shared.source : this.rate !== undefined ? 'local' : undefined;
  }

  /** Ms before an attempt may go by the rate, taking nothing (a shared rate cannot be asked without taking: 0). */
  rateWait(now: number): number {
    return this.rate === undefined ? 0 : this.rate.waitFor(now);
  }

  /** For a hedge: a token and a slot now, or nothing taken and the reason. */
  tryAdmitNow(now: number): LimitReason | undefined {
    if (this.rateWait(now) > 0) return 'rate';
    const concurrency = this.concurrency;
    if (concurrency !== undefined && !concurrency.tryEnter()) return 'concurrency';
    if (this.reserveRate(now) > 0) {
      concurrency?.release(); // only a shared rate can say no here: nothing local was taken
      return 'rate';
    }
    return undefined;
  }

  /**
   * Waits for a token and a slot: resolves with the milliseconds waited, or rejects
   * with LimitedError when either would not come within the wait allowed or the
   * deadline (at once, without waiting, when that is known up front), or with the
   * caller's reason when it aborts.
   */
  async admit(clock: Clock, timers: TimerQueue, now: number, deadlineAt: number, signal: AbortSignal | undefined, target: string): Promise<number> {
    const start = now;
    if (this.rate !== undefined || this.shared !== undefined) {
      for (let i = 0; ; i++) {
        const wait = this.reserveRate(now);
        if (wait === 0) break;
        if (now + wait > deadlineAt || now + wait - start > this.settings.rate!.maxWaitMs || i >= MAX_RATE_WAITS) throw new LimitedError(target, 'rate', wait);
        await sleep(wait, clock, signal);
        now = clock.now();
      }
    }
    const concurrency = this.concurrency;
    if (concurrency !== undefined && !concurrency.tryEnter()) {
      const limitMs = Math.min(concurrency.waitLimit(now, this.settings.concurrency!.maxWaitMs), deadlineAt - now);
      if (!concurrency.canQueue() || !(limitMs > 0)) throw new LimitedError(target, 'concurrency');
      await new SlotWait(concurrency, timers, signal, () => new LimitedError(target, 'concurrency')).wait(now, limitMs);
      now = clock.now();
    }
    return now - start;
  }

  /** A token now, or the ms to wait: the dependency's say first (nothing taken while it pauses), then the bucket. */
  private reserveRate(now: number): number {
    const shared = this.shared;
    const rate = this.rate;
    if (shared === undefined) return rate === undefined ? 0 : rate.reserve(now);
    const paused = rate === undefined ? 0 : rate.waitFor(now);
    if (paused > 0) return paused;
    const wait = shared.reserve(now);
    // The local gate's pacing counts the attempt; it let it through above, in this same tick.
    if (wait === 0 && rate !== undefined) rate.reserve(now);
    return wait;
  }

  /** The rate state for stats; undefined without a rate limit. */
  rateSnapshot(now: number): RateSnapshot | undefined {
    const decision = this.rateSource;
    if (decision === undefined) return undefined;
    const local = this.rate?.snapshot(now) ?? { tokens: Number.POSITIVE_INFINITY, source: 'configured' };
    // A shared rate's tokens are the fleet's: the local gate only knows the dependency's pauses.
    return this.shared !== undefined && local.source === 'none' ? { ...local, source: 'configured', decision } : { ...local, decision };
  }

  /**
   * An admitted attempt ended: its latency moves the concurrency limit (`dropped`: it
   * timed out or the dependency said it is overloaded), or, `dropped` undefined (it was
   * cancelled), it only frees its slot. A failure's Retry-After (429, 503) pauses the
   * target's attempts.
   */
  done(now: number, latencyMs: number, dropped: boolean | undefined, classification?: Classification): void {
    if (this.concurrency !== undefined) {
      if (isCapacityRefusal(classification)) this.concurrency.refused(now);
      else if (dropped === undefined || !(latencyMs >= 0)) this.concurrency.release();
      else this.concurrency.leave(now, latencyMs, dropped);
    }
    if (this.rateFromHeaders && classification?.retryAfterMs !== undefined) {
      const status = Number(classification.code);
      if (status === 429 || status === 503) this.rate!.feed(now, { retryAfterMs: classification.retryAfterMs }, status);
    }
  }

  /** Whether a response's rate-limit headers are wanted (an adapter reads none otherwise). */
  get wantsHeaders(): boolean {
    return this.rateFromHeaders;
  }

  /** A response's rate-limit headers (RateLimit-Remaining, X-RateLimit-Reset, ...): they pace the target's next attempts. */
  feedHeaders(now: number, headers: HeaderGetter, status: number | undefined): void {
    if (!this.rateFromHeaders) return;
    this.rate!.feed(now, parseRateLimitHeaders(headers, Date.now(), RATE_LIMIT_MAX_WAIT_MS), status);
  }
}
