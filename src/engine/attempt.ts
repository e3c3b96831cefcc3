import type { Attributes, Span } from '@opentelemetry/api';
import type { AttemptRecord } from '../telemetry/operation.js';
import { AttemptTimeoutError, DeadlineExceededError } from '../errors.js';
import type { Clock } from './clock.js';
import type { HeaderGetter } from './rate-limit-headers.js';
import { TimerEntry, type TimerQueue } from './timer-queue.js';

/** What the operation receives for each attempt. */
export interface Attempt {
  /** 1-based. */
  readonly attempt: number;
  readonly target: string;
  /** Aborted when this attempt's timeout or the deadline passes, or the caller aborts. */
  readonly signal: AbortSignal;
  /**
   * The same moment as `signal`'s abort, for an operation that needs no AbortSignal of
   * its own: `listener` runs once with the abort reason (on a later microtask when the
   * attempt is already aborted). Costs no AbortController and no event listener on an
   * attempt that succeeds, where reading `signal` costs both.
   */
  onAbort(listener: (reason: unknown) => void): void;
  /** Removes a listener given to `onAbort` (the operation finished first). */
  offAbort(listener: (reason: unknown) => void): void;
  /** The attempt's span when tracing is on, for adapters to add attributes to. */
  readonly span: Span | undefined;
  /** A backup attempt, running beside the attempt it backs up (which is not over). */
  readonly hedge: boolean;
  /**
   * Attributes of the attempt's result (a status code): set on its span and, where
   * `metric` is given, on its duration metric point (the semantic conventions' metric
   * takes fewer attributes than the span). Costs nothing when telemetry is off.
   */
  annotate(span: Attributes | undefined, metric?: Attributes): void;
  /** Whether the policy follows the dependency's rate-limit headers: an adapter reads none otherwise. */
  readonly wantsRateLimit: boolean;
  /** A response's rate-limit headers (Retry-After, RateLimit, X-RateLimit-*), read by name in lower case. */
  reportRateLimit(headers: HeaderGetter, status: number | undefined): void;
}

/**
 * The AbortController is created only when the operation reads `signal`: most
 * operations that ignore it then cost no controller, and one that reads it after the
 * attempt was aborted gets an already-aborted signal.
 */
export class AttemptContext implements Attempt {
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private aborted = false;
  /** onAbort's listeners: one in practice (one operation per attempt), so no array until a second. */
  private abortListener: ((reason: unknown) => void) | undefined = undefined;
  private moreAbortListeners: ((reason: unknown) => void)[] | undefined = undefined;
  /** Where reported rate-limit headers go; set only when the policy follows them. */
  rateSink: ((headers: HeaderGetter, status: number | undefined) => void) | undefined = undefined;

  constructor(
    readonly attempt: number,
    readonly target: string,
    private readonly record: AttemptRecord | undefined,
    readonly hedge = false,
  ) {}

  get span(): Span | undefined {
    return this.record?.span;
  }

  annotate(span: Attributes | undefined, metric?: Attributes): void {
    const record = this.record;
    if (record === undefined) return;
    try {
      if (span !== undefined) record.span?.setAttributes(span);
      if (metric !== undefined) record.metricAttributes = record.metricAttributes === undefined ? metric : { ...record.metricAttributes, ...metric };
    } catch {
      // telemetry never throws into the caller
    }
  }

  get wantsRateLimit(): boolean {
    return this.rateSink !== undefined;
  }

