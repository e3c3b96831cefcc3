import { waitCap, type RateLimitInfo } from './rate-limit-headers.js';

export interface RateGateSettings {
  /** Hand-set rate; 0, negative or not a number: no hand-set limit. */
  readonly ratePerSecond: number;
  /** Attempts that may go at once after a quiet spell; at least 1 when a rate is set. */
  readonly burst: number;
  /** No wait the gate reports, and no pause a dependency asks for, is longer (at least 1 ms). */
  readonly maxWaitMs: number;
}

/** The reason an attempt waits or is turned away by a RateGate. */
export const RATE_LIMIT_REASON = 'rate';
export type RateLimitReason = typeof RATE_LIMIT_REASON;

export type RateSource = 'none' | 'configured' | 'dependency';

export interface RateGateSnapshot {
  /** Until when (the gate's clock) every attempt waits: a 429/503's Retry-After, or a window with nothing left. */
  readonly pausedUntil?: number;
  /** Attempts that may start now: the bucket's tokens (fractional), 0 or 1 under pacing, Infinity with no limit. */
  readonly tokens: number;
  /** `dependency` while what the dependency said is in force, else `configured` with a hand-set rate. */
  readonly source: RateSource;
}

/** 31,000 years per token: keeps the bucket's arithmetic finite for any positive rate. */
const MAX_INTERVAL_MS = 1e15;

/**
 * The rate learnt from throttling (a 429, or a 503 with Retry-After), additive increase
 * and multiplicative decrease as TCP's congestion control and the AWS SDKs' adaptive
 * retry mode do: a throttle sets the rate to THROTTLE_BACKOFF of what this process was
 * sending (or of the learnt rate, if lower); then it grows by THROTTLE_GROWTH of itself
 * per second until the next throttle, and is dropped once it has grown to
 * THROTTLE_RELEASE times its level (that long without a throttle: the dependency no
 * longer limits). Throttles closer together than THROTTLE_GAP_MS cut once: the answers
 * to attempts already sent at the old rate say nothing new.
 */
const THROTTLE_BACKOFF = 0.7;
const THROTTLE_GROWTH = 0.2;
const THROTTLE_RELEASE = 4;
const THROTTLE_GAP_MS = 250;
/**
 * Never learn a rate under this (attempts/s). Below it a throttle's pause (Retry-After)
 * already bounds what reaches the dependency, and a rate measured from a handful of
 * attempts is noise: a process that sent one request, was told 429, and then has ten
 * calls to make would otherwise send them one every few hundred ms.
 */
const MIN_LEARNT_RATE = 10;
/** The sending rate is measured over windows this long, the newest full one and the one under way. */
const SEND_WINDOW_MS = 250;

/** Statuses whose Retry-After pauses the whole target, not only the one call's retry. */
function pausesTarget(status: number | undefined): boolean {
  return status === 429 || status === 503;
}

