/**
 * Line charts for benchmark results, rendered to PNG without dependencies: axes on
 * linear, log or "nines" (percentile) scales, grid, ticks, reference lines, legend
 * and title.
 */
import { Axis, ScaleKind, fraction, makeAxis, transform } from './scale.js';
import { Raster, Rect, Rgb, WHITE, clipSegment, textHeight, textWidth } from './raster.js';

export { cdfPoints } from './cdf.js';
export type { ScaleKind } from './scale.js';
export type { Rgb } from './raster.js';

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** [r, g, b] or "#rrggbb"; a distinct default per series otherwise. */
  color?: Rgb | string;
  dashed?: boolean;
  /** Line thickness in pixels (default 2). */
  lineWidth?: number;
}

export interface ReferenceLine {
  y: number;
  label: string;
  color?: Rgb | string;
}

export type LegendPosition = 'auto' | 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right' | 'none';

export interface LineChartSpec {
  title: string;
  width?: number;
  height?: number;
  xLabel: string;
  yLabel: string;
  xScale: ScaleKind;
  yScale: ScaleKind;
  series: readonly Series[];
  /** Axis bounds in data units (for 'nines', probabilities such as 0.999); the data decides any left out. */
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  /** Tick positions in data units, replacing the automatic ones. */
  xTicks?: readonly number[];
  yTicks?: readonly number[];
  /** Horizontal dashed reference lines, e.g. a latency target. */
  hLines?: readonly ReferenceLine[];
  /** Where the legend goes; 'auto' picks the plot corner the lines cross least. */
  legend?: LegendPosition;
}

/** Tableau-10 hues, minus grey (the grid's colour) and olive (too light on white). */
export const DEFAULT_COLORS: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [23, 190, 207],
];

const INK: Rgb = [34, 34, 34];
const AXIS: Rgb = [90, 90, 90];
const GRID: Rgb = [222, 222, 222];
const MINOR_GRID: Rgb = [240, 240, 240];
const REFERENCE: Rgb = [60, 60, 60];
const MAX_SIZE = 8192;

export interface DrawnChart {
  raster: Raster;
  /** The plot area in pixels; series are clipped to it. */
  plot: Rect;
  x: Axis;
  y: Axis;
  /** The colour each series was drawn in, in spec order. */
  colors: Rgb[];
}

export function renderLineChart(spec: LineChartSpec): Buffer {
  return drawLineChart(spec).raster.toPng();
}

