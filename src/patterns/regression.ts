/**
 * Least-squares fit of samples taken once a minute, as Prometheus's deriv() and
 * predict_linear() compute it: x in seconds from `originMinute`, NaN when any sample is
 * NaN (a ratio of no traffic) or fewer than two samples exist.
 */
export function linearFit(samples: ReadonlyArray<{ minute: number; value: number }>, originMinute: number): { slope: number; intercept: number } {
  const n = samples.length;
  if (n < 2) return { slope: Number.NaN, intercept: Number.NaN };
  const first = samples[0]!.value;
  let sumX = 0;
  let sumY = 0;
  let sumXY = 0;
  let sumX2 = 0;
  let constant = true;
  for (const { minute, value } of samples) {
    if (value !== first) constant = false;
    const x = (minute - originMinute) * 60;
    sumX += x;
    sumY += value;
    sumXY += x * value;
    sumX2 += x * x;
  }
  // Prometheus answers a flat line exactly (slope 0), not with rounding noise.
  if (constant && Number.isFinite(first)) return { slope: 0, intercept: first };
  const slope = (sumXY - (sumX * sumY) / n) / (sumX2 - (sumX * sumX) / n);
  return { slope, intercept: sumY / n - (slope * sumX) / n };
}

/** deriv(): the slope per second. */
export function deriv(samples: ReadonlyArray<{ minute: number; value: number }>): number {
  const first = samples[0];
  return first === undefined ? Number.NaN : linearFit(samples, first.minute).slope;
}

/** predict_linear(): the fitted value `seconds` after `atMinute`. */
export function predictLinear(samples: ReadonlyArray<{ minute: number; value: number }>, atMinute: number, seconds: number): number {
  const { slope, intercept } = linearFit(samples, atMinute);
  return intercept + slope * seconds;
}
