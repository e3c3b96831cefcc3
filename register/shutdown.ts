/** How long a flush at exit or on a signal may take before the process goes anyway. */
export const FLUSH_TIMEOUT_MS = 5_000;

/** Resolves when `work` settles or after `ms`, whichever is first; never rejects, never holds the process. */
export function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    work.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

export interface ShutdownHooks {
  /** Flushes telemetry (on a signal: the application may still be draining). */
  flush(): Promise<void>;
  /** Flushes and stops telemetry (the process is about to end). */
  shutdown(): Promise<void>;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Flushes spans and metrics, within FLUSH_TIMEOUT_MS, when the process ends: at
 * `beforeExit` (the event loop ran dry) and on SIGTERM/SIGINT.
 *
 * A signal listener would stop Node's default behaviour (exit at once), so after the
 * flush the signal is raised again with our listener gone: if the application has no
 * listener of its own, the process ends as it would have without breakwater (same
 * signal, same exit status); if it has one, the application decides.
 */
export function installShutdownHooks(hooks: ShutdownHooks): () => void {
  let finished = false;
  const onBeforeExit = (): void => {
    if (finished) return;
    finished = true;
    // The flush schedules I/O, so beforeExit fires again afterwards; `finished` stops a loop.
    void settleWithin(hooks.shutdown(), FLUSH_TIMEOUT_MS);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    void settleWithin(hooks.flush(), FLUSH_TIMEOUT_MS).then(() => {
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };
  process.on('beforeExit', onBeforeExit);
  for (const s of SIGNALS) process.on(s, onSignal);
  return () => {
    process.removeListener('beforeExit', onBeforeExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
}
