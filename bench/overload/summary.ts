// The overload benchmark's arithmetic on what it observed: the figures of one step from
// its calls (goodput, latency of the admitted calls, errors by kind), and the attempts a
// rate-limited server received per window. Pure, so it is tested without servers.
import { percentile } from '../stats.js';
import type { CallOutcome } from '../tail/open-loop.js';
import type { StepResult } from './cases.js';

/** An HTTP answer other than 2xx, as the variant's call reports it. */
export class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
    this.name = 'HttpStatusError';
  }
}

/**
 * What a failed call failed of, as the table counts it: breakwater's own code
 * (BREAKWATER_LIMITED, BREAKWATER_TIMEOUT, BREAKWATER_CIRCUIT_OPEN, ...), the HTTP status,
 * PostgreSQL's SQLSTATE (53300), else the error's code, its cause's code, or its name.
 */
export function errorKind(error: unknown): string {
  if (error instanceof HttpStatusError) return error.message;
  if (typeof error !== 'object' || error === null) return String(error);
  const { code, cause, name } = error as { code?: unknown; cause?: unknown; name?: unknown };
  if (typeof code === 'string' && code !== '') return code;
  const causeCode = (cause as { code?: unknown } | undefined)?.code;
  if (typeof causeCode === 'string' && causeCode !== '') return causeCode;
  return typeof name === 'string' && name !== '' ? name : 'unknown';
}

/** Failed calls by kind. */
function countErrors(outcomes: readonly CallOutcome[]): Record<string, number> {
  const errors: Record<string, number> = {};
  for (const o of outcomes) {
    if (!o.failed) continue;
    const kind = errorKind(o.error);
    errors[kind] = (errors[kind] ?? 0) + 1;
  }
  return errors;
}

/**
 * The figures of the calls due in [`fromMs`, `fromMs` + `seconds` s): the warm-up before
 * is left out (but for its errors: a cold start's), and a call due inside counts whenever
 * it ended. Admitted calls are those that succeeded: a call turned away (by breakwater's
 * limit, or by the dependency with a 503 or 53300) was not admitted, and one cut by a
 * timeout got no answer. Goodput is the successes that *ended* in the window, per second:
 * while a queue still grows, calls due in the window are answered after it, and counting
 * them by when they were due would credit the window with work done later.
 */
export function summariseStep(outcomes: readonly CallOutcome[], fromMs: number, seconds: number, offeredPerSecond: number): Omit<StepResult, 'limitTrace'> {
  const untilMs = fromMs + seconds * 1000;
  const within = (at: number): boolean => at >= fromMs && at < untilMs;
  const measured = outcomes.filter((o) => within(o.scheduledMs));
  const admitted = measured
    .filter((o) => !o.failed)
    .map((o) => o.latencyMs)
    .sort((a, b) => a - b);
  const endedInWindow = outcomes.filter((o) => !o.failed && within(o.scheduledMs + o.latencyMs)).length;
  const warmup = outcomes.filter((o) => o.scheduledMs < fromMs);
  const lags = measured.map((o) => o.startLagMs).sort((a, b) => a - b);
  return {
    offeredPerSecond,
    calls: measured.length,
    successes: admitted.length,
    goodputPerSecond: endedInWindow / seconds,
    p50Ms: percentile(admitted, 0.5),
    p99Ms: percentile(admitted, 0.99),
    errors: countErrors(measured),
    warmupErrors: countErrors(warmup),
    startLagP99Ms: percentile(lags, 0.99),
  };
}

/**
 * Requests per `windowMs` window from `fromMs` on, whole windows only up to `untilMs`:
 * what reached a server in each. `arrivals` in any order, on the same clock.
 */
export function countPerWindow(arrivals: readonly number[], fromMs: number, untilMs: number, windowMs: number): number[] {
  const windows = Math.max(0, Math.floor((untilMs - fromMs) / windowMs));
  const counts = new Array<number>(windows).fill(0);
  for (const at of arrivals) {
    const i = Math.floor((at - fromMs) / windowMs);
    if (i >= 0 && i < windows) counts[i]!++;
  }
  return counts;
}

/** A request the rate-limited server received: when (its clock, ms) and what it answered. */
export interface Arrival {
  at: number;
  status: number;
}

/** What reached a rate-limited server from its first 429 (or, with none, from the first request) to the run's end. */
export interface AttemptWindows {
  /** ms from the run's first request to its first 429; undefined when none came. */
  first429AfterMs: number | undefined;
  /** Requests received in each whole second counted. */
  perSecond: number[];
  /** Of those, answered 429. */
  refused: number;
}

/**
 * The requests in whole one-second windows from the first 429 up to `untilMs`. A run that
 * never got a 429 (the client paced itself from the RateLimit headers) is counted from
 * its first request instead: whether it stayed within the rate is the question either way.
 */
export function attemptWindows(arrivals: readonly Arrival[], untilMs: number): AttemptWindows {
  if (arrivals.length === 0) return { first429AfterMs: undefined, perSecond: [], refused: 0 };
  let start = Number.POSITIVE_INFINITY;
  let first: number | undefined;
  for (const a of arrivals) {
    start = Math.min(start, a.at);
    if (a.status === 429 && (first === undefined || a.at < first)) first = a.at;
  }
  const from = first ?? start;
  const perSecond = countPerWindow(arrivals.map((a) => a.at), from, untilMs, 1000);
  const end = from + perSecond.length * 1000;
  const refused = arrivals.filter((a) => a.status === 429 && a.at >= from && a.at < end).length;
  return { first429AfterMs: first === undefined ? undefined : first - start, perSecond, refused };
}
