import { isMainThread } from 'node:worker_threads';

/**
 * Resolves true when `work` settles, false when `ms` pass first; never rejects. The
 * deadline's timer is referenced, so the process waits for the work up to the deadline
 * and no longer; it is cleared as soon as the work settles.
 */
export function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settled = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    work.then(settled, settled);
  });
}

export interface ShutdownHooks {
  /**
   * Sends what is left and stops: the SDK breakwater started is shut down (its exports
   * flushed, its timers and exporters stopped); the application's own providers are
   * only flushed (they are the application's to shut down).
   */
  finish(): Promise<void>;
  /**
   * How long before the deadline exports must stop (the longest an export started
   * before then can still take, its retries' timers included), and what stops them.
   * Without it the deadline only stops the waiting.
   */
  stopExports?: { beforeDeadlineMs: number; stop(): void };
  /** The one stderr line about telemetry lost, or undefined when nothing was lost; `inTime`: finish() settled before the deadline. */
  lossReport(inTime: boolean): string | undefined;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Ends telemetry within `timeoutMs` when the process ends: at `beforeExit` (the event
 * loop ran dry: the application's work is done) and on SIGTERM/SIGINT, whichever comes
 * first; it runs once. Past the deadline nothing of ours waits any more: the timer is
 * the only thing we hold, and it is cleared.
 *
 * A signal listener would stop Node's default behaviour (exit at once), so after the
 * shutdown the signal is raised again with our listener gone: if the application has
 * no listener of its own, the process ends as it would have without breakwater (same
 * signal, same exit status); if it has one, the application decides.
 */
export function installShutdownHooks(hooks: ShutdownHooks, timeoutMs: number): () => void {
  let finishing: Promise<void> | undefined;
  const finishOnce = (): Promise<void> => {
    finishing ??= finishWithin(hooks, timeoutMs).then((inTime) => {
      try {
        const line = hooks.lossReport(inTime);
        if (line !== undefined) process.stderr.write(`${line}\n`);
      } catch {
        // reporting must never throw into the application's exit
      }
    });
    return finishing;
  };
  const onBeforeExit = (): void => {
    // The shutdown schedules I/O, so beforeExit fires again afterwards: finishOnce runs it once.
    void finishOnce();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    void finishOnce().then(() => {
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };
  process.on('beforeExit', onBeforeExit);
  // Signals reach the main thread only; a worker ends with its event loop (beforeExit).
  if (isMainThread) for (const s of SIGNALS) process.on(s, onSignal);
  return () => {
    process.removeListener('beforeExit', onBeforeExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
}

/**
 * Runs hooks.finish() against the deadline, stopping exports early enough that the
 * last one ends by it. The stop timer is unref'd: the deadline's timer is what holds
 * the process, and only while finish() runs. Resolves whether finish() made it in time.
 */
async function finishWithin(hooks: ShutdownHooks, timeoutMs: number): Promise<boolean> {
  const stopExports = hooks.stopExports;
  let stopTimer: NodeJS.Timeout | undefined;
  if (stopExports !== undefined) {
    stopTimer = setTimeout(() => stopSafely(stopExports.stop), Math.max(0, timeoutMs - stopExports.beforeDeadlineMs));
    stopTimer.unref();
  }
  const inTime = await settleWithin(safely(hooks.finish), timeoutMs);
  clearTimeout(stopTimer);
  // Past the deadline (or after a finish whose exports failed), nothing may stay in flight.
  if (stopExports !== undefined) stopSafely(stopExports.stop);
  return inTime;
}

function stopSafely(stop: () => void): void {
  try {
    stop();
  } catch {
    // stopping exports must never throw into the application's exit
  }
}

function safely(work: () => Promise<void>): Promise<void> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}

export interface LossFacts {
  /** Whether the SDK is breakwater's (else: the application's providers, or none). */
  ours: boolean;
  /** What our SDK counted as not sent; undefined when it could not count (exporters other than OTLP over HTTP). */
  unsent: { spans: number; metricExports: number } | undefined;
  /** Whether the shutdown finished before the deadline. */
  inTime: boolean;
  timeoutMs: number;
}

/** The one stderr line about telemetry dropped at exit, or undefined when nothing was. No endpoint or header in it: they may carry credentials. */
export function lossReport(facts: LossFacts): string | undefined {
  const limit = `BREAKWATER_SHUTDOWN_TIMEOUT_MS=${facts.timeoutMs}`;
  if (facts.ours && facts.unsent !== undefined) {
    const { spans, metricExports } = facts.unsent;
    if (spans <= 0 && metricExports <= 0) return undefined;
    const what = `${plural(spans, 'span')} and ${plural(metricExports, 'metric export')}`;
    return `breakwater: telemetry dropped at exit: ${what} not accepted by the collector ${facts.inTime ? '(export failed)' : `by the shutdown deadline (${limit})`}`;
  }
  if (facts.inTime) return undefined;
  return facts.ours
    ? `breakwater: telemetry dropped at exit: the SDK's shutdown did not finish within ${limit}; what it had not exported is not sent`
    : `breakwater: the application's telemetry providers did not finish flushing within ${limit}; the process no longer waits for them`;
}

function plural(n: number, noun: string): string {
  return `${Math.max(0, n)} ${noun}${n === 1 ? '' : 's'}`;
}