export function drawLineChart(spec: LineChartSpec): DrawnChart {
  const width = spec.width ?? 960;
  const height = spec.height ?? 600;
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_SIZE) throw new RangeError(`chart ${name} must be an integer in 1..${MAX_SIZE}, got ${v}`);
  }
  const raster = new Raster(width, height, WHITE);
  // Text doubles on a chart of ordinary size and stays at 1 on thumbnails.
  const s = width >= 480 && height >= 300 ? 2 : 1;
  const pad = 6 * s;
  const tickLength = 4 * s;

  const colors = spec.series.map((series, i) => parseColor(series.color) ?? DEFAULT_COLORS[i % DEFAULT_COLORS.length]!);
  const seriesT = spec.series.map((series) =>
    series.points.map(([x, y]) => [transform(spec.xScale, x), transform(spec.yScale, y)] as const),
  );
  // Only points drawable on both axes decide the ranges.
  const drawable = seriesT.flatMap((pts) => pts.filter(([tx, ty]) => Number.isFinite(tx) && Number.isFinite(ty)));
  const xAxis = makeAxis(spec.xScale, drawable.map((p) => p[0]), {
    min: spec.xMin,
    max: spec.xMax,
    ticks: spec.xTicks,
    targetTicks: Math.max(2, Math.floor(width / (90 * s))),
  });
  const yAxis = makeAxis(spec.yScale, drawable.map((p) => p[1]), {
    min: spec.yMin,
    max: spec.yMax,
    ticks: spec.yTicks,
    targetTicks: Math.max(2, Math.floor(height / (35 * s))),
  });

  // Layout: title on top, y label and tick labels on the left, x tick labels and x label below.
  const titleScale = pickTitleScale(spec.title, width - 2 * pad, s);
  const top = pad + (spec.title ? textHeight(titleScale) + pad : 0);
  const yTickWidth = Math.max(0, ...yAxis.ticks.map((t) => textWidth(t.label, s)));
  const left = pad + (spec.yLabel ? textHeight(s) + pad : 0) + yTickWidth + pad / 2 + tickLength;
  const bottom = tickLength + pad / 2 + textHeight(s) + (spec.xLabel ? pad + textHeight(s) : 0) + pad;
  const lastXLabel = xAxis.ticks.filter((t) => t.label).at(-1)?.label ?? '';
  const right = Math.max(pad * 2, Math.ceil(textWidth(lastXLabel, s) / 2) + pad);
  const plot: Rect = {
    x: left,
    y: top,
    width: Math.max(1, width - left - right),
    height: Math.max(1, height - top - bottom),
  };
  const toPx = (fx: number): number => plot.x + fx * (plot.width - 1);
  const toPy = (fy: number): number => plot.y + (1 - fy) * (plot.height - 1);

  // Grid: minor lines first so major ones draw over them.
  raster.setClip(plot);
  for (const minor of [true, false]) {
    for (const tick of xAxis.ticks) {
      if ((tick.label === '') !== minor) continue;
      const px = Math.round(toPx(fraction(xAxis, tick.t)));
      raster.fillRect(px, plot.y, 1, plot.height, minor ? MINOR_GRID : GRID);
    }
    for (const tick of yAxis.ticks) {
      if ((tick.label === '') !== minor) continue;
      const py = Math.round(toPy(fraction(yAxis, tick.t)));
      raster.fillRect(plot.x, py, plot.width, 1, minor ? MINOR_GRID : GRID);
    }
  }

  // Reference lines under the data; their labels go over it (below, after the series).
  const references = (spec.hLines ?? []).flatMap((ref) => {
    const fy = fraction(yAxis, transform(spec.yScale, ref.y));
    return fy >= 0 && fy <= 1 ? [{ ...ref, py: Math.round(toPy(fy)), color: parseColor(ref.color) ?? REFERENCE }] : [];
  });
  for (const ref of references) raster.line(plot.x, ref.py, plot.x + plot.width - 1, ref.py, ref.color, { width: s, dash: [6 * s, 4 * s] });

  // Series, clipped to the plot in fraction space first (so far-off points cost
  // nothing and cannot overflow), then to the plot's pixels by the raster.
  spec.series.forEach((series, i) => {
    const color = colors[i]!;
    const lineWidth = Math.max(1, Math.min(16, Math.round(series.lineWidth ?? 2)));
    const dashUnit = Math.max(1, lineWidth / 2);
    const dash: [number, number] | undefined = series.dashed ? [8 * dashUnit, 5 * dashUnit] : undefined;
    const style = { width: lineWidth, dash };
    const mx = (lineWidth + 2) / plot.width;
    const my = (lineWidth + 2) / plot.height;
    const fr = seriesT[i]!.map(([tx, ty]) => [fraction(xAxis, tx), fraction(yAxis, ty)] as const);
    let phase = 0;
    for (let k = 0; k < fr.length; k++) {
      const [fx, fy] = fr[k]!;
      const prev = fr[k - 1];
      const next = fr[k + 1];
      const ok = Number.isFinite(fx) && Number.isFinite(fy);
      if (!ok) continue;
      const prevOk = prev !== undefined && Number.isFinite(prev[0]) && Number.isFinite(prev[1]);
      const nextOk = next !== undefined && Number.isFinite(next[0]) && Number.isFinite(next[1]);
      if (!prevOk && !nextOk) {
        // A lone point (no finite neighbour) would draw nothing as a line: mark it.
        if (fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1) {
          const r = lineWidth + 1;
          raster.fillRect(Math.round(toPx(fx)) - r, Math.round(toPy(fy)) - r, 2 * r + 1, 2 * r + 1, color);
        }
        continue;
      }
      if (!prevOk) continue;
      const seg = clipSegment(prev[0], prev[1], fx, fy, -mx, -my, 1 + mx, 1 + my);
      if (!seg) continue;
      phase = raster.line(toPx(seg[0]), toPy(seg[1]), toPx(seg[2]), toPy(seg[3]), color, { ...style, phase });
    }
  });
  // Reference labels at the right end, above the line unless that leaves the plot.
  for (const ref of references) {
    const w = textWidth(ref.label, s);
    const tx = plot.x + plot.width - w - pad;
    const ty = ref.py - textHeight(s) - s * 2 >= plot.y ? ref.py - textHeight(s) - s * 2 : ref.py + s * 3;
    raster.fillRect(tx - s, ty - s, w + 2 * s, textHeight(s) + s, WHITE);
    raster.text(ref.label, tx, ty, ref.color, s);
  }
  raster.setClip();

  // Frame, ticks and tick labels; a label overlapping the previous one is skipped.
  raster.strokeRect(plot.x - 1, plot.y - 1, plot.width + 2, plot.height + 2, AXIS, 1);
  let lastRight = -Infinity;
  for (const tick of xAxis.ticks) {
    if (!tick.label) continue;
    const px = Math.round(toPx(fraction(xAxis, tick.t)));
    raster.fillRect(px, plot.y + plot.height, Math.max(1, s / 2), tickLength, AXIS);
    const w = textWidth(tick.label, s);
    const tx = Math.min(width - w, Math.max(0, px - Math.floor(w / 2)));
    if (tx < lastRight + pad) continue;
    raster.text(tick.label, tx, plot.y + plot.height + tickLength + pad / 2, INK, s);
    lastRight = tx + w;
  }
  let lastTop = Infinity;
  for (const tick of yAxis.ticks) {
    if (!tick.label) continue;
    const py = Math.round(toPy(fraction(yAxis, tick.t)));
    raster.fillRect(plot.x - tickLength - 1, py, tickLength, Math.max(1, s / 2), AXIS);
    const h = textHeight(s) - s; // descenders do not count for centring
    const ty = Math.min(height - h, Math.max(0, py - Math.floor(h / 2)));
    if (ty + h > lastTop - s * 2) continue;
    raster.text(tick.label, plot.x - tickLength - pad / 2 - 1 - textWidth(tick.label, s), ty, INK, s);
    lastTop = ty;
  }

  // Axis labels and title, centred on the plot (the title on the whole chart).
  if (spec.xLabel) {
    const w = textWidth(spec.xLabel, s);
    raster.text(spec.xLabel, Math.max(0, plot.x + (plot.width - w) / 2), height - pad - textHeight(s), INK, s);
  }
  if (spec.yLabel) {
    const h = textWidth(spec.yLabel, s);
    raster.textUp(spec.yLabel, pad, Math.max(0, plot.y + (plot.height - h) / 2), INK, s);
  }
  if (spec.title) {
    const w = textWidth(spec.title, titleScale);
    raster.text(spec.title, Math.max(0, (width - w) / 2), pad, INK, titleScale);
  }

  drawLegend(raster, spec, colors, plot, s);
  return { raster, plot, x: xAxis, y: yAxis, colors };
}

