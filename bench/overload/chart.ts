// The overload benchmark's picture per dependency: goodput (top) and the admitted calls'
// p99 (middle) against the offered load, one line per variant, with the capacity and the
// targets drawn in, so where each variant bends (or breaks) shows at a glance; and
// (bottom) the adaptive limits through the run at the highest load against the
// dependency's own concurrency, which says why the adaptive variants land where they do.
import { writeFileSync } from 'node:fs';
import { DEFAULT_COLORS, type LineChartSpec, type Series } from '../chart/line-chart.js';
import { renderPanels } from '../chart/panels.js';
import { ADAPTIVE_VARIANTS, capacityPerSecond, LOAD_STEPS, SATURATION, TARGETS, VARIANTS, variantLabel, type Dependency, type StepResult, type Variant } from './cases.js';
import type { DependencyResults } from './report.js';

const WIDTH = 960;
const HEIGHT = 480;
const GREY = '#888888';
const DARK = '#444444';
/**
 * The share of each panel's height above its data: room for the legend (one row per
 * line) in a top corner. Reference lines are legend entries too, not labels at the
 * line's end, which would hide a variant's last point when it lies near its target.
 */
const LEGEND_SHARE = { goodput: 0.6, p99: 0.45, limits: 0.45 } as const;

/** The top of a linear axis from 0 that leaves `share` of it above `highest`. */
const linearTop = (highest: number, share: number): number => highest / (1 - share);

/** One colour per variant in every panel (the limit panel shows only some of them). */
const colorOf = (variant: Variant) => DEFAULT_COLORS[VARIANTS.indexOf(variant) % DEFAULT_COLORS.length]!;

/** A horizontal reference line from `x0` to `x1`, as a thin series: dashed for a target, solid for a limit of the dependency's. */
const level = (name: string, y: number, x0: number, x1: number, dashed: boolean): Series => ({
  name,
  points: [
    [x0, y],
    [x1, y],
  ],
  color: DARK,
  dashed,
  lineWidth: 1,
});

/** Writes `file` (PNG): the goodput, p99 and limit panels of `dependency`; `unloadedP99Ms` sets the p99 target line. */
export function writeOverloadChart(file: string, dependency: Dependency, results: DependencyResults, unloadedP99Ms: number): void {
  const capacity = capacityPerSecond(dependency);
  const loads = { min: 0, max: Math.max(...LOAD_STEPS) };
  // A step with nothing admitted has no p99 (NaN): the line skips it. Zero goodput is drawn.
  const lineOf = (variant: Variant, figure: (step: StepResult) => number): Series => ({
    name: variantLabel(variant, dependency),
    points: (results.get(variant) ?? []).map((step, i) => [LOAD_STEPS[i]!, figure(step)] as [number, number]).filter(([, y]) => Number.isFinite(y)),
    color: colorOf(variant),
  });
  const figures = (figure: (step: StepResult) => number): number[] => VARIANTS.flatMap((variant) => (results.get(variant) ?? []).map(figure)).filter(Number.isFinite);
  // Short: a long title is drawn in a smaller font to fit.
  const title = dependency === 'http' ? 'HTTP' : 'pg';
  const perLoad = { xLabel: 'offered load (multiple of capacity)', xScale: 'linear' as const, xMin: loads.min, xMax: loads.max, xTicks: LOAD_STEPS, width: WIDTH, height: HEIGHT };

  const goodput: LineChartSpec = {
    ...perLoad,
    title: `${title}: goodput (capacity ${capacity} calls/s)`,
    yLabel: 'successful calls/s',
    yScale: 'linear',
    yMin: 0,
    // The offered load runs off the top.
    yMax: linearTop(Math.max(capacity, ...figures((step) => step.goodputPerSecond)), LEGEND_SHARE.goodput),
    series: [
      // What a dependency of unlimited capacity would serve: the load itself.
      { name: 'offered', points: LOAD_STEPS.map((load) => [load, load * capacity] as [number, number]), color: GREY, dashed: true, lineWidth: 1 },
      level('capacity', capacity, loads.min, loads.max, false),
      level(`${TARGETS.goodputShare * 100}% of capacity (target)`, TARGETS.goodputShare * capacity, loads.min, loads.max, true),
      ...VARIANTS.map((variant) => lineOf(variant, (step) => step.goodputPerSecond)),
    ],
  };

  const p99s = figures((step) => step.p99Ms);
  const p99Target = TARGETS.p99Ratio * unloadedP99Ms;
  const shown = Number.isFinite(p99Target) ? [...p99s, p99Target] : p99s;
  // From the decade under the lowest p99, and as many decades above the highest as keep LEGEND_SHARE free.
  const bottom = 10 ** Math.floor(Math.log10(Math.min(...shown)));
  const decades = Math.log10(Math.max(...shown) / bottom);
  const p99: LineChartSpec = {
    ...perLoad,
    title: `${title}: p99 of admitted calls, from scheduled start`,
    yLabel: 'p99 (ms, log scale)',
    yScale: 'log',
    yMin: bottom,
    yMax: bottom * 10 ** (decades / (1 - LEGEND_SHARE.p99)),
    series: [
      ...(Number.isFinite(p99Target) ? [level(`${TARGETS.p99Ratio} x unloaded p99 (target)`, p99Target, loads.min, loads.max, true)] : []),
      ...VARIANTS.map((variant) => lineOf(variant, (step) => step.p99Ms)),
    ],
  };

  const top = LOAD_STEPS.length - 1;
  const traces = ADAPTIVE_VARIANTS.map((variant) => ({ variant, trace: results.get(variant)?.[top]?.limitTrace ?? [] }));
  const samples = traces.flatMap(({ trace }) => trace);
  const end = Math.max(1, ...samples.map(([seconds]) => seconds));
  const saturation = SATURATION[dependency];
  const limits: LineChartSpec = {
    title: `${title}: adaptive limit over time at ${LOAD_STEPS[top]}x, warm-up included`,
    xLabel: 'seconds since the first call',
    yLabel: 'limit (attempts)',
    xScale: 'linear',
    yScale: 'linear',
    xMin: 0,
    xMax: end,
    yMin: 0,
    yMax: linearTop(Math.max(saturation, ...samples.map(([, limit]) => limit)), LEGEND_SHARE.limits),
    width: WIDTH,
    height: HEIGHT,
    series: [
      level(dependency === 'http' ? `server workers (${saturation})` : `connection slots (${saturation})`, saturation, 0, end, false),
      ...traces.map(({ variant, trace }) => ({
        name: variantLabel(variant, dependency),
        points: trace.map(([seconds, limit]) => [seconds, limit] as [number, number]),
        color: colorOf(variant),
      })),
    ],
  };
  writeFileSync(file, renderPanels([goodput, p99, limits]));
}
