import type { Classification } from './classify/types.js';

/** Error codes of breakwater's own errors; the classifier recognises them by code. */
export const CIRCUIT_OPEN_CODE = 'BREAKWATER_CIRCUIT_OPEN';
export const BULKHEAD_FULL_CODE = 'BREAKWATER_BULKHEAD_FULL';
export const ATTEMPT_TIMEOUT_CODE = 'BREAKWATER_TIMEOUT';
export const DEADLINE_EXCEEDED_CODE = 'BREAKWATER_DEADLINE_EXCEEDED';
export const HEDGE_CANCELLED_CODE = 'BREAKWATER_HEDGE_CANCELLED';
export const LIMITED_CODE = 'BREAKWATER_LIMITED';

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

/** Which limit turned an attempt away: the adaptive concurrency limit, or the rate (hand-set or the dependency's). */
export type LimitReason = 'concurrency' | 'rate';

/**
 * An attempt turned away by the target's concurrency or rate limit before it was sent:
 * the slot or token would not come within the wait allowed (or the call's deadline).
 * Classified `resource` and not transient: breakwater never retries it against the same
 * target, since another attempt now would only add to the overload it stands for.
 */
export class LimitedError extends BreakwaterError {
  readonly reason: LimitReason;
  /** How long the attempt would have had to wait, when known (rate). */
  readonly retryAfterMs: number | undefined;
  constructor(target: string, reason: LimitReason, retryAfterMs?: number) {
    super(
      reason === 'concurrency'
        ? `${target} is at its concurrency limit: no slot within the wait allowed`
        : `${target} is rate limited: the next attempt may go in ${Math.ceil(retryAfterMs ?? 0)} ms, past the wait allowed`,
      LIMITED_CODE,
      target,
    );
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
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
