import type { Classification } from '../classify/types.js';
import { HedgeCancelledError } from '../errors.js';
import type { HedgeResult } from '../telemetry/names.js';
import type { AttemptRecord } from '../telemetry/operation.js';
import type { AttemptContext } from './attempt.js';
import type { Admission } from './breaker/circuit.js';
import type { HedgeSkipReason } from './hedge.js';
import { TimerEntry, type TimerQueue } from './timer-queue.js';

/** One attempt of a hedged call, under way. */
export interface RunningAttempt<T> {
  readonly number: number;
  /** A backup attempt (not the round's first). */
  readonly hedge: boolean;
  readonly context: AttemptContext;
  readonly record: AttemptRecord | undefined;
  /** A clock reading at its start. */
  readonly start: number;
  readonly admission: Admission;
  readonly generation: number;
  /** Its value, or its failure, timeout or the caller's abort. */
  readonly outcome: Promise<T>;
  /** Stops it: its signal aborts and `outcome` rejects with `reason`. */
  cancel(reason: unknown): void;
}

/** An attempt that settled, as the policy judges results. */
export interface SettledAttempt<T> {
  readonly attempt: RunningAttempt<T>;
  readonly failed: boolean;
  readonly failure: unknown;
  readonly result: T | undefined;
  /** The result is itself the failure (an HTTP 503 response): what the caller gets if it is the last word. */
  readonly resultIsFailure: boolean;
  /** A clock reading at its end. */
  readonly end: number;
  /** The failure's classification when the round made one (undefined for a success or the caller's abort). */
  classification?: Classification;
}

/** What the round asks of the policy that runs it. */
export interface RoundHost<T> {
  now(): number;
  /** Starts a backup attempt numbered `number`, sent after `delayMs` without an answer. */
  launchHedge(number: number, delayMs: number): RunningAttempt<T>;
  /** The attempt's value or failure, with the policy's failureOf applied and the clock read. */
  settle(attempt: RunningAttempt<T>, failed: boolean, outcome: unknown): SettledAttempt<T>;
  /** The failure's classification; undefined when the caller aborted (the call ends). */
  classify(settled: SettledAttempt<T>): Classification | undefined;
  /** A failure that did not end the call, since another attempt still runs. */
  recordLost(settled: SettledAttempt<T>, classification: Classification): void;
  /** An attempt stopped because another answered first. */
  recordCancelled(attempt: RunningAttempt<T>, now: number): void;
  /** Why no backup attempt may be sent now; undefined to send it (taking it from the budget). */
  vetoHedge(now: number): HedgeSkipReason | undefined;
  hedgeResult(attempt: RunningAttempt<T>, result: HedgeResult): void;
  hedgeSkipped(attempt: RunningAttempt<T>, reason: HedgeSkipReason): void;
}

/**
 * One round of a hedged call: its first attempt, then, each time `delayMs` passes with
 * no answer, a backup attempt (at most `maxHedges`). The first success wins and every
 * other attempt is cancelled. A failure that is the dependency's last word (not
 * transient) or the caller's abort ends the round at once; a transient failure while
 * another attempt still runs is recorded and the round waits for the others. When the
 * last one running fails, that failure ends the round, and the policy decides about a
 * retry as it would without hedging. The hedge timer is an entry in the policy's timer
 * queue (unref'd, so it never keeps the process alive).
 */
export class HedgedRound<T> extends TimerEntry {
  private declare readonly host: RoundHost<T>;
  private declare readonly timers: TimerQueue;
  private declare readonly target: string;
  private declare readonly delayMs: number;
  private declare readonly maxHedges: number;
  private declare readonly running: RunningAttempt<T>[];
  private declare hedgesSent: number;
  private declare lastNumber: number;
  private declare decided: boolean;
  private declare resolve: (settled: SettledAttempt<T>) => void;

  /** `delayMs` undefined: no hedge this round (an adaptive estimate still warming up). */
  constructor(host: RoundHost<T>, timers: TimerQueue, target: string, delayMs: number | undefined, maxHedges: number) {
    super();
    this.host = host;
    this.timers = timers;
    this.target = target;
    this.delayMs = delayMs ?? Infinity;
    this.maxHedges = delayMs === undefined ? 0 : maxHedges;
    this.running = [];
    this.hedgesSent = 0;
    this.lastNumber = 0;
    this.decided = false;
    this.resolve = () => {};
  }

  /** The highest attempt number this round started. */
  get lastAttempt(): number {
    return this.lastNumber;
  }

  /** Settles with the attempt that decides the round: the winner, or the failure to act on. */
  run(first: RunningAttempt<T>): Promise<SettledAttempt<T>> {
    const decision = new Promise<SettledAttempt<T>>((resolve) => {
      this.resolve = resolve;
    });
    this.watch(first);
    if (this.maxHedges > 0) this.timers.add(this, first.start, this.delayMs);
    return decision;
  }

  expire(): void {
    if (this.decided) return;
    const now = this.host.now();
    const unanswered = this.running[this.running.length - 1]!;
    const veto = this.host.vetoHedge(now);
    if (veto !== undefined) {
      this.host.hedgeSkipped(unanswered, veto);
      return;
    }
    this.hedgesSent++;
    this.watch(this.host.launchHedge(this.lastNumber + 1, this.delayMs));
    if (this.hedgesSent < this.maxHedges && !this.decided) this.timers.add(this, now, this.delayMs);
  }

  private watch(attempt: RunningAttempt<T>): void {
    this.running.push(attempt);
    this.lastNumber = Math.max(this.lastNumber, attempt.number);
    attempt.outcome.then(
      (value) => this.settled(attempt, false, value),
      (error: unknown) => this.settled(attempt, true, error),
    );
  }

  private settled(attempt: RunningAttempt<T>, failed: boolean, outcome: unknown): void {
    if (this.decided) return; // cancelled by the winner, and recorded then
    this.running.splice(this.running.indexOf(attempt), 1);
    const settled = this.host.settle(attempt, failed, outcome);
    if (!settled.failed) return this.decide(settled, 'won');
    const classification = this.host.classify(settled);
    if (classification === undefined || !classification.transient || this.running.length === 0) {
      settled.classification = classification;
      return this.decide(settled, 'lost');
    }
    this.host.hedgeResult(attempt, 'lost');
    this.host.recordLost(settled, classification);
  }

  private decide(settled: SettledAttempt<T>, result: HedgeResult): void {
    this.decided = true;
    this.timers.cancel(this);
    for (const other of this.running) {
      other.cancel(new HedgeCancelledError(this.target, settled.attempt.number));
      this.host.hedgeResult(other, 'cancelled');
      this.host.recordCancelled(other, settled.end);
    }
    this.running.length = 0;
    if (this.hedgesSent > 0) this.host.hedgeResult(settled.attempt, result);
    this.resolve(settled);
  }
}
