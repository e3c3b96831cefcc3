// A hedger in the manner of Polly v8's hedging strategy (HedgingDelay, MaxHedgedAttempts),
// the baseline breakwater's hedging is compared with. It knows nothing of the call: it
// hedges every call that is slow, writes included, with no budget, at a fixed delay.
// Not breakwater code: the benchmark's stand-in for what a service would write or
// configure without it.

/** Runs `fn` after `ms` ms; the returned function cancels it. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

export interface PollyHedgeOptions {
  /** Polly's HedgingDelay: how long an attempt may go unanswered before the next starts. */
  delayMs: number;
  /** Polly's MaxHedgedAttempts: backups beside the first attempt, at most (default 1). */
  maxHedgedAttempts?: number;
  setTimer?: SetTimer;
}

const realTimer: SetTimer = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

/**
 * The first success is the answer and every other attempt's signal aborts. As in Polly,
 * an attempt that fails starts the next one at once (while any are left), and the call
 * fails only when every attempt has: with the last failure.
 */
export function pollyHedge<T>(attempt: (signal: AbortSignal, index: number) => Promise<T>, options: PollyHedgeOptions): Promise<T> {
  const setTimer = options.setTimer ?? realTimer;
  const total = 1 + (options.maxHedgedAttempts ?? 1);
  return new Promise<T>((resolve, reject) => {
    const controllers: AbortController[] = [];
    let running = 0;
    let done = false;
    let cancelTimer = (): void => {};

    const finish = (): void => {
      done = true;
      cancelTimer();
    };
    const launch = (): void => {
      const index = controllers.length;
      const controller = new AbortController();
      controllers.push(controller);
      running++;
      if (controllers.length < total) cancelTimer = setTimer(launch, options.delayMs);
      // A synchronous throw is a failed attempt, as a rejection is.
      Promise.resolve()
        .then(() => attempt(controller.signal, index))
        .then(
          (value) => {
            running--;
            if (done) return;
            finish();
            for (const other of controllers) if (other !== controller) other.abort();
            resolve(value);
          },
          (error: unknown) => {
            running--;
            if (done) return;
            if (controllers.length < total) {
              cancelTimer();
              launch();
            } else if (running === 0) {
              finish();
              reject(error);
            }
          },
        );
    };
    launch();
  });
}