  reportRateLimit(headers: HeaderGetter, status: number | undefined): void {
    try {
      this.rateSink?.(headers, status);
    } catch {
      // a header getter that throws must not fail the call
    }
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  onAbort(listener: (reason: unknown) => void): void {
    if (this.aborted) {
      const reason = this.abortReason;
      queueMicrotask(() => callAbortListener(listener, reason));
    } else if (this.abortListener === undefined) this.abortListener = listener;
    else (this.moreAbortListeners ??= []).push(listener);
  }

  offAbort(listener: (reason: unknown) => void): void {
    if (this.abortListener === listener) this.abortListener = undefined;
    else if (this.moreAbortListeners !== undefined) {
      const at = this.moreAbortListeners.indexOf(listener);
      if (at >= 0) this.moreAbortListeners.splice(at, 1);
    }
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
    const first = this.abortListener;
    const more = this.moreAbortListeners;
    this.abortListener = this.moreAbortListeners = undefined;
    if (first !== undefined) callAbortListener(first, reason);
    if (more !== undefined) for (const listener of more) callAbortListener(listener, reason);
  }
}

/** An adapter's abort listener that throws must not stop the others nor reach the engine. */
function callAbortListener(listener: (reason: unknown) => void, reason: unknown): void {
  try {
    listener(reason);
  } catch {
    // never into the engine or the caller
  }
}

/**
 * One attempt raced against its expiry and the caller's abort: settles with the
 * operation, or rejects at the expiry (AttemptTimeoutError, or DeadlineExceededError
 * when the attempt was trimmed to the call's deadline) or at the caller's abort (its
 * reason), whichever comes first, aborting the attempt's signal so a cooperative
 * operation stops work. An operation that ignores its signal is left to finish in the
 * background; its late result is ignored (and its late rejection handled, so it is
 * never unhandled). After the operation settled, nothing aborts the attempt's signal:
 * a fetch response's body may still be streaming under it.
 *
 * The race is its own timer entry, so a timed attempt without a caller's signal
 * allocates this object, the promise awaited and the two callbacks on the operation's
 * promise, and arms no timer of its own.
 */
export class AttemptRace<T> extends TimerEntry {
  // Fields declared, assigned in the constructor: see TimerEntry.
  private declare readonly attempt: AttemptContext;
  private declare readonly timers: TimerQueue;
  private declare readonly callerSignal: AbortSignal | undefined;
  /** For the expiry's error: the attempt's timeout, or the call's deadline when `byDeadline`. */
  private declare readonly limitMs: number;
  private declare readonly byDeadline: boolean;
  private declare settled: boolean;
  /**
   * A function, not this object as a listener: adapters pass light signals of their
   * own that call listener functions only (instrumentations/http/cancel-signal.ts).
   */
  private declare onCallerAbort: (() => void) | undefined;
  private declare resolve: (value: T) => void;
  private declare reject: (reason: unknown) => void;

  constructor(attempt: AttemptContext, timers: TimerQueue, callerSignal: AbortSignal | undefined, limitMs: number, byDeadline: boolean) {
    super();
    this.attempt = attempt;
    this.timers = timers;
    this.callerSignal = callerSignal;
    this.limitMs = limitMs;
    this.byDeadline = byDeadline;
    this.settled = false;
    this.onCallerAbort = undefined;
    this.resolve = noop;
    this.reject = noop;
  }

  /** `timeoutMs` Infinity: raced against the caller's abort only. `now`: a clock reading at the attempt's start. */
  run(pending: PromiseLike<T>, now: number, timeoutMs: number): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (timeoutMs !== Infinity) this.timers.add(this, now, timeoutMs);
    if (this.callerSignal !== undefined) this.callerSignal.addEventListener('abort', (this.onCallerAbort = () => this.callerAborted()));
    pending.then(
      (value) => {
        if (this.finish()) this.settle(false, value);
      },
      (error: unknown) => {
        if (this.finish()) this.settle(true, error);
      },
    );
    return promise;
  }

  expire(): void {
    if (!this.finish()) return;
    const error = this.byDeadline ? new DeadlineExceededError(this.attempt.target, this.limitMs) : new AttemptTimeoutError(this.attempt.target, this.limitMs);
    this.attempt.abort(error);
    this.settle(true, error);
  }

  /** Stops the attempt from outside (another attempt of its call answered first): aborts its signal, rejects with `reason`. */
  cancel(reason: unknown): void {
    if (!this.finish()) return;
    this.attempt.abort(reason);
    this.settle(true, reason);
  }

  private callerAborted(): void {
    if (!this.finish()) return;
    const reason: unknown = this.callerSignal!.reason;
    this.attempt.abort(reason);
    this.settle(true, reason);
  }

  private settle(failed: boolean, outcome: unknown): void {
    const settle = failed ? this.reject : this.resolve;
    // A cancelled entry stays in the timer queue a while: it must not hold the result.
    this.resolve = this.reject = noop;
    settle(outcome as T);
  }

  /** Whether this is the first outcome; stops the others from happening. */
  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.timers.cancel(this);
    if (this.onCallerAbort !== undefined) this.callerSignal!.removeEventListener('abort', this.onCallerAbort);
    return true;
  }
}

function noop(): void {}

/** Waits `ms`, or rejects at once with the caller's abort reason. */
export function sleep(ms: number, clock: Clock, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
