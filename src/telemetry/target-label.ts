/**
 * Bounds the target label's cardinality in metrics and spans: the first `limit` distinct
 * targets keep their own key, later ones share OVERFLOW_TARGET. (A service calling a
 * million hosts must not create a million time series.) First come keep their key, so a
 * series never changes name mid-flight.
 */
export const OVERFLOW_TARGET = 'other';

let limit = 1000;
const known = new Set<string>();

export function setTargetLabelLimit(max: number): void {
  limit = max;
}

export function targetLabel(target: string): string {
  if (known.has(target)) return target;
  if (known.size >= limit) return OVERFLOW_TARGET;
  known.add(target);
  return target;
}

/** For tests. */
export function resetTargetLabels(): void {
  known.clear();
}
