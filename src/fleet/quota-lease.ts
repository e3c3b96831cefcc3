import type { Clock } from '../engine/clock.js';
import { systemClock } from '../engine/clock.js';
import { RateGate } from '../engine/rate-limit.js';
import type { DecisionSource, SharedRate } from '../engine/fleet-seams.js';
import type { LeaseGrant } from './gcra.js';
import { numberOption as option } from './option.js';

/**
 * The local side of a fleet-wide rate limit for one target: holds tokens leased from
 * the fleet's bucket (gcra.ts) and spends them on the hot path with no Redis round trip.
 *
 * - `reserve(now)` answers like RateGate's: 0 when the call may go (a token was spent),
 *   else the ms to wait before asking again. It never awaits anything and never writes
 *   to a socket: when the tokens in hand fall to the low-water mark it schedules a
 *   refill on a later turn of the event loop (setImmediate), one lease in flight at most.
 * - Batch size follows the instance's own demand: a lease asks for what the instance
 *   spends in `horizonMs` (the demand is measured between refills), 1 at least and
 *   `maxBatch` at most; the refill starts at half a batch left, and keeps one token in
 *   hand whenever the demand would spend it before it expires. So an instance making
 *   c calls/s leases about 1000 / horizonMs times a second once c * horizonMs / 1000
 *   reaches a batch, and at most c times a second below that.
 * - Leased tokens expire `leaseTtlMs` after they were granted: tokens an instance leased
 *   and then had no use for do not come back later as a burst. Over any t ms the fleet
 *   spends at most burst + rate * (t + leaseTtlMs) / 1000.
 * - When the fleet's bucket is empty (a lease granted fewer than asked, or none), the
 *   next lease waits for the bucket's next token and for `horizonMs` at least, so a
 *   fleet held at its quota polls Redis at most 1000 / horizonMs times a second per
 *   instance; a burst of at least rate * horizonMs / 1000 then keeps the quota fully used.
 * - Fallback: until the first lease is answered, when a lease fails, and at once when
 *   the Redis client reports it is not ready, calls are admitted by a local bucket at
 *   this instance's share, rate / expectedInstances with burst / expectedInstances
 *   (tokens in hand are dropped: the switch is immediate). The default expectedInstances
 *   of 1 gives the whole rate: Redis going down is then never worse than running without
 *   fleet mode; a deployment that knows its size sets it to stay near the shared quota
 *   during an outage. Leases are tried again (`retryMs` apart) and the first one answered
 *   rejoins the fleet.
 */

/** Where the tokens come from: GcraLimiter, or a fake. */
export interface FleetRateSource {
  /** Redis is connected: while false, decisions are local. */
  readonly ready: boolean;
  lease(key: string, ratePerSecond: number, burst: number, want: number): Promise<LeaseGrant>;
}

export type QuotaMode = DecisionSource;

export interface QuotaLeaseOptions {
  readonly source: FleetRateSource;
  /** The fleet's bucket (keys.ts: fleetKey(service, target, 'rate')). */
  readonly key: string;
  /** The fleet-wide rate (tokens/s). */
  readonly ratePerSecond: number;
  /** The fleet-wide burst (tokens). */
  readonly burst: number;
  /** Instances sharing the quota, for the local share and the largest batch. Default 1. */
  readonly expectedInstances?: number;
  /** A batch covers this much of the instance's demand (ms). Default 100. */
  readonly horizonMs?: number;
  /** Largest lease. Default burst / expectedInstances (at least 1). */
  readonly maxBatch?: number;
  /** Leased tokens unspent after this long are dropped (ms). Default 1000. */
  readonly leaseTtlMs?: number;
  /** After a failed lease, the next one waits this long (ms). Default 200. */
  readonly retryMs?: number;
  /** Longest wait reserve() reports (ms). Default 30000. */
  readonly maxWaitMs?: number;
  /** Time for what happens off the hot path (a lease's answer). Default systemClock. */
  readonly clock?: Pick<Clock, 'now'>;
}

export interface QuotaLeaseSnapshot {
  readonly mode: QuotaMode;
  /** Leased tokens in hand (0 in local mode). */
  readonly held: number;
  /** The next lease's size. */
  readonly batch: number;
  /** The instance's measured demand (calls/s). */
  readonly demandPerSecond: number;
}

interface Batch {
  count: number;
  readonly expiresAt: number;
}

const DEFAULTS = { expectedInstances: 1, horizonMs: 100, leaseTtlMs: 1000, retryMs: 200, maxWaitMs: 30_000 };
/** Weight of the newest demand sample. */
const DEMAND_SMOOTHING = 0.5;

/** The engine's SharedRate (src/engine/fleet-seams.ts): a fleet-mode policy's rate for one target. */
export class QuotaLease implements SharedRate {
  readonly #source: FleetRateSource;
  readonly #key: string;
  readonly #rate: number;
  readonly #burst: number;
  readonly #horizonMs: number;
  readonly #maxBatch: number;
  readonly #leaseTtlMs: number;
  readonly #retryMs: number;
  readonly #maxWaitMs: number;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #local: RateGate;

  #mode: QuotaMode = 'local';
  #batches: Batch[] = [];
  #held = 0;
  #batch = 1;
  #demand = 0;
  #calls = 0;
  #measuredAt: number;
  #refilling = false;
  #nextLeaseAt = Number.NEGATIVE_INFINITY;

