import { FirstComeSet } from '../util/first-come-set.js';

/**
 * Bounds the target label's cardinality in metrics and spans: the first `limit` distinct
 * targets keep their own key, later ones share OVERFLOW_TARGET. (A service calling a
 * million hosts must not create a million time series.) First come keep their key, so a
 * series never changes name mid-flight. The adapters bound their target keys the same
 * way, per scheme, before a key reaches the engine (src/target-key.ts).
 */
export const OVERFLOW_TARGET = 'other';

const labels = new FirstComeSet(1000);

/** A whole number of at least 0; anything else is a RangeError. */
export function setTargetLabelLimit(max: number): void {
  labels.setLimit(max);
}

export function targetLabel(target: string): string {
  return labels.admit(target) ? target : OVERFLOW_TARGET;
}

/** For tests. */
export function resetTargetLabels(): void {
  labels.clear();
}
