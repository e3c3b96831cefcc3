/**
 * A time-scaled copy of the pattern rules, for the end-to-end test: the real windows
 * (5m rates, `for: 5m`, hours for the trend) cannot pass inside a test. Every duration
 * the rules hold (range selectors, subqueries, offsets, `for`, `keep_firing_for`) is
 * divided by the same factor, so the rules keep their shape: with a factor of 60 a
 * minute becomes a second, `rate(...[5m])` becomes `rate(...[5s])` and `for: 5m` waits 5 s.
 *
 * Not scaled: plain numbers that stand for seconds (`deriv(...) * 3600`,
 * `predict_linear(..., 1800)`), in BreakwaterErrorTrend and BreakwaterResourceExhaustion,
 * neither of which the test expects to fire. Annotations are left as written.
 */
import { parse, stringify } from 'yaml';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
/** A Prometheus duration: one or more number+unit parts, largest unit first (`1h30m`). */
const DURATION = /\b(?:\d+(?:ms|s|m|h|d|w|y))+\b/g;

export function durationMs(text: string): number {
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(n) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  return total;
}

/** A duration divided by factor, in whole milliseconds (at least 1 ms). */
export function scaleDuration(text: string, factor: number): string {
  const ms = Math.max(1, Math.round(durationMs(text) / factor));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The durations of a PromQL expression (inside `[...]` and after `offset`), scaled. */
export function scaleExpr(expr: string, factor: number): string {
  return expr
    .replace(/\[([^\]]*)\]/g, (_, inside: string) => `[${inside.replace(DURATION, (d) => scaleDuration(d, factor))}]`)
    .replace(/\boffset(\s+)(-?)((?:\d+(?:ms|s|m|h|d|w|y))+)/g, (_, space: string, sign: string, d: string) => `offset${space}${sign}${scaleDuration(d, factor)}`);
}

interface RuleLike {
  expr?: string;
  for?: string;
  keep_firing_for?: string;
}

/** The whole rules file (YAML text) with every duration divided by factor. */
export function scaleRules(rulesYaml: string, factor: number): string {
  const file = parse(rulesYaml) as { groups: { rules: RuleLike[] }[] };
  for (const group of file.groups) {
    for (const rule of group.rules) {
      if (rule.expr !== undefined) rule.expr = scaleExpr(rule.expr, factor);
      if (rule.for !== undefined) rule.for = scaleDuration(rule.for, factor);
      if (rule.keep_firing_for !== undefined) rule.keep_firing_for = scaleDuration(rule.keep_firing_for, factor);
    }
  }
  return stringify(file);
}
