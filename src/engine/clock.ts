/**
 * All engine time goes through a Clock so every state machine can be driven by a fake
 * clock in tests. Timers returned by the system clock stay referenced: a pending retry
 * wait belongs to a call the user is awaiting, and letting the event loop exit under it
 * would leave that promise unsettled forever. (Timeouts and deadlines go through the
 * clock's timer queue, whose one timer is unref'd: timer-queue.ts.)
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
