import { HEDGE_DEFAULTS } from './defaults.js';
import { LatencyEstimator } from './latency-estimator.js';
import type { HedgeOptions } from './options.js';

/** HedgeOptions with every field decided. */
export interface HedgeSettings {
  /** NaN: adaptive. */
  readonly fixedDelayMs: number;
  readonly percentile: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly minSamples: number;
  readonly maxHedges: number;
  readonly budgetRatio: number;
}

/** Why the hedge delay passed and no backup attempt was sent (the `resilience.hedge.skipped` event). */
export type HedgeSkipReason = 'not_replayable' | 'budget' | 'limited' | 'breaker_open' | 'failing' | 'deadline';

function check(name: string, value: number, ok: boolean, accepted: string): number {
  if (!ok) throw new RangeError(`hedge.${name} is ${value}; accepted: ${accepted}`);
  return value;
}

/** Fills in the defaults; a value out of range is a RangeError naming it. */
export function resolveHedge(options: HedgeOptions, base?: HedgeSettings): HedgeSettings {
  const pick = <K extends keyof HedgeSettings>(key: K, fallback: number): number => (options[key as keyof HedgeOptions] as number | undefined) ?? base?.[key] ?? fallback;
  const delay = options.delayMs ?? (base ? (Number.isNaN(base.fixedDelayMs) ? 'adaptive' : base.fixedDelayMs) : HEDGE_DEFAULTS.delayMs);
  const fixedDelayMs = delay === 'adaptive' ? NaN : check('delayMs', delay, Number.isFinite(delay) && delay >= 0, "a number of milliseconds >= 0, or 'adaptive'");
  const percentile = pick('percentile', HEDGE_DEFAULTS.percentile);
  const minDelayMs = pick('minDelayMs', HEDGE_DEFAULTS.minDelayMs);
  const maxDelayMs = pick('maxDelayMs', HEDGE_DEFAULTS.maxDelayMs);
  const minSamples = pick('minSamples', HEDGE_DEFAULTS.minSamples);
  const maxHedges = pick('maxHedges', HEDGE_DEFAULTS.maxHedges);
  const budgetRatio = pick('budgetRatio', HEDGE_DEFAULTS.budgetRatio);
  const settings: HedgeSettings = {
    fixedDelayMs,
    percentile: check('percentile', percentile, percentile > 0 && percentile < 1, 'a share between 0 and 1 (0.95 for p95)'),
    minDelayMs: check('minDelayMs', minDelayMs, Number.isFinite(minDelayMs) && minDelayMs >= 0, 'a number of milliseconds >= 0'),
    maxDelayMs: check('maxDelayMs', maxDelayMs, Number.isFinite(maxDelayMs) && maxDelayMs >= minDelayMs, 'a number of milliseconds >= minDelayMs'),
    minSamples: check('minSamples', minSamples, Number.isInteger(minSamples) && minSamples >= 0, 'a whole number >= 0'),
    maxHedges: check('maxHedges', maxHedges, Number.isInteger(maxHedges) && maxHedges >= 1, 'a whole number >= 1'),
    budgetRatio: check('budgetRatio', budgetRatio, budgetRatio >= 0, 'a share >= 0 of first attempts'),
  };
  return settings;
}

/**
 * What hedging keeps per target: its recent latency, and whether its latest attempt
 * failed (a failing target is not hedged: more copies would only add to its load).
 */
export class TargetLatency {
  readonly estimator = new LatencyEstimator();
  failing = false;

  /** The hedge delay for this target now; undefined while an adaptive estimate lacks samples. */
  delayMs(settings: HedgeSettings): number | undefined {
    if (!Number.isNaN(settings.fixedDelayMs)) return settings.fixedDelayMs;
    if (this.estimator.sampleCount < settings.minSamples) return undefined;
    const estimate = this.estimator.quantile(settings.percentile);
    if (Number.isNaN(estimate)) return undefined; // minSamples 0 and nothing seen yet
    return Math.min(settings.maxDelayMs, Math.max(settings.minDelayMs, estimate));
  }

  /** What a typical attempt takes (the median), to judge whether a deadline leaves room for a hedge; 0 when unknown. */
  typicalMs(): number {
    const median = this.estimator.quantile(0.5);
    return Number.isNaN(median) ? 0 : median;
  }
}
