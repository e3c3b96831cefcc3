/**
 * The arithmetic of an adaptive concurrency limit for one target: a gradient limiter
 * after Envoy's adaptive concurrency filter (and Netflix concurrency-limits' Gradient2).
 * Pure: no timers, no I/O, no clock reads; every method takes `now` (ms, monotonic) from
 * the caller, so it runs the same under the engine's clock and a test's fake one. It only
 * computes the limit; admitting, counting and queueing attempts is the caller's job.
 *
 * Each sample window (`sampleWindowMs` passed and `minWindowSamples` attempts ended) the
 * limit moves by the ratio of the no-load latency to the window's latency:
 *
 *   gradient = clamp(minRtt * (1 + buffer) / sampleRtt, 0.5, 2)
 *   target   = gradient * limit + HEADROOM_SHARE * sqrt(gradient * limit)
 *   limit    = clamp(limit + smoothing * (target - limit), minLimit, maxLimit)
 *
 * and callers see its whole part. minRtt is measured in a probe: the limit is pinned low
 * until `minRttSamples` attempts ended; at the start, once more FIRST_REPROBE_MS later
 * (the first ran cold), then every `minRttIntervalMs` (with jitter), and sooner when the
 * baseline looks stale (below). docs/engine.md, "Adaptive
 * concurrency (the limit's arithmetic)", explains the choices and every constant.
 */

export interface GradientLimitSettings {
  /** The limit after the first probe, before any window has moved it. */
  initialLimit: number;
  /** The floor (a whole number >= 1): the limit never goes below it, probes included. */
  minLimit: number;
  /** The ceiling (a whole number). */
  maxLimit: number;
  /** How much slower than minRtt a window may be before the limit shrinks (0.25: 25%). */
  buffer: number;
  /** A window lasts at least this long... */
  sampleWindowMs: number;
  /** ...and holds at least this many samples. */
  minWindowSamples: number;
  /** The percentile (0..1] summarising a window's latencies and a probe's. */
  percentile: number;
  /** Time between two probes of minRtt. */
  minRttIntervalMs: number;
  /** The interval varies by +- this share of itself, at random. */
  minRttJitter: number;
  /** The limit during a probe (never above the limit before it, never below minLimit). */
  minRttConcurrency: number;
  /** Samples a probe collects before minRtt is taken. */
  minRttSamples: number;
  /** The share (0..1] of the way to the computed limit the limit moves each window. */
  smoothing: number;
}

/**
 * Envoy's gradient controller defaults where it has one, with two departures said below.
 * - initialLimit 20: Netflix concurrency-limits' starting point; small enough not to
 *   flood a target that turns out to take 5, and it grows by >= 12% a window (four a second).
 * - minLimit 1, maxLimit 1000: 1 keeps one attempt at a time going to a badly slowed
 *   target rather than none; 1000 is Envoy's max_concurrency_limit.
 * - buffer 0.25: Envoy's default (min_rtt_calc_params.buffer 25%). p90s of a window's
 *   few dozen samples easily vary by 10%, so a 10% buffer would shrink the limit on noise.
 * - sampleWindowMs 250, minWindowSamples 20: a p90 of fewer than 20 samples is nearly
 *   their maximum; 250 ms (Envoy has no default; its example uses 100 ms) covers several
 *   round trips of a typical dependency, so the window's latency reflects the limit it ran
 *   under, and still adapts four times a second.
 * - percentile 0.9: queueing shows in the tail first (Envoy's default is p50; its own
 *   example configures p90).
 * - minRttIntervalMs 60 000, minRttJitter 0.15, minRttConcurrency 3, minRttSamples 50:
 *   Envoy's example interval and its defaults for the rest (jitter 15%, min_concurrency 3,
 *   request_count 50). Envoy's jitter only delays; ours is +-, so the mean stays 60 s.
 * - smoothing 0.5: Envoy applies each window's limit at once (1), Gradient2 moves 20% of
 *   the way (0.2). Half keeps most of the speed while damping the swing a window that
 *   overlaps the previous limit's attempts causes (in the tests' simulation it holds
 *   steadier than 1 and falls 2.5x faster than 0.2 after a slowdown).
 */
export const GRADIENT_DEFAULTS: GradientLimitSettings = Object.freeze({
  initialLimit: 20,
  minLimit: 1,
  maxLimit: 1000,
  buffer: 0.25,
  sampleWindowMs: 250,
  minWindowSamples: 20,
  percentile: 0.9,
  minRttIntervalMs: 60_000,
  minRttJitter: 0.15,
  minRttConcurrency: 3,
  minRttSamples: 50,
  smoothing: 0.5,
});

