import type { Classification } from './classify/types.js';

/** Error codes of breakwater's own errors; the classifier recognises them by code. */
export const CIRCUIT_OPEN_CODE = 'BREAKWATER_CIRCUIT_OPEN';
export const BULKHEAD_FULL_CODE = 'BREAKWATER_BULKHEAD_FULL';
export const ATTEMPT_TIMEOUT_CODE = 'BREAKWATER_TIMEOUT';
export const DEADLINE_EXCEEDED_CODE = 'BREAKWATER_DEADLINE_EXCEEDED';
export const HEDGE_CANCELLED_CODE = 'BREAKWATER_HEDGE_CANCELLED';

/** Base of the errors breakwater itself raises (never used to wrap a caller's error). */
export class BreakwaterError extends Error {
  readonly code: string;
  readonly target: string;
  constructor(message: string, code: string, target: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.target = target;
  }
}

/** The breaker for `target` is open (or half-open with every probe slot taken). */
export class CircuitOpenError extends BreakwaterError {
  /** Milliseconds until the breaker lets a probe through, when known. */
  readonly retryAfterMs: number | undefined;
  constructor(target: string, retryAfterMs?: number) {
    super(`circuit open for ${target}`, CIRCUIT_OPEN_CODE, target);
    this.retryAfterMs = retryAfterMs;
  }
}

export class BulkheadRejectedError extends BreakwaterError {
  constructor(target: string, maxConcurrent: number, maxQueue: number) {
    super(`bulkhead full for ${target} (${maxConcurrent} running, ${maxQueue} queued)`, BULKHEAD_FULL_CODE, target);
  }
}

/**
 * Raised as the abort reason of an attempt's signal when its timeout passes. Named
 * `TimeoutError` like `AbortSignal.timeout()`'s reason, so code that checks the name
 * keeps working.
 */
export class AttemptTimeoutError extends BreakwaterError {
  readonly timeoutMs: number;
  constructor(target: string, timeoutMs: number, code = ATTEMPT_TIMEOUT_CODE) {
    super(`attempt to ${target} timed out after ${timeoutMs} ms`, code, target);
    this.name = 'TimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** The overall deadline across attempts and waits passed during an attempt. */
export class DeadlineExceededError extends AttemptTimeoutError {
  constructor(target: string, deadlineMs: number) {
    super(target, deadlineMs, DEADLINE_EXCEEDED_CODE);
    this.message = `deadline of ${deadlineMs} ms for ${target} passed`;
  }
}

/**
 * The abort reason of an attempt stopped because another attempt of the same call (a
 * hedge, or the attempt it backed up) answered first. Never reaches the caller.
 */
export class HedgeCancelledError extends BreakwaterError {
  constructor(target: string, winner: number) {
    super(`attempt to ${target} cancelled: attempt ${winner} of the same call answered first`, HEDGE_CANCELLED_CODE, target);
    this.name = 'AbortError';
  }
}

const CLASSIFICATION = Symbol.for('breakwater.classification');
const classifiedFrozen = new WeakMap<object, Classification>();

/**
 * Attaches the classification to the caller's own error without changing what the
 * caller can see of it: non-enumerable, so JSON and logging stay as they were, and a
 * frozen error falls back to a side table.
 */
export function attachClassification(error: unknown, classification: Classification): void {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return;
  try {
    if (Object.isExtensible(error)) {
      Object.defineProperty(error, CLASSIFICATION, { value: classification, enumerable: false, configurable: true, writable: true });
      return;
    }
  } catch {
    // A Proxy or exotic object refused the property: use the side table.
  }
  classifiedFrozen.set(error, classification);
}

/** The classification breakwater attached when it gave up with this error, if any. */
export function getClassification(error: unknown): Classification | undefined {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return undefined;
  try {
    const own = (error as Record<symbol, unknown>)[CLASSIFICATION];
    if (own !== undefined) return own as Classification;
  } catch {
    // fall through to the side table
  }
  return classifiedFrozen.get(error);
}
