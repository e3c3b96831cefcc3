// The overload benchmark's Markdown: per dependency, a row per offered load and variant
// (goodput against the capacity, the admitted calls' p50 and p99, the errors by kind, the
// adaptive limit), the adaptive variant's targets at the highest load, and the
// rate-limit experiment's attempts per second after the first 429.
import { percentile } from '../stats.js';
import { ADAPTIVE_VARIANTS, capacityPerSecond, LOAD_STEPS, RATE_LIMIT_PER_SECOND, RATE_MODE_LABELS, TARGETS, VARIANTS, variantLabel } from './cases.js';
import type { Dependency, RateMode, RateVariant, StepResult, Variant } from './cases.js';
import type { AttemptWindows } from './summary.js';

/** Every step's result per variant, in LOAD_STEPS order. */
export type DependencyResults = ReadonlyMap<Variant, readonly StepResult[]>;

const ms = (value: number | null): string => (value === null || !Number.isFinite(value) ? '–' : value >= 100 ? value.toFixed(0) : value.toFixed(1));
const pct = (share: number): string => `${(share * 100).toFixed(0)}%`;
const bold = (text: string, missed: boolean): string => (missed ? `**${text}**` : text);

/** "BREAKWATER_LIMITED 1200, HTTP 503 30", most frequent first; "–" for none. */
export function errorText(errors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(errors).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? '–' : entries.map(([kind, count]) => `${kind} ${count}`).join(', ');
}

/** The adaptive limit during the measured part (the trace's samples after the warm-up): median and range. */
export function limitText(step: StepResult, warmupSeconds: number): string {
  const limits = step.limitTrace.filter(([t]) => t >= warmupSeconds).map(([, limit]) => limit);
  if (limits.length === 0) return '';
  const sorted = [...limits].sort((a, b) => a - b);
  return `${percentile(sorted, 0.5)} (${sorted[0]}–${sorted[sorted.length - 1]})`;
}

export interface TargetCheck {
  variant: Variant;
  goodputShare: number;
  p99Ms: number;
  /** The dependency's unloaded p99: the unprotected variant's at the lowest load (see unloadedP99). */
  unloadedP99Ms: number;
  /** The variant whose p99 at the lowest load that is. */
  unloadedFrom: Variant;
  goodputMet: boolean;
  p99Met: boolean;
}

/**
 * The dependency's p99 with no load to speak of: the unprotected variant's at the lowest
 * load, or the first variant's after it that admitted calls there (an unprotected client
 * can fail every call even at half the capacity: a cold pg pool opening more connections
 * than the server has, and the breaker opening on the refusals).
 */
export function unloadedP99(results: DependencyResults): { p99Ms: number; from: Variant } {
  for (const variant of VARIANTS) {
    const p99Ms = results.get(variant)?.[0]?.p99Ms;
    if (p99Ms !== undefined && Number.isFinite(p99Ms)) return { p99Ms, from: variant };
  }
  return { p99Ms: NaN, from: VARIANTS[0] };
}

/** Each adaptive variant at the highest load against the targets. */
export function checkTargets(dependency: Dependency, results: DependencyResults): TargetCheck[] {
  const unloaded = unloadedP99(results);
  return ADAPTIVE_VARIANTS.flatMap((variant) => {
    const steps = results.get(variant) ?? [];
    const top = steps[LOAD_STEPS.length - 1];
    if (top === undefined) return [];
    const goodputShare = top.goodputPerSecond / capacityPerSecond(dependency);
    return [
      {
        variant,
        goodputShare,
        p99Ms: top.p99Ms,
        unloadedP99Ms: unloaded.p99Ms,
        unloadedFrom: unloaded.from,
        goodputMet: goodputShare >= TARGETS.goodputShare,
        // NaN (nothing admitted) is a miss.
        p99Met: top.p99Ms <= TARGETS.p99Ratio * unloaded.p99Ms,
      },
    ];
  });
}