/** The gradient's bounds: at most halve or double the limit in one window (Envoy's). */
export const MIN_GRADIENT = 0.5;
export const MAX_GRADIENT = 2;
/**
 * The queue allowance, as a share of Envoy's headroom √(gradient × limit). With all of
 * it the limit settles where the window's p90 is about 1.6 × minRtt (the buffer's 25%
 * on top of the allowance); with half, about 1.45 ×, which in bench:overload took 3-4 ms
 * off the admitted p99 of a 10 ms dependency at 3x its capacity, with the same goodput.
 * Growth while latency stays flat comes mostly from the buffer (a gradient of 1.25).
 */
export const HEADROOM_SHARE = 0.5;
/** Samples kept per window or probe; past this, reservoir sampling keeps a uniform subset. */
export const RESERVOIR_SIZE = 256;
/** A window whose busiest moment used less than this share of the limit may not raise it. */
export const APP_LIMITED_SHARE = 0.5;
/** A dropped attempt counts as at least this many times the buffered minRtt (gradient floor). */
export const DROP_PENALTY = 2;
/** Windows at or under max(minLimit, minRttConcurrency) in a row before minRtt is re-measured. */
export const LOW_WINDOWS_BEFORE_PROBE = 5;
/** A window this much faster than minRtt (sampleRtt < minRtt * this) re-measures it at once. */
export const FASTER_PROBE_RATIO = 0.5;
/**
 * The first probe runs on a cold client: connections still being opened, code not yet
 * optimised, a queue of callers that arrived at once. Its minRtt came out up to 45%
 * high under load in bench:overload (17.8 ms against 11-13 ms measured warm), and every
 * window is judged against it until the next probe. So the first baseline is re-measured
 * this long after (+- jitter), then every minRttIntervalMs.
 */
export const FIRST_REPROBE_MS = 5_000;
/** A refusal ceiling (onRefused) rises by one this often while no refusal comes, to find room that opened up. */
export const CEILING_RAISE_MS = 1000;
/** Latencies are clamped to [1 us, 1 day]: ratios stay finite whatever a caller passes. */
export const MIN_LATENCY_MS = 0.001;
export const MAX_LATENCY_MS = 86_400_000;

function check(path: string, name: string, value: unknown, ok: boolean, accepted: string): number {
  if (!ok) throw new RangeError(`${path}.${name} is ${String(value)}; accepted: ${accepted}`);
  return value as number;
}

