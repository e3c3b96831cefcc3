import type { Attributes, Span } from '@opentelemetry/api';
import type { AttemptRecord } from '../telemetry/operation.js';
import type { Clock } from './clock.js';

/** What the operation receives for each attempt. */
export interface Attempt {
  /** 1-based. */
  readonly attempt: number;
  readonly target: string;
  /** Aborted when this attempt's timeout or the deadline passes, or the caller aborts. */
  readonly signal: AbortSignal;
  /** The attempt's span when tracing is on, for adapters to add attributes to. */
  readonly span: Span | undefined;
  /**
   * Attributes of the attempt's result (a status code): set on its span and, where
   * `metric` is given, on its duration metric point (the semantic conventions' metric
   * takes fewer attributes than the span). Costs nothing when telemetry is off.
   */
  annotate(span: Attributes | undefined, metric?: Attributes): void;
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

  constructor(
    readonly attempt: number,
    readonly target: string,
    private readonly record: AttemptRecord | undefined,
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

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * Settles with the operation, or rejects at the attempt's timeout or the caller's abort,
 * whichever comes first, aborting the attempt's signal so a cooperative operation stops
 * work. An operation that ignores its signal is left to finish in the background; its
 * late result is ignored (and its late rejection handled, so it is never unhandled).
 */
export function raceAttempt<T>(
  pending: PromiseLike<T>,
  attempt: AttemptContext,
  clock: Clock,
  timeoutMs: number,
  timeoutError: () => Error,
  callerSignal: AbortSignal | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: unknown;
    const finish = () => {
      settled = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    };
    const onCallerAbort = () => {
      if (settled) return;
      finish();
      attempt.abort(callerSignal!.reason);
      reject(callerSignal!.reason);
    };
    if (timeoutMs !== Infinity) {
      timer = clock.setTimeout(() => {
        if (settled) return;
        finish();
        const error = timeoutError();
        attempt.abort(error);
        reject(error);
      }, timeoutMs);
    }
    callerSignal?.addEventListener('abort', onCallerAbort);
    pending.then(
      (value) => {
        if (settled) return;
        finish();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        finish();
        reject(error);
      },
    );
  });
}

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
