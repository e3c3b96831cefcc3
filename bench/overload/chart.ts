// The overload benchmark's picture per dependency: goodput (top) and the admitted calls'
// p99 (middle) against the offered load, one line per variant, with the capacity and the
// targets drawn in, so where each variant bends (or breaks) shows at a glance; and
// (bottom) the adaptive limits through the run at the highest load against the
// dependency's own concurrency, which says why the adaptive variants land where they do.
import { writeFileSync } from 'node:fs';
import { DEFAULT_COLORS, type LineChartSpec, type Series } from '../chart/line-chart.js';
import { renderPanels } from '../chart/panels.js';
import { ADAPTIVE_VARIANTS, capacityPerSecond, LOAD_STEPS, SATURATION, TARGETS, VARIANTS, variantLabel, type Dependency, type Variant } from './cases.js';
import type { DependencyResults } from './report.js';

const GREY = '#888888';
const WIDTH = 960;
const HEIGHT = 480;
/** One colour per variant in every panel (the limit panel shows only some of them). */
const colorOf = (variant: Variant) => DEFAULT_COLORS[VARIANTS.indexOf(variant) % DEFAULT_COLORS.length]!;

/** Writes `file` (PNG): the goodput, p99 and limit panels of `dependency`; `unloadedP99Ms` sets the p99 target line. */
export function writeOverloadChart(file: string, dependency: Dependency, results: DependencyResults, unloadedP99Ms: number): void {
  const capacity = capacityPerSecond(dependency);
  // A step with nothing admitted has no p99 (NaN): the line skips it. Zero goodput is drawn.
  const lineOf = (variant: Variant, figure: (step: number) => number): Series => ({
    name: variantLabel(variant, dependency),
    points: (results.get(variant) ?? []).map((_, i) => [LOAD_STEPS[i]!, figure(i)] as [number, number]).filter(([, y]) => Number.isFinite(y)),
    color: colorOf(variant),
  });
  // Short: a long title is drawn in a smaller font to fit.
  const title = dependency === 'http' ? 'HTTP' : 'pg';
  const goodputs = VARIANTS.flatMap((variant) => (results.get(variant) ?? []).map((step) => step.goodputPerSecond));
  const perLoad = { xLabel: 'offered load (multiple of capacity)', xScale: 'linear' as const, xMin: 0, xMax: Math.max(...LOAD_STEPS), xTicks: LOAD_STEPS, width: WIDTH, height: HEIGHT };
  const goodput: LineChartSpec = {
    ...perLoad,
    title: `${title}: goodput (capacity ${capacity} calls/s)`,
    yLabel: 'successful calls/s',
    yScale: 'linear',
    yMin: 0,
    // Room above the capacity for the legend; the offered load runs off the top.
    yMax: Math.max(1.6 * capacity, 1.1 * Math.max(...goodputs)),
    series: [
      // What a dependency of unlimited capacity would serve: the load itself.
      { name: 'offered', points: LOAD_STEPS.map((load) => [load, load * capacity] as [number, number]), color: GREY, dashed: true, lineWidth: 1 },
      ...VARIANTS.map((variant) => lineOf(variant, (i) => results.get(variant)![i]!.goodputPerSecond)),
    ],
    hLines: [
      { y: capacity, label: 'capacity' },
      { y: TARGETS.goodputShare * capacity, label: `${TARGETS.goodputShare * 100}% of capacity (target)` },
    ],
  };
  const p99s = VARIANTS.flatMap((variant) => (results.get(variant) ?? []).map((step) => step.p99Ms)).filter((p99) => Number.isFinite(p99));
  const p99: LineChartSpec = {
    ...perLoad,
    title: `${title}: p99 of admitted calls, from scheduled start`,
    yLabel: 'p99 (ms, log scale)',
    yScale: 'log',
    // A decade above the highest p99 keeps the legend clear of the lines.
    yMax: 10 * Math.max(...p99s),
    series: VARIANTS.map((variant) => lineOf(variant, (i) => results.get(variant)![i]!.p99Ms)),
    hLines: Number.isFinite(unloadedP99Ms) ? [{ y: TARGETS.p99Ratio * unloadedP99Ms, label: `${TARGETS.p99Ratio} x unloaded p99 (target)` }] : [],
  };
  const top = LOAD_STEPS.length - 1;
  const traces = ADAPTIVE_VARIANTS.map((variant) => ({ variant, trace: results.get(variant)?.[top]?.limitTrace ?? [] }));
  const highest = Math.max(SATURATION[dependency], ...traces.flatMap(({ trace }) => trace.map(([, limit]) => limit)));
  const limits: LineChartSpec = {
    title: `${title}: adaptive limit over time at ${LOAD_STEPS[top]}x, warm-up included`,
    xLabel: 'seconds since the first call',
    yLabel: 'limit (attempts)',
    xScale: 'linear',
    yScale: 'linear',
    xMin: 0,
    yMin: 0,
    yMax: 1.5 * highest,
    width: WIDTH,
    height: HEIGHT,
    series: traces.map(({ variant, trace }) => ({
      name: variantLabel(variant, dependency),
      points: trace.map(([seconds, limit]) => [seconds, limit] as [number, number]),
      color: colorOf(variant),
    })),
    hLines: [{ y: SATURATION[dependency], label: dependency === 'http' ? 'server workers' : 'connection slots' }],
  };
  writeFileSync(file, renderPanels([goodput, p99, limits]));
}
