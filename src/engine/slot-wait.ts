import { TimerEntry, type TimerQueue } from './timer-queue.js';

/** A queue of waiters for a slot (a bulkhead's, an adaptive limit's). */
export interface SlotQueue {
  /** Calls `onSlot` with a slot taken for the waiter; the returned function takes it out of the queue. */
  enqueue(onSlot: () => void): () => void;
}

/**
 * A call (or attempt) waiting in a queue for a slot, within a time limit (the call's
 * deadline, or the queue's own wait limit) and the caller's signal: whichever comes
 * first of the slot, the limit (the error `expired` makes) and the caller's abort (its
 * reason) settles the wait, and the limit and the abort take the waiter out of the
 * queue, so it neither holds a queue place nor is handed a slot nobody will use.
 */
export class SlotWait extends TimerEntry {
  private settled = false;
  /**
   * A function, not this object as a listener: adapters pass light signals of their
   * own that call listener functions only (instrumentations/http/cancel-signal.ts).
   */
  private onCallerAbort: (() => void) | undefined = undefined;
  private leaveQueue: () => void = noop;
  private resolve: () => void = noop;
  private reject: (reason: unknown) => void = noop;

  constructor(
    private readonly queue: SlotQueue,
    private readonly timers: TimerQueue,
    private readonly callerSignal: AbortSignal | undefined,
    private readonly expired: () => Error,
  ) {
    super();
  }

  /** Waits at most `limitMs` from `from` (a clock reading; NaN with no limit, Infinity). */
  wait(from: number, limitMs: number): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.leaveQueue = this.queue.enqueue(() => {
      if (this.finish()) this.resolve();
    });
    if (this.callerSignal !== undefined) this.callerSignal.addEventListener('abort', (this.onCallerAbort = () => this.callerAborted()));
    if (limitMs !== Infinity) this.timers.add(this, from, limitMs);
    return promise;
  }

  expire(): void {
    if (!this.finish()) return;
    this.leaveQueue();
    this.reject(this.expired());
  }

  private callerAborted(): void {
    if (!this.finish()) return;
    this.leaveQueue();
    this.reject(this.callerSignal!.reason);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.timers.cancel(this);
    if (this.onCallerAbort !== undefined) this.callerSignal!.removeEventListener('abort', this.onCallerAbort);
    return true;
  }
}

function noop(): void {}
