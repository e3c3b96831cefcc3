/**
 * Axis scales: the transform from data values to a linear "t" space, the range an
 * axis covers in t, its ticks and their labels, and t -> pixel mapping.
 *
 * - linear: t = v
 * - log:    t = log10(v), v > 0
 * - nines:  t = -log10(1 - p), p < 1, so p50, p90, p99, p99.9 ... are equally spaced
 *           decades and the tail of a latency CDF gets as much room as its body.
 */
export type ScaleKind = 'linear' | 'log' | 'nines';

export interface Tick {
  /** Position in t space. */
  t: number;
  /** Empty for a minor tick (a light grid line only). */
  label: string;
}

export interface Axis {
  kind: ScaleKind;
  /** The covered t range; always finite with tMax > tMin. */
  tMin: number;
  tMax: number;
  ticks: Tick[];
}

/** Data value -> t; NaN when the value is outside the scale's domain or not finite. */
export function transform(kind: ScaleKind, v: number): number {
  if (!Number.isFinite(v)) return NaN;
  switch (kind) {
    case 'linear':
      return v;
    case 'log':
      return v > 0 ? Math.log10(v) : NaN;
    case 'nines':
      return v < 1 ? -Math.log10(1 - v) : NaN;
  }
}

/** Where `t` falls in the axis range: 0 at tMin, 1 at tMax (beyond for points outside). */
export function fraction(axis: Axis, t: number): number {
  // Halving (exact) keeps the difference of two huge values finite.
  return (t / 2 - axis.tMin / 2) / (axis.tMax / 2 - axis.tMin / 2);
}

/** A data value -> pixel mapping over [min, max] (data units) onto [start, end] pixels. */
export function axisScale(kind: ScaleKind, min: number, max: number, start: number, end: number): (v: number) => number {
  const axis = makeAxis(kind, [], { min, max });
  return (v) => start + fraction(axis, transform(kind, v)) * (end - start);
}

export interface AxisOptions {
  /** Data-unit bounds; an end left out (or invalid for the scale) follows the data. */
  min?: number | undefined;
  max?: number | undefined;
  /** Data-unit tick positions replacing the automatic ones. */
  ticks?: readonly number[] | undefined;
  /** About how many labelled ticks to aim for. */
  targetTicks?: number;
}

/** Builds an axis covering the finite t values `ts` (already transformed). */
export function makeAxis(kind: ScaleKind, ts: readonly number[], options: AxisOptions = {}): Axis {
  const target = Math.max(2, Math.min(20, Math.round(options.targetTicks ?? 6)));
  const fixedMin = options.min === undefined ? NaN : transform(kind, options.min);
  const fixedMax = options.max === undefined ? NaN : transform(kind, options.max);

  let dataMin = Infinity;
  let dataMax = -Infinity;
  for (const t of ts) {
    if (!Number.isFinite(t)) continue;
    if (t < dataMin) dataMin = t;
    if (t > dataMax) dataMax = t;
  }
  const hasData = dataMin <= dataMax;
  // With no data, a unit-ish range (0..1, 1..10, p0..p99) next to whichever end is fixed.
  const defaultSpan = kind === 'nines' ? 2 : 1;
  let lo = Number.isFinite(fixedMin) ? fixedMin : hasData ? dataMin : Number.isFinite(fixedMax) ? fixedMax - defaultSpan : 0;
  let hi = Number.isFinite(fixedMax) ? fixedMax : hasData ? dataMax : lo + defaultSpan;
  if (lo > hi) [lo, hi] = [hi, lo];
  if (!Number.isFinite(fixedMin) || !Number.isFinite(fixedMax)) {
    // Round the free ends outwards to where ticks fall.
    [lo, hi] = niceBounds(kind, lo, hi, target, !Number.isFinite(fixedMin), !Number.isFinite(fixedMax));
  }
  [lo, hi] = widen(lo, hi);
  const axis: Axis = { kind, tMin: lo, tMax: hi, ticks: [] };
  axis.ticks = options.ticks ? explicitTicks(axis, options.ticks) : autoTicks(axis, target);
  return axis;
}

function niceBounds(kind: ScaleKind, lo: number, hi: number, target: number, freeLo: boolean, freeHi: boolean): [number, number] {
  let a = lo;
  let b = hi;
  if (kind === 'linear') {
    const step = niceStep((b / 2 - a / 2) * 2, target);
    if (step > 0 && Number.isFinite(step)) {
      const na = Math.floor(a / step) * step;
      const nb = Math.ceil(b / step) * step;
      if (freeLo && Number.isFinite(na)) a = na;
      if (freeHi && Number.isFinite(nb)) b = nb;
    }
  } else {
    // Whole decades (of v for log, of 1 - p for nines).
    // The slack keeps 5.0000000001 (from -log10(1 - 0.99999)) at 5, not 6.
    if (freeLo) a = Math.floor(a + EPS);
    if (freeHi) b = Math.ceil(b - EPS);
    if (a === b) {
      if (freeHi) b = a + 1;
      else a = b - 1;
    }
    if (kind === 'nines' && freeHi && b < 1) b = 1;
  }
  return [a, b];
}

/** Ensures a finite, non-empty range whose span does not overflow. */
function widen(lo: number, hi: number): [number, number] {
  const span = hi / 2 - lo / 2;
  if (span > 0 && Number.isFinite(span)) return [lo, hi];
  const centre = Number.isFinite(lo) ? lo : 0;
  const delta = Math.max(Math.abs(centre) * 0.1, 1);
  const a = Math.max(-Number.MAX_VALUE, centre - delta);
  const b = Math.min(Number.MAX_VALUE, centre + delta);
  return b / 2 - a / 2 > 0 ? [a, b] : [0, 1];
}

