import type { Clock } from './clock.js';

const IDLE = 0;
const QUEUED = 1;
const CANCELLED = 2;
const EXPIRED = 3;

/**
 * Cancelled entries are left in the heap (cancelling is then a flag write) until they
 * outnumber the live ones by this many, when the heap is rebuilt without them: the
 * heap stays within twice the live entries plus this, and rebuilding costs O(1) per
 * cancellation, amortised.
 */
const GARBAGE_SLACK = 32;

/**
 * Something that runs once at its expiry unless cancelled first (an attempt's timeout,
 * a bulkhead wait's deadline). Entries are made per attempt, so their fields are
 * `declare`d and assigned in the constructor: class field definitions cost about 25 ns
 * more per attempt on Node 20 (bench/execute.bench.ts).
 */
export abstract class TimerEntry {
  /** In the clock's milliseconds; set by TimerQueue.add. */
  declare expiresAt: number;
  /** Breaks ties between equal expiries, so they fire in the order they were added. */
  declare sequence: number;
  declare timerState: number;

  constructor() {
    this.expiresAt = 0;
    this.sequence = 0;
    this.timerState = IDLE;
  }

  /** Called once, from the queue's timer, at or after expiresAt. */
  abstract expire(): void;
}

/**
 * Many pending expiries on one clock timer: a binary min-heap by expiry, with one
 * timer armed for its earliest entry. Expiries of a policy mostly arrive in order
 * (start time plus one fixed timeout), and an entry later than every other sifts up
 * by one comparison, so adding costs what a FIFO would; the heap stays correct when
 * they do not (an attempt trimmed to its call's deadline, a bulkhead wait, several
 * policies with different timeouts on one clock). The timer is re-armed only when an
 * entry earlier than the one it is armed for arrives; a cancelled entry is only
 * flagged, and the timer firing for it finds nothing due and re-arms for the earliest
 * live entry, if any. The system clock's timer is unref'd: an idle queue (or one
 * holding only cancelled entries) never keeps the process alive.
 */
export class TimerQueue {
  private readonly heap: TimerEntry[] = [];
  private live = 0;
  private nextSequence = 0;
  private handle: unknown = undefined;
  /** The expiry the clock timer is armed for; Infinity when it is not armed. */
  private armedFor = Infinity;
  private readonly onTimer = () => this.fire();

  constructor(private readonly clock: Clock) {}

  /** Entries not cancelled and not yet expired. */
  get size(): number {
    return this.live;
  }

  /** Entries held, cancelled ones not yet dropped included: at most 2 * size + 32 after any add, cancel or expiry. */
  get stored(): number {
    return this.heap.length;
  }

  /**
   * Schedules `entry` to expire `ms` after `now`, a reading of this queue's clock the
   * caller already has (the attempt's start), so adding reads no clock.
   */
  add(entry: TimerEntry, now: number, ms: number): void {
    const expiresAt = now + ms;
    entry.expiresAt = expiresAt;
    entry.sequence = this.nextSequence++;
    entry.timerState = QUEUED;
    this.live++;
    const heap = this.heap;
    heap.push(entry);
    siftUp(heap, heap.length - 1);
    if (expiresAt < this.armedFor) this.arm(expiresAt, now);
  }

  /** Takes the entry out (it will not expire); a no-op once it expired or was cancelled. */
  cancel(entry: TimerEntry): void {
    if (entry.timerState !== QUEUED) return;
    entry.timerState = CANCELLED;
    this.live--;
    this.compactIfMostlyGarbage();
  }

  private arm(expiresAt: number, now: number): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.armedFor = expiresAt;
    const handle = this.clock.setTimeout(this.onTimer, Math.max(0, expiresAt - now));
    (handle as { unref?: () => void } | null)?.unref?.();
    this.handle = handle;
  }

  private fire(): void {
    this.handle = undefined;
    this.armedFor = Infinity;
    // The timer may fire a little before the expiry by this clock (Node rounds its
    // timers to whole milliseconds of its own loop clock): what is not due is re-armed.
    const now = this.clock.now();
    const heap = this.heap;
    for (;;) {
      const first = heap[0];
      if (first === undefined) return;
      if (first.timerState === CANCELLED) {
        popFirst(heap);
        continue;
      }
      if (first.expiresAt > now) {
        // Expiries made the live entries fewer: the bound on cancelled ones follows.
        this.compactIfMostlyGarbage();
        if (first.expiresAt < this.armedFor) this.arm(first.expiresAt, now);
        return;
      }
      popFirst(heap);
      first.timerState = EXPIRED;
      this.live--;
      try {
        first.expire();
      } catch (error) {
        // Not ours to swallow, but it must not strand the entries after it.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Drops the cancelled entries, once they outnumber the live ones by more than GARBAGE_SLACK, in O(n). */
  private compactIfMostlyGarbage(): void {
    const heap = this.heap;
    if (heap.length - this.live <= this.live + GARBAGE_SLACK) return;
    let kept = 0;
    for (let i = 0; i < heap.length; i++) {
      const entry = heap[i]!;
      if (entry.timerState === QUEUED) heap[kept++] = entry;
    }
    heap.length = kept;
    for (let i = (kept >> 1) - 1; i >= 0; i--) siftDown(heap, i);
  }
}

function earlier(a: TimerEntry, b: TimerEntry): boolean {
  return a.expiresAt < b.expiresAt || (a.expiresAt === b.expiresAt && a.sequence < b.sequence);
}

function siftUp(heap: TimerEntry[], index: number): void {
  const entry = heap[index]!;
  while (index > 0) {
    const parentIndex = (index - 1) >> 1;
    const parent = heap[parentIndex]!;
    if (!earlier(entry, parent)) break;
    heap[index] = parent;
    index = parentIndex;
  }
  heap[index] = entry;
}

function siftDown(heap: TimerEntry[], index: number): void {
  const entry = heap[index]!;
  const length = heap.length;
  for (;;) {
    const left = 2 * index + 1;
    if (left >= length) break;
    const right = left + 1;
    const child = right < length && earlier(heap[right]!, heap[left]!) ? right : left;
    if (!earlier(heap[child]!, entry)) break;
    heap[index] = heap[child]!;
    index = child;
  }
  heap[index] = entry;
}

function popFirst(heap: TimerEntry[]): void {
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    siftDown(heap, 0);
  }
}

const queues = new WeakMap<Clock, TimerQueue>();

/** The one queue of a clock, shared by every policy on it: one clock timer for all their attempts. */
export function timerQueueFor(clock: Clock): TimerQueue {
  let queue = queues.get(clock);
  if (queue === undefined) {
    queue = new TimerQueue(clock);
    queues.set(clock, queue);
  }
  return queue;
}
