// Open-loop load: calls start at a constant rate whatever the earlier ones are doing, as
// requests reach a service from many independent users. A closed loop (the next call
// when the last answers) would slow down exactly when the dependency does and hide the
// tail it means to measure ("coordinated omission"); here a call's latency runs from
// the moment it was due, so time spent waiting to start counts too.

export interface OpenLoopOptions {
  ratePerSecond: number;
  count: number;
  /** Makes call `index`; its settling ends the call. */
  call(index: number): Promise<unknown>;
  /** A monotonic clock in ms (default performance.now). */
  now?: () => number;
  /** Resolves after about `ms` ms (default a timer). */
  sleep?: (ms: number) => Promise<void>;
}

export interface CallOutcome {
  /** When the call was due, on the `now` clock. */
  scheduledMs: number;
  /** How late it started behind that. */
  startLagMs: number;
  /** From due to settled. */
  latencyMs: number;
  failed: boolean;
  error?: unknown;
}

/** When each of `count` calls is due: `start`, then every 1000 / rate ms. */
export function arrivalTimes(start: number, ratePerSecond: number, count: number): number[] {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`the rate must be a positive number of calls per second, got ${ratePerSecond}`);
  const interval = 1000 / ratePerSecond;
  // From the start each time, not by adding up intervals, so rounding never drifts.
  return Array.from({ length: count }, (_, i) => start + i * interval);
}

const timerSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts the calls on schedule and settles when every one has. A timer wakes late by
 * up to a millisecond or so; the calls that fell due meanwhile start at once on waking
 * and are charged the lateness, as a queue in front of the client would charge it.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<CallOutcome[]> {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? timerSleep;
  const due = arrivalTimes(now(), options.ratePerSecond, options.count);
  const settled: Promise<CallOutcome>[] = [];
  for (let i = 0; i < due.length; i++) {
    const scheduledMs = due[i]!;
    // A timer may also fire a fraction of a millisecond early (libuv counts whole ms): sleep again then.
    for (let wait = scheduledMs - now(); wait > 0; wait = scheduledMs - now()) await sleep(wait);
    const startLagMs = now() - scheduledMs;
    const outcome = (failed: boolean, error?: unknown): CallOutcome => ({ scheduledMs, startLagMs, latencyMs: now() - scheduledMs, failed, ...(failed ? { error } : {}) });
    let call: Promise<unknown>;
    try {
      call = Promise.resolve(options.call(i));
    } catch (error) {
      call = Promise.reject(error); // a call that throws at once is a failed call like one that rejects
    }
    settled.push(
      call.then(
        () => outcome(false),
        (error: unknown) => outcome(true, error),
      ),
    );
  }
  return Promise.all(settled);
}