export function overloadTable(dependency: Dependency, results: DependencyResults, warmupSeconds: number): string {
  const capacity = capacityPerSecond(dependency);
  const columns = ['offered', 'variant', 'goodput (calls/s, share of capacity)', 'admitted p50 (ms)', 'admitted p99 (ms)', 'failed calls by kind', 'adaptive limit: median (range)', 'start lag p99 (ms)'];
  const lines = [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`];
  LOAD_STEPS.forEach((load, i) => {
    for (const variant of VARIANTS) {
      const step = results.get(variant)?.[i];
      if (step === undefined) continue;
      const offered = variant === VARIANTS[0] ? `${load}x (${step.offeredPerSecond}/s)` : '';
      const goodput = `${step.goodputPerSecond.toFixed(0)} (${pct(step.goodputPerSecond / capacity)})`;
      const cells = [offered, variantLabel(variant, dependency), goodput, ms(step.p50Ms), ms(step.p99Ms), errorText(step.errors), limitText(step, warmupSeconds), ms(step.startLagP99Ms)];
      lines.push(`| ${cells.join(' | ')} |`);
    }
  });
  return lines.join('\n');
}

/** The sentence under a dependency's table for one adaptive variant: its targets, met or not. */
export function targetLine(dependency: Dependency, check: TargetCheck): string {
  const top = LOAD_STEPS[LOAD_STEPS.length - 1];
  const goodput = bold(`${pct(check.goodputShare)} of capacity`, !check.goodputMet);
  const p99 = bold(`${ms(check.p99Ms)} ms`, !check.p99Met);
  const reference = `${LOAD_STEPS[0]}x, ${check.unloadedFrom === 'none' ? 'no limit' : variantLabel(check.unloadedFrom, dependency)}`;
  return (
    `${variantLabel(check.variant, dependency)} at ${top}x: goodput ${goodput} (target ≥ ${pct(TARGETS.goodputShare)}: ${check.goodputMet ? 'met' : 'missed'}); ` +
    `admitted p99 ${p99} against ${TARGETS.p99Ratio} × the unloaded p99 (${ms(check.unloadedP99Ms)} ms at ${reference}) = ${ms(TARGETS.p99Ratio * check.unloadedP99Ms)} ms: ${check.p99Met ? 'met' : 'missed'}.`
  );
}

/** What reached the rate-limited server in one run, and what the client saw. */
export interface RateRun {
  mode: RateMode;
  variant: RateVariant;
  windows: AttemptWindows;
  client: StepResult;
}

export function rateTable(runs: readonly RateRun[]): string {
  const columns = [
    'server',
    'fromHeaders',
    'first 429 after (s)',
    `attempts/s reaching the server from the first 429 (or the start): mean, max 1-s window (stated rate ${RATE_LIMIT_PER_SECOND})`,
    'of them answered 429',
    'successful calls/s',
    'failed calls by kind',
  ];
  const lines = [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`];
  for (const run of runs) {
    const { perSecond, refused, first429AfterMs } = run.windows;
    const total = perSecond.reduce((sum, n) => sum + n, 0);
    const mean = perSecond.length > 0 ? total / perSecond.length : NaN;
    const max = perSecond.length > 0 ? Math.max(...perSecond) : NaN;
    // The target is fromHeaders's: attempts within the stated rate once the server has said
    // it, on average (the bucket holds a second's tokens, so one window may see up to twice
    // the rate from a client that keeps to it).
    const headersOn = run.variant === 'headers-on';
    const attempts = `${bold(mean.toFixed(0), headersOn && mean > RATE_LIMIT_PER_SECOND)}, ${max} (${perSecond.length} s)`;
    const refusedText = total > 0 ? `${refused} (${pct(refused / total)})` : '–';
    const cells = [
      RATE_MODE_LABELS[run.mode],
      headersOn ? 'on' : 'off',
      first429AfterMs === undefined ? 'none' : (first429AfterMs / 1000).toFixed(2),
      attempts,
      refusedText,
      run.client.goodputPerSecond.toFixed(0),
      errorText(run.client.errors),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
