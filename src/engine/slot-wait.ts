import { DeadlineExceededError } from '../errors.js';
import type { Bulkhead } from './bulkhead.js';
import { TimerEntry, type TimerQueue } from './timer-queue.js';

/**
 * A call waiting in a bulkhead's queue for a slot, within the call's deadline and the
 * caller's signal: whichever comes first of the slot, the deadline
 * (DeadlineExceededError) and the caller's abort (its reason) settles the wait, and
 * the deadline and the abort take the waiter out of the bulkhead's queue, so it
 * neither holds a queue place nor is handed a slot nobody will use.
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
    private readonly bulkhead: Bulkhead,
    private readonly timers: TimerQueue,
    private readonly callerSignal: AbortSignal | undefined,
    private readonly target: string,
    private readonly deadlineMs: number,
  ) {
    super();
  }

  /** `startedAt`: the call's start, a clock reading (NaN without a deadline). */
  wait(startedAt: number): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.leaveQueue = this.bulkhead.enqueue(() => {
      if (this.finish()) this.resolve();
    });
    if (this.callerSignal !== undefined) this.callerSignal.addEventListener('abort', (this.onCallerAbort = () => this.callerAborted()));
    // Counted from the call's start: the wait is part of the call's deadline.
    if (this.deadlineMs !== Infinity) this.timers.add(this, startedAt, this.deadlineMs);
    return promise;
  }

  expire(): void {
    if (!this.finish()) return;
    this.leaveQueue();
    this.reject(new DeadlineExceededError(this.target, this.deadlineMs));
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