  /** Throws RangeError on a bad option (configuration, checked once). */
  constructor(options: QuotaLeaseOptions) {
    this.#source = options.source;
    this.#key = options.key;
    this.#rate = option(options.ratePerSecond, NaN, 'ratePerSecond', Number.MIN_VALUE);
    this.#burst = Math.floor(option(options.burst, NaN, 'burst', 1));
    const instances = Math.floor(option(options.expectedInstances, DEFAULTS.expectedInstances, 'expectedInstances', 1));
    this.#horizonMs = option(options.horizonMs, DEFAULTS.horizonMs, 'horizonMs', 1);
    this.#maxBatch = Math.floor(option(options.maxBatch, Math.max(1, this.#burst / instances), 'maxBatch', 1));
    this.#leaseTtlMs = option(options.leaseTtlMs, DEFAULTS.leaseTtlMs, 'leaseTtlMs', 1);
    this.#retryMs = option(options.retryMs, DEFAULTS.retryMs, 'retryMs', 1);
    this.#maxWaitMs = option(options.maxWaitMs, DEFAULTS.maxWaitMs, 'maxWaitMs', 1);
    this.#clock = options.clock ?? systemClock;
    this.#local = new RateGate({
      ratePerSecond: this.#rate / instances,
      burst: Math.max(1, Math.floor(this.#burst / instances)),
      maxWaitMs: this.#maxWaitMs,
    });
    this.#measuredAt = this.#clock.now();
  }

  /** Whose decision reserve() gives now: the fleet's (leased tokens) or this instance's alone. */
  get mode(): QuotaMode {
    return this.#mode;
  }

  /** The mode, as the engine reads it (SharedRate). */
  get source(): DecisionSource {
    return this.#mode;
  }

  /** 0: go (a token was spent); else ms to wait before asking again. The hot path: no I/O, no await. */
  reserve(now: number): number {
    this.#calls++;
    if (this.#mode === 'fleet' && !this.#source.ready) this.#fallBack();
    this.#dropExpired(now);
    if (this.#mode === 'local') {
      this.#refillIfDue(now); // a lease answered is how the fleet is rejoined
      return this.#local.reserve(now);
    }
    if (this.#held > 0) {
      this.#held--;
      if (--this.#batches[0]!.count === 0) this.#batches.shift();
      this.#refillIfDue(now);
      return 0;
    }
    this.#refillIfDue(now);
    // Out of tokens: ask again once the lease in flight (or the bucket's next token) is due.
    const wait = this.#refilling ? 1 : Math.ceil(this.#nextLeaseAt - now);
    return Math.min(this.#maxWaitMs, Math.max(1, wait));
  }

  snapshot(now: number): QuotaLeaseSnapshot {
    this.#dropExpired(now);
    return { mode: this.#mode, held: this.#held, batch: this.#batch, demandPerSecond: this.#demand };
  }

  /** Refill at half a batch left; keep a token in hand when the demand would use it before it expires. */
  #lowWater(): number {
    const half = Math.floor(this.#batch / 2);
    return this.#demand * this.#leaseTtlMs >= 1000 ? Math.max(1, half) : half;
  }

  #dropExpired(now: number): void {
    while (this.#batches.length > 0 && this.#batches[0]!.expiresAt <= now) this.#held -= this.#batches.shift()!.count;
  }

  #fallBack(): void {
    this.#mode = 'local';
    this.#batches = [];
    this.#held = 0;
  }

  /** One lease in flight at most, none before nextLeaseAt; in fleet mode only at the low-water mark. */
  #refillIfDue(now: number): void {
    if (this.#refilling || now < this.#nextLeaseAt || (this.#mode === 'fleet' && this.#held > this.#lowWater())) return;
    this.#refilling = true;
    // Off the hot path: the lease is written to the socket on a later turn of the loop.
    setImmediate(() => void this.#refill()).unref();
  }

  async #refill(): Promise<void> {
    const started = this.#clock.now();
    this.#measureDemand(started);
    try {
      const grant = await this.#source.lease(this.#key, this.#rate, this.#burst, this.#batch);
      const now = this.#clock.now();
      this.#mode = 'fleet';
      if (grant.granted > 0) {
        this.#batches.push({ count: grant.granted, expiresAt: now + this.#leaseTtlMs });
        this.#held += grant.granted;
      }
      // The bucket is empty: wait for its next token, and poll no more often than once a horizon.
      this.#nextLeaseAt = grant.retryAfterMs > 0 ? now + Math.max(grant.retryAfterMs, this.#horizonMs) : now;
    } catch {
      this.#fallBack();
      this.#nextLeaseAt = this.#clock.now() + this.#retryMs;
    } finally {
      this.#refilling = false;
    }
  }

  /** Calls per second since the last refill, smoothed; sizes the next batch. */
  #measureDemand(now: number): void {
    const elapsed = Math.max(1, now - this.#measuredAt);
    const sample = (this.#calls * 1000) / elapsed;
    this.#demand = this.#demand === 0 ? sample : DEMAND_SMOOTHING * sample + (1 - DEMAND_SMOOTHING) * this.#demand;
    this.#calls = 0;
    this.#measuredAt = now;
    this.#batch = Math.min(this.#maxBatch, Math.max(1, Math.ceil((this.#demand * this.#horizonMs) / 1000)));
  }
}