function validWait(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function validCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Admission by rate for one target, from two sources: a hand-set token bucket, and what
 * the dependency said about its own limit (RateLimitInfo from rate-limit-headers.ts).
 * Pure: no timers, no clock reads; every method takes the engine clock's `now`.
 *
 * Nothing is held while a caller waits: `waitFor` only looks, and `reserve` takes a
 * slot only when it can go at once. A caller that would wait asks `waitFor`, gives up if
 * that passes its deadline, or sleeps and calls `reserve` again (another caller may have
 * taken the slot meanwhile; then it is told the new wait). So an abandoned wait leaks
 * nothing.
 *
 * The bucket is GCRA (the token bucket as one timestamp, as in ATM traffic shaping and
 * redis-cell): over any interval of t ms it admits at most burst + rate * t / 1000.
 */
export class RateGate {
  readonly reason: RateLimitReason = RATE_LIMIT_REASON;
  /** Ms per token; 0 when there is no hand-set rate. */
  private readonly interval: number;
  private readonly burst: number;
  /** How far ahead of `now` the theoretical arrival time may run: burst - 1 tokens. */
  private readonly tolerance: number;
  private readonly maxWaitMs: number;
  /** GCRA's theoretical arrival time: the bucket is full once now >= tat. */
  private tat = Number.NEGATIVE_INFINITY;
  private pausedUntil = Number.NEGATIVE_INFINITY;
  /** The dependency's pacing: ms between attempts, in force until paceUntil (its reset). */
  private spacing = 0;
  private paceUntil = Number.NEGATIVE_INFINITY;
  private lastTakeAt = Number.NEGATIVE_INFINITY;
  /** Throttle learning (see THROTTLE_BACKOFF): the rate set at the last throttle, 0 when none is in force. */
  private learnt = 0;
  private learntAt = Number.NEGATIVE_INFINITY;
  private learntTat = Number.NEGATIVE_INFINITY;
  /** Attempts taken in the window under way, and the rate of the last full window (attempts/s). */
  private windowStart = Number.NEGATIVE_INFINITY;
  private windowTakes = 0;
  private lastWindowRate = 0;

  constructor(settings: RateGateSettings) {
    const rate = settings.ratePerSecond;
    // A rate so small its interval overflows is "practically never", not "no limit".
    this.interval = typeof rate === 'number' && Number.isFinite(rate) && rate > 0 ? Math.min(1000 / rate, MAX_INTERVAL_MS) : 0;
    const burst = settings.burst;
    this.burst = typeof burst === 'number' && Number.isFinite(burst) && burst >= 1 ? Math.floor(burst) : 1;
    this.tolerance = (this.burst - 1) * this.interval;
    // At least 1 ms: a capped wait of 0 would read as "go now".
    this.maxWaitMs = Math.max(1, waitCap(settings.maxWaitMs));
  }

  /** Ms to wait before an attempt may go (0: now), within maxWaitMs. Takes nothing. */
  waitFor(now: number): number {
    const wait = this.rawWait(now);
    return wait > 0 ? Math.min(Math.ceil(wait), this.maxWaitMs) : 0;
  }

  /** As waitFor, and when that is 0 the attempt's slot is taken: the caller must go. */
  reserve(now: number): number {
    const wait = this.rawWait(now);
    if (wait > 0) return Math.min(Math.ceil(wait), this.maxWaitMs);
    if (this.interval > 0) this.tat = Math.max(this.tat, now) + this.interval;
    this.lastTakeAt = Math.max(this.lastTakeAt, now);
    const learnt = this.learntRate(now);
    if (learnt > 0) this.learntTat = Math.max(this.learntTat, now) + 1000 / learnt;
    this.countTake(now);
    return 0;
  }

  /**
   * What the dependency said in a response (status undefined for no response). A 429 or
   * 503 with Retry-After pauses every attempt to the target until then. `remaining` R
   * with `resetMs` T spreads the R attempts left evenly before the reset (one every
   * T / (R + 1) ms after the last attempt), and R = 0 pauses until the reset; either
   * lapses at the reset, so stale information expires. The newest statement replaces
   * the pacing; a pause only ever extends. Garbage (NaN, negative, missing) changes nothing.
   */
  feed(now: number, info: RateLimitInfo, status: number | undefined): void {
    if (!Number.isFinite(now) || typeof info !== 'object' || info === null) return;
    const retryAfter = validWait(info.retryAfterMs);
    if (retryAfter !== undefined && pausesTarget(status)) this.pause(now + Math.min(retryAfter, this.maxWaitMs));
    if (status === 429 || (status === 503 && retryAfter !== undefined)) this.throttled(now);
    const remaining = validCount(info.remaining);
    const reset = validWait(info.resetMs);
    if (remaining === undefined || reset === undefined) return;
    const until = now + Math.min(reset, this.maxWaitMs);
    if (remaining === 0) {
      this.pause(until);
      return;
    }
    this.spacing = (until - now) / (remaining + 1);
    this.paceUntil = until;
  }

  snapshot(now: number): RateGateSnapshot {
    const paused = now < this.pausedUntil;
    const pacing = now < this.paceUntil;
    let tokens = this.interval > 0 ? Math.min(this.burst, Math.max(0, (now - this.tat) / this.interval + this.burst)) : Number.POSITIVE_INFINITY;
    if (paused) tokens = 0;
    else if (pacing) tokens = Math.min(tokens, this.paceWait(now) > 0 ? 0 : 1);
    const learnt = this.learntRate(now);
    if (learnt > 0 && !paused) tokens = Math.min(tokens, this.learntTat <= now ? 1 : 0);
    const source: RateSource = paused || pacing || learnt > 0 ? 'dependency' : this.interval > 0 ? 'configured' : 'none';
    return paused ? { pausedUntil: this.pausedUntil, tokens, source } : { tokens, source };
  }

  /** The rate learnt from throttling now (attempts/s), 0 when none is in force. */
  private learntRate(now: number): number {
    if (this.learnt === 0) return 0;
    const rate = this.learnt * (1 + (THROTTLE_GROWTH * Math.max(0, now - this.learntAt)) / 1000);
    if (rate >= THROTTLE_RELEASE * this.learnt) {
      this.learnt = 0;
      return 0;
    }
    return rate;
  }

  private throttled(now: number): void {
    if (now - this.learntAt < THROTTLE_GAP_MS) return;
    const sending = this.sendingRate(now);
    const current = this.learntRate(now);
    const base = current > 0 ? Math.min(current, sending) : sending;
    this.learnt = Math.max(MIN_LEARNT_RATE, THROTTLE_BACKOFF * base);
    this.learntAt = now;
    // Spaced from the last attempt: no burst when a pause ends.
    this.learntTat = Math.max(this.learntTat, this.lastTakeAt + 1000 / this.learnt);
  }

  private countTake(now: number): void {
    if (now - this.windowStart >= SEND_WINDOW_MS) {
      // A window with no take after it reads as 0: a quiet spell is not a sending rate.
      this.lastWindowRate = now - this.windowStart < 2 * SEND_WINDOW_MS ? (this.windowTakes * 1000) / SEND_WINDOW_MS : 0;
      this.windowStart = now;
      this.windowTakes = 0;
    }
    this.windowTakes++;
  }

  /** Attempts per second this process sends the target: the larger of the last full window and the one under way. */
  private sendingRate(now: number): number {
    const elapsed = now - this.windowStart;
    const current = elapsed >= 0 && elapsed < 2 * SEND_WINDOW_MS ? (this.windowTakes * 1000) / Math.max(elapsed, SEND_WINDOW_MS) : 0;
    return Math.max(this.lastWindowRate, current);
  }

  private pause(until: number): void {
    if (until > this.pausedUntil) this.pausedUntil = until;
  }

  /** Ms until the bucket, the pause and the pacing all allow an attempt; <= 0 when they do now. */
  private rawWait(now: number): number {
    // A clock that is not a number can admit nothing: look again after the longest wait.
    if (!Number.isFinite(now)) return Number.POSITIVE_INFINITY;
    let wait = this.interval > 0 ? this.tat - this.tolerance - now : 0;
    if (now < this.pausedUntil) wait = Math.max(wait, this.pausedUntil - now);
    if (this.learntRate(now) > 0) wait = Math.max(wait, this.learntTat - now);
    return Math.max(wait, this.paceWait(now));
  }

  private paceWait(now: number): number {
    if (now >= this.paceUntil) return 0;
    return Math.min(this.lastTakeAt + this.spacing, this.paceUntil) - now;
  }
}