function pickTitleScale(title: string, room: number, s: number): number {
  for (let scale = s + 1; scale > 1; scale--) if (textWidth(title, scale) <= room) return scale;
  return 1;
}

function drawLegend(raster: Raster, spec: LineChartSpec, colors: readonly Rgb[], plot: Rect, s: number): void {
  const position = spec.legend ?? 'auto';
  if (position === 'none' || spec.series.length === 0) return;
  const pad = 5 * s;
  const swatch = 14 * s;
  const rowHeight = textHeight(s) + 3 * s;
  const nameWidth = Math.max(...spec.series.map((series) => textWidth(series.name, s)));
  const boxWidth = pad + swatch + pad + nameWidth + pad;
  const boxHeight = pad + rowHeight * spec.series.length - 3 * s + pad;
  const inset = 8 * s;
  const corners = {
    'top-right': { x: plot.x + plot.width - inset - boxWidth, y: plot.y + inset },
    'top-left': { x: plot.x + inset, y: plot.y + inset },
    'bottom-right': { x: plot.x + plot.width - inset - boxWidth, y: plot.y + plot.height - inset - boxHeight },
    'bottom-left': { x: plot.x + inset, y: plot.y + plot.height - inset - boxHeight },
  };
  let corner = position === 'auto' ? 'top-right' : position;
  if (position === 'auto') {
    // Count ink (series, reference lines and their labels) under each candidate box; the emptiest corner wins.
    let best = Infinity;
    for (const [name, at] of Object.entries(corners)) {
      // Grown by half the inset so the box also keeps clear of lines running just past it.
      const margin = inset / 2;
      const covered = countInk(raster, { x: at.x - margin, y: at.y - margin, width: boxWidth + 2 * margin, height: boxHeight + 2 * margin });
      if (covered < best) [best, corner] = [covered, name as keyof typeof corners];
    }
  }
  const at = corners[corner as keyof typeof corners];
  raster.fillRect(at.x, at.y, boxWidth, boxHeight, WHITE);
  raster.strokeRect(at.x, at.y, boxWidth, boxHeight, AXIS, 1);
  spec.series.forEach((series, i) => {
    const rowY = at.y + pad + i * rowHeight;
    const midY = rowY + Math.floor((textHeight(s) - s) / 2);
    const lineWidth = Math.max(1, Math.min(16, Math.round(series.lineWidth ?? 2)));
    raster.line(at.x + pad, midY, at.x + pad + swatch, midY, colors[i]!, { width: Math.max(lineWidth, s + 1), dash: series.dashed ? [4 * s, 3 * s] : undefined });
    raster.text(series.name, at.x + pad + swatch + pad, rowY, INK, s);
  });
}

const PAPER: readonly Rgb[] = [WHITE, GRID, MINOR_GRID];

function countInk(raster: Raster, rect: Rect): number {
  let n = 0;
  for (let y = Math.max(0, rect.y); y < Math.min(raster.height, rect.y + rect.height); y++) {
    for (let x = Math.max(0, rect.x); x < Math.min(raster.width, rect.x + rect.width); x++) {
      const p = raster.getPixel(x, y)!;
      if (!PAPER.some((c) => c[0] === p[0] && c[1] === p[1] && c[2] === p[2])) n++;
    }
  }
  return n;
}

/** "#rrggbb" or [r, g, b] with 0..255 components; undefined for anything else. */
export function parseColor(color: Rgb | string | undefined): Rgb | undefined {
  if (typeof color === 'string') {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
    return m ? [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)] : undefined;
  }
  if (Array.isArray(color) && color.length === 3 && color.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)) return color;
  return undefined;
}