/** 1, 2 or 5 times a power of ten, near span / target. */
export function niceStep(span: number, target: number): number {
  const raw = span / target;
  if (!(raw > 0) || !Number.isFinite(raw)) return NaN;
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * power;
}

const EPS = 1e-9;

function inRange(axis: Axis, t: number): boolean {
  const slack = (axis.tMax / 2 - axis.tMin / 2) * 2 * EPS;
  return t >= axis.tMin - slack && t <= axis.tMax + slack;
}

function explicitTicks(axis: Axis, values: readonly number[]): Tick[] {
  const ticks: Tick[] = [];
  for (const v of values) {
    const t = transform(axis.kind, v);
    if (Number.isFinite(t) && inRange(axis, t)) ticks.push({ t, label: formatValue(axis.kind, v) });
  }
  return ticks.sort((a, b) => a.t - b.t);
}

function autoTicks(axis: Axis, target: number): Tick[] {
  if (axis.kind === 'linear') return linearTicks(axis, target);
  return decadeTicks(axis, target);
}

function linearTicks(axis: Axis, target: number): Tick[] {
  const { tMin: lo, tMax: hi } = axis;
  const step = niceStep((hi / 2 - lo / 2) * 2, target);
  const first = Math.ceil(lo / step - EPS);
  const last = Math.floor(hi / step + EPS);
  // Too small a step for the magnitude (or overflow): label just the ends.
  if (!Number.isFinite(first) || !Number.isFinite(last) || last - first > 200 || last < first) {
    return [lo, hi].map((t) => ({ t, label: formatNumber(t) }));
  }
  const ticks: Tick[] = [];
  for (let i = first; i <= last; i++) {
    const t = i * step;
    if (t + step === t) return [lo, hi].map((v) => ({ t: v, label: formatNumber(v) }));
    ticks.push({ t, label: formatLinear(t, step) });
  }
  return ticks;
}

/**
 * Ticks for log and nines axes, both logarithmic in a quantity u: u = v for log and
 * u = 1 - p for nines (t = -log10(u), so the direction is reversed). Labelled ticks
 * at decades, plus 2x and 5x when few decades are visible; minor grid ticks at the
 * other multiples when the decades are few enough to leave them room.
 */
function decadeTicks(axis: Axis, target: number): Tick[] {
  const sign = axis.kind === 'nines' ? -1 : 1;
  const toT = (d: number, m: number): number => sign * (d + Math.log10(m));
  // Decade exponents d whose [10^d, 10^(d+1)) overlaps the axis.
  const dLo = Math.floor(Math.min(sign * axis.tMin, sign * axis.tMax)) - 1;
  const dHi = Math.ceil(Math.max(sign * axis.tMin, sign * axis.tMax));
  const decades = dHi - dLo;
  if (!Number.isFinite(decades) || decades > 2000) return [axis.tMin, axis.tMax].map((t) => ({ t, label: '' }));
  const span = axis.tMax - axis.tMin;
  const stride = Math.max(1, Math.ceil(span / target));
  const labelled = span < 2.5 ? [1, 2, 5] : [1];
  // The median is worth a label on a nines axis however many decades it shows.
  const isMedian = (d: number, m: number): boolean => axis.kind === 'nines' && d === -1 && m === 5;
  const minors = span <= 12 ? [2, 3, 4, 5, 6, 7, 8, 9] : [];
  const ticks: Tick[] = [];
  for (let d = dLo; d <= dHi; d++) {
    const decadeShown = ((d % stride) + stride) % stride === 0;
    for (const m of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      const t = toT(d, m);
      if (!inRange(axis, t)) continue;
      const value = m * 10 ** d;
      if ((m === 1 && decadeShown) || (m !== 1 && labelled.includes(m)) || isMedian(d, m)) {
        ticks.push({ t, label: axis.kind === 'nines' ? formatNines(value) : formatNumber(value) });
      } else if (minors.includes(m) || m === 1) {
        ticks.push({ t, label: '' });
      }
    }
  }
  // Fewer than two labelled ticks in view (a narrow range inside a decade): label every multiple.
  if (ticks.filter((tick) => tick.label).length < 2 && span < 1.5) {
    for (const tick of ticks) {
      const u = 10 ** (sign * tick.t);
      tick.label = axis.kind === 'nines' ? formatNines(u) : formatNumber(u);
    }
  }
  return ticks.sort((a, b) => a.t - b.t);
}

function formatValue(kind: ScaleKind, v: number): string {
  return kind === 'nines' ? formatNines(1 - v) : formatNumber(v);
}

/** "p99.9" for 1 - p = 0.001. */
export function formatNines(oneMinusP: number): string {
  // 100 - 100u rather than 100(1 - u): exact for the decades that matter (99.9, 99.99 ...).
  const percent = 100 - 100 * oneMinusP;
  return `p${stripZeros(percent.toFixed(10))}`;
}

function formatLinear(v: number, step: number): string {
  if (Math.abs(v) < step * 1e-6) return '0';
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + EPS));
  if (decimals > 6 || Math.abs(v) >= 1e7) return formatNumber(v);
  return v.toFixed(decimals);
}

/** A short label: plain decimals between 1e-4 and 1e7, else "2.5e9" style. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const rounded = Number(v.toPrecision(6));
  const abs = Math.abs(rounded);
  if (abs >= 1e-4 && abs < 1e7) return stripZeros(rounded.toFixed(Math.max(0, Math.min(10, 5 - Math.floor(Math.log10(abs))))));
  const [mantissa = '0', exponent = '0'] = rounded.toExponential(5).split('e');
  return `${stripZeros(mantissa)}e${Number(exponent)}`;
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