const isWhole = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Fills in GRADIENT_DEFAULTS for what `partial` leaves out (undefined counts as left
 * out; a left-out initialLimit or maxLimit is moved within the given bounds); a value out
 * of range is a RangeError naming the field, the value and what is accepted. `path`
 * prefixes the field in messages (the option's place in a policy).
 */
export function resolveGradientSettings(partial: Partial<GradientLimitSettings>, path = 'gradientLimit'): GradientLimitSettings {
  const pick = <K extends keyof GradientLimitSettings>(key: K): unknown => partial[key] ?? GRADIENT_DEFAULTS[key];
  const minLimit = check(path, 'minLimit', pick('minLimit'), isWhole(pick('minLimit')) && (pick('minLimit') as number) >= 1, 'a whole number >= 1');
  // A default that was not asked for fits around the bounds that were: { minLimit: 50 }
  // alone must not fail on the default initialLimit of 20.
  const max = partial.maxLimit ?? Math.max(GRADIENT_DEFAULTS.maxLimit, minLimit);
  const maxLimit = check(path, 'maxLimit', max, isWhole(max) && max >= minLimit, `a whole number >= minLimit (${minLimit})`);
  const initial = partial.initialLimit ?? Math.min(maxLimit, Math.max(minLimit, GRADIENT_DEFAULTS.initialLimit));
  const buffer = pick('buffer');
  const window = pick('sampleWindowMs');
  const windowSamples = pick('minWindowSamples');
  const percentile = pick('percentile');
  const interval = pick('minRttIntervalMs');
  const jitter = pick('minRttJitter');
  const concurrency = pick('minRttConcurrency');
  const probeSamples = pick('minRttSamples');
  const smoothing = pick('smoothing');
  return {
    initialLimit: check(path, 'initialLimit', initial, isWhole(initial) && initial >= minLimit && initial <= maxLimit, `a whole number from minLimit (${minLimit}) to maxLimit (${maxLimit})`),
    minLimit,
    maxLimit,
    buffer: check(path, 'buffer', buffer, isFiniteNumber(buffer) && buffer >= 0, 'a share >= 0 of minRtt (0.25 for 25%)'),
    sampleWindowMs: check(path, 'sampleWindowMs', window, isFiniteNumber(window) && window > 0, 'a number of milliseconds > 0'),
    minWindowSamples: check(path, 'minWindowSamples', windowSamples, isWhole(windowSamples) && windowSamples >= 1, 'a whole number >= 1'),
    percentile: check(path, 'percentile', percentile, isFiniteNumber(percentile) && percentile > 0 && percentile <= 1, 'a share above 0, up to 1 (0.9 for p90)'),
    minRttIntervalMs: check(path, 'minRttIntervalMs', interval, isFiniteNumber(interval) && interval > 0, 'a number of milliseconds > 0'),
    minRttJitter: check(path, 'minRttJitter', jitter, isFiniteNumber(jitter) && jitter >= 0 && jitter < 1, 'a share from 0 up to (not including) 1'),
    minRttConcurrency: check(path, 'minRttConcurrency', concurrency, isWhole(concurrency) && concurrency >= 1, 'a whole number >= 1'),
    minRttSamples: check(path, 'minRttSamples', probeSamples, isWhole(probeSamples) && probeSamples >= 1, 'a whole number >= 1'),
    smoothing: check(path, 'smoothing', smoothing, isFiniteNumber(smoothing) && smoothing > 0 && smoothing <= 1, 'a share above 0, up to 1'),
  };
}

/**
 * Up to RESERVOIR_SIZE latencies; past that, each new one replaces a kept one with the
 * right probability (Vitter's algorithm R), so the kept ones stay a uniform sample of
 * all: bounded memory, and an unbiased percentile estimate however busy the window.
 */
class Reservoir {
  private readonly kept = new Float64Array(RESERVOIR_SIZE);
  private readonly scratch = new Float64Array(RESERVOIR_SIZE);
  /** Samples offered since the last clear, kept or not. */
  seen = 0;

  constructor(private readonly random: () => number) {}

  add(ms: number): void {
    if (this.seen < RESERVOIR_SIZE) {
      this.kept[this.seen] = ms;
    } else {
      const slot = Math.floor(this.random() * (this.seen + 1));
      if (slot < RESERVOIR_SIZE) this.kept[slot] = ms;
    }
    this.seen++;
  }

  /** Nearest-rank percentile of the kept samples; NaN when empty. */
  percentile(p: number): number {
    const n = Math.min(this.seen, RESERVOIR_SIZE);
    if (n === 0) return NaN;
    const sorted = this.scratch.subarray(0, n);
    sorted.set(this.kept.subarray(0, n));
    sorted.sort();
    const rank = Math.min(n, Math.max(1, Math.ceil(p * n)));
    return sorted[rank - 1]!;
  }

  clear(): void {
    this.seen = 0;
  }
}

/** A random source that misbehaves (NaN, out of [0, 1)) is read as 0.5: no jitter, no crash. */
function safeRandom(random: () => number): () => number {
  return () => {
    const r = random();
    return r >= 0 && r < 1 ? r : 0.5;
  };
}

export class GradientLimit {
  private readonly settings: GradientLimitSettings;
  private readonly random: () => number;
  /** Kept fractional so small steps add up; callers see its whole part. */
  private value: number;
  private probe = true;
  /** The limit to return to when the probe ends. */
  private saved: number;
  /** Attempts that started before this were running at the old limit: a probe ignores them. */
  private probeStartedAt: number;
  /** Successful probe samples (a probe ends on all its samples, but only these measure minRtt). */
  private readonly probeLatencies: Reservoir;
  private probeSeen = 0;
  private nextProbe = Infinity;
  private readonly window: Reservoir;
  private windowStartedAt: number;
  private windowMaxInFlight = 0;
  private minRtt = NaN;
  private sampleRtt = NaN;
  private lastGradient = NaN;
  private lowWindows = 0;
  private latest: number;
  /** At most this many in flight: learnt from the dependency refusing for want of slots (onRefused). */
  private ceiling = Number.POSITIVE_INFINITY;
  private ceilingSetAt = 0;
  /** minRtt comes from the first probe, not yet re-measured warm (FIRST_REPROBE_MS). */
  private coldBaseline = false;

  constructor(settings: GradientLimitSettings, now: number, random: () => number = Math.random) {
    this.settings = resolveGradientSettings(settings);
    this.random = safeRandom(random);
    this.probeLatencies = new Reservoir(this.random);
    this.window = new Reservoir(this.random);
    const start = Number.isFinite(now) ? now : 0;
    this.latest = start;
    this.windowStartedAt = start;
    this.value = this.settings.initialLimit;
    // No minRtt yet: the first phase is a probe, as in Envoy.
    this.saved = this.value;
    this.probeStartedAt = start;
    this.value = this.probeLimit(this.saved);
  }

  /** The concurrency limit now: a whole number in [minLimit, maxLimit]. */
  get limit(): number {
    return Math.floor(Math.min(this.value, this.ceiling));
  }

  /** The ceiling learnt from refusals (onRefused); Infinity when there is none. */
  get refusalCeiling(): number {
    return this.ceiling;
  }

  /**
   * The dependency refused an attempt for want of slots (PostgreSQL's 53300
   * too_many_connections) with `inFlight` attempts in flight, itself included: it holds
   * fewer than that, whatever the latency says. The limit is capped at inFlight - 1 (not
   * below minLimit), and the cap rises by one every CEILING_RAISE_MS without a refusal,
   * so room that opens up (another client's connections closing) is found again at the
   * cost of one refused attempt a second. A refusal is not a latency sample: the gradient
   * is left alone, so the limit does not saw-tooth below the slots it has.
   */
  onRefused(now: number, inFlight: number): void {
    if (!Number.isFinite(now) || !(inFlight >= 1)) return;
    now = this.advance(now);
    // min: a late refusal of an attempt admitted under an older, higher limit must not raise it.
    this.ceiling = Math.max(this.settings.minLimit, Math.min(this.ceiling, Math.floor(inFlight) - 1));
    this.ceilingSetAt = now;
    if (this.value > this.ceiling) this.value = this.ceiling;
  }

  /** True while minRtt is being measured (the limit is pinned low). */
  get probing(): boolean {
    return this.probe;
  }

  /** The no-load latency (the percentile of the last probe's samples); NaN until measured. */
  get minRttMs(): number {
    return this.minRtt;
  }

  /** The latest closed window's latency percentile; NaN before one closed. */
  get sampleRttMs(): number {
    return this.sampleRtt;
  }

  /** The latest window's gradient (already clamped); NaN before one closed. */
  get gradient(): number {
    return this.lastGradient;
  }

  /** When the next probe starts (at the first sample or advance() from then on); Infinity while probing. */
  get nextProbeAt(): number {
    return this.nextProbe;
  }

  /**
   * One attempt ended at `now`, having taken `latencyMs`, with `inFlight` attempts to the
   * target in flight (itself included). `dropped`: it timed out, or the target said it is
   * overloaded; it then counts as at least DROP_PENALTY x the buffered minRtt, so that once
   * more than (1 - percentile) of a window's attempts drop, the gradient is at its floor
   * (the window aims at half the limit). A latency that is not a number >= 0 is ignored
   * (a dropped one still counts, as the penalty); Infinity and huge values are clamped to
   * a day. During a probe, only attempts sent after it began count.
   */
  onSample(now: number, latencyMs: number, inFlight: number, dropped: boolean): void {
    if (!Number.isFinite(now)) return;
    now = this.advance(now);
    const measured = latencyMs >= 0; // false for NaN and negatives
    if (!measured && !dropped) return;
    if (this.probe) {
      this.onProbeSample(now, measured ? latencyMs : NaN, dropped);
      return;
    }
    let ms = measured ? clampLatency(latencyMs) : 0;
    if (dropped) ms = Math.max(ms, clampLatency(DROP_PENALTY * this.minRtt * (1 + this.settings.buffer)));
    this.window.add(ms);
    if (inFlight > this.windowMaxInFlight) this.windowMaxInFlight = inFlight; // NaN compares false: ignored
    this.closeWindowIfDue(now);
  }

  /**
   * Applies what time alone decides: a probe falling due, a window that has its samples
   * and its time. onSample calls it; a caller may call it between samples. Returns the
   * time used (never earlier than a time already seen).
   */
  advance(now: number): number {
    if (!Number.isFinite(now)) return this.latest;
    // Never backwards: a stale reading is taken as the latest time seen.
    if (now < this.latest) now = this.latest;
    this.latest = now;
    if (this.ceiling !== Number.POSITIVE_INFINITY && now - this.ceilingSetAt >= CEILING_RAISE_MS) this.raiseCeiling(now);
    if (!this.probe && now >= this.nextProbe) this.startProbe(now);
    else if (!this.probe) this.closeWindowIfDue(now);
    return now;
  }

  private onProbeSample(now: number, latencyMs: number, dropped: boolean): void {
    // Started before the probe (or unknown when): it ran at the old limit, not at no load.
    if (!(now - latencyMs >= this.probeStartedAt)) return;
    this.probeSeen++;
    // A drop says nothing about the no-load latency; it only counts toward ending the probe.
    if (!dropped) this.probeLatencies.add(clampLatency(latencyMs));
    if (this.probeSeen >= this.settings.minRttSamples) this.endProbe(now);
  }

  private startProbe(now: number): void {
    this.probe = true;
    this.saved = this.value;
    this.value = this.probeLimit(this.value);
    this.probeStartedAt = now;
    this.probeSeen = 0;
    this.probeLatencies.clear();
    this.nextProbe = Infinity;
    this.lowWindows = 0;
  }

  private endProbe(now: number): void {
    const measured = this.probeLatencies.percentile(this.settings.percentile);
    if (Number.isNaN(measured) && Number.isNaN(this.minRtt)) {
      // Every probe sample dropped and there is no baseline yet: keep probing (the limit
      // stays low, which is right for a target that has not answered once).
      this.probeStartedAt = now;
      this.probeSeen = 0;
      this.probeLatencies.clear();
      return;
    }
    const firstBaseline = Number.isNaN(this.minRtt);
    const reprobe = this.coldBaseline;
    this.coldBaseline = firstBaseline && !Number.isNaN(measured);
    // The early re-probe is there to correct a cold first baseline that read high; one
    // that reads higher still measured the client's own load, not the dependency's.
    if (!Number.isNaN(measured)) this.minRtt = reprobe ? Math.min(this.minRtt, measured) : measured;
    this.probe = false;
    this.value = this.saved;
    this.startWindow(now);
    const s = this.settings;
    // +- jitter so the targets (and processes) that started together do not probe together.
    const spread = s.minRttJitter * (2 * this.random() - 1);
    const interval = firstBaseline ? Math.min(FIRST_REPROBE_MS, s.minRttIntervalMs) : s.minRttIntervalMs;
    this.nextProbe = now + interval * (1 + spread);
  }

  private closeWindowIfDue(now: number): void {
    const s = this.settings;
    if (now - this.windowStartedAt < s.sampleWindowMs || this.window.seen < s.minWindowSamples) return;
    const sampleRtt = this.window.percentile(s.percentile);
    const appLimited = this.windowMaxInFlight < this.value * APP_LIMITED_SHARE;
    this.startWindow(now);
    this.sampleRtt = sampleRtt;
    const gradient = Math.min(MAX_GRADIENT, Math.max(MIN_GRADIENT, (this.minRtt * (1 + s.buffer)) / sampleRtt));
    this.lastGradient = gradient;
    const scaled = gradient * this.value;
    let target = scaled + HEADROOM_SHARE * Math.sqrt(scaled);
    // An idle target proves nothing about more load: it may shrink, never grow.
    if (appLimited && target > this.value) target = this.value;
    const next = this.value + s.smoothing * (target - this.value);
    // Under a refusal ceiling the limit waits at it, not growing where it cannot be used.
    this.value = Math.min(s.maxLimit, this.ceiling, Math.max(s.minLimit, next));

    // Stuck at the bottom: the baseline may be too low (the target got slower for good);
    // the limit is already about where a probe pins it, so re-measuring costs nothing (Envoy).
    if (this.limit <= Math.max(s.minLimit, s.minRttConcurrency)) this.lowWindows++;
    else this.lowWindows = 0;
    // Much faster than the baseline: it is too high (the target got faster), and the
    // gradient would let the limit grow far past capacity until the next probe.
    const stale = this.lowWindows >= LOW_WINDOWS_BEFORE_PROBE || sampleRtt < this.minRtt * FASTER_PROBE_RATIO;
    if (stale) this.nextProbe = now;
  }

  private raiseCeiling(now: number): void {
    const steps = Math.floor((now - this.ceilingSetAt) / CEILING_RAISE_MS);
    this.ceiling += steps;
    this.ceilingSetAt += steps * CEILING_RAISE_MS;
    if (this.ceiling >= this.settings.maxLimit) this.ceiling = Number.POSITIVE_INFINITY;
  }

  private startWindow(now: number): void {
    this.window.clear();
    this.windowStartedAt = now;
    this.windowMaxInFlight = 0;
  }

  /** A probe pins the limit to minRttConcurrency, never raising it, within [minLimit, maxLimit]. */
  private probeLimit(current: number): number {
    const s = this.settings;
    return Math.min(s.maxLimit, Math.max(s.minLimit, Math.min(s.minRttConcurrency, Math.floor(current))));
  }
}

function clampLatency(ms: number): number {
  if (!(ms >= MIN_LATENCY_MS)) return MIN_LATENCY_MS; // NaN too
  return ms > MAX_LATENCY_MS ? MAX_LATENCY_MS : ms;
}
