import { GCRA_LEASE_SCRIPT } from './gcra-script.js';
import type { RespCommander } from './resp-client.js';
import { ScriptRunner } from './script-runner.js';

/**
 * A fleet-wide rate limit per key: GCRA (the token bucket as one theoretical arrival
 * time, as RateGate keeps it locally) in one atomic Redis script (gcra-script.ts), from
 * which instances LEASE tokens in batches and spend them locally (quota-lease.ts), so a
 * call never waits for Redis. Over any interval of t ms the key grants at most
 * burst + rate * t / 1000 tokens, however many instances lease from it.
 *
 * Time: by default the script reads Redis's clock (TIME), one clock for the whole fleet,
 * so instances whose clocks disagree cannot take more than their due by running ahead.
 * A `now` function replaces it (every lease passes its own time): for tests, which can
 * then drive the bucket with fake time; instances in production should not, since a
 * clock that is ahead would be granted up to rate * skew tokens early.
 *
 * Redis cost: one EVALSHA per lease (a GET and, when tokens are granted, a SET with PX
 * on one key: O(1)); SCRIPT LOAD once per server start. An instance spending c calls/s
 * in batches of b tokens runs c / b leases/s; docs/fleet.md has the arithmetic.
 */

export interface LeaseGrant {
  /** Tokens granted now: 0 to the number wanted. */
  readonly granted: number;
  /** Ms until the next token is free after this lease: 0 while some are; how long to wait when none were granted. */
  readonly retryAfterMs: number;
}

/** What GcraLimiter needs of a client (RespClient, or a fake). */
export interface ReadyCommander extends RespCommander {
  readonly ready: boolean;
}

export interface GcraLimiterOptions {
  /** A lease's time limit (ms), SCRIPT LOAD included. Default 250. */
  readonly timeoutMs?: number;
  /** Wall-clock ms passed to the script instead of Redis's TIME (tests; see above). */
  readonly now?: () => number;
}

/** A key outlives the moment its bucket is full again by this much (a caller's clock may lag Redis's). */
export const EXPIRY_SLACK_MS = 1000;
/** The longest time a bucket may take to fill (burst / rate): about 11.6 days, so PX stays a plain integer. */
export const MAX_FILL_MS = 1e9;
const DEFAULT_TIMEOUT_MS = 250;

function checkedNumber(value: unknown, name: string, valid: (n: number) => boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !valid(value)) throw new RangeError(`${name} is out of range: ${String(value)}`);
  return value;
}

export class GcraLimiter {
  readonly #client: ReadyCommander;
  readonly #script: ScriptRunner;
  readonly #timeoutMs: number;
  readonly #now: (() => number) | undefined;

  constructor(client: ReadyCommander, options: GcraLimiterOptions = {}) {
    this.#client = client;
    this.#script = new ScriptRunner(client, GCRA_LEASE_SCRIPT);
    this.#timeoutMs = checkedNumber(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs', (n) => n > 0);
    this.#now = options.now;
  }

  /** Whether Redis is reachable now (a lease would be sent, not failed fast). */
  get ready(): boolean {
    return this.#client.ready;
  }

  /**
   * Leases up to `want` tokens (capped at `burst`) from the bucket at `key`, whose rate
   * and burst every lease restates (the bucket holds no settings, so a rolling deploy
   * that changes them takes effect lease by lease). Rejects on a bad argument or when
   * Redis fails; never waits longer than the limiter's timeout.
   */
  async lease(key: string, ratePerSecond: number, burst: number, want: number): Promise<LeaseGrant> {
    if (typeof key !== 'string' || key === '') throw new RangeError('the key must be a non-empty string');
    const rate = checkedNumber(ratePerSecond, 'ratePerSecond', (n) => n > 0);
    const size = Math.floor(checkedNumber(burst, 'burst', (n) => n >= 1));
    const interval = 1000 / rate;
    if (!(size * interval <= MAX_FILL_MS)) throw new RangeError(`burst / rate must be at most ${MAX_FILL_MS} ms`);
    const wanted = Math.min(size, Math.floor(checkedNumber(want, 'want', (n) => n >= 1)));
    const now = this.#now === undefined ? '' : checkedNumber(this.#now(), 'now', (n) => n >= 0);
    const reply = await this.#script.run([key], [interval, size, wanted, now, EXPIRY_SLACK_MS], this.#timeoutMs);
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
      throw new Error(`unexpected reply from the GCRA script: ${JSON.stringify(reply)}`);
    }
    return { granted: reply[0], retryAfterMs: reply[1] };
  }
}
