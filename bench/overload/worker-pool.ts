// The fixed capacity of the overload benchmark's HTTP dependency: W workers, each request
// S ms of work, the rest waiting in one FIFO queue, as a thread-pool server (Tomcat,
// gunicorn) behaves. Pure: the clock and the timer are injected, so the queueing
// arithmetic is tested without a server.

/** A request as the pool sees it. */
export interface Job {
  /** When it arrived, on the pool's clock. */
  readonly arrivedAt: number;
  /** Its work is done: answer it. */
  done(): void;
  /** It waited longer than the pool lets a request wait: answer it 503 without working on it. */
  shed(): void;
}

export interface WorkerPoolOptions {
  workers: number;
  workMs: number;
  /** A request that would start after waiting longer than this is shed (Infinity: never). */
  shedAfterMs: number;
  now(): number;
  /** Runs `fn` after `ms` ms (0 or less: as soon as it can). */
  setTimer(fn: () => void, ms: number): void;
}

export interface WorkerPoolStats {
  /** Requests submitted since the last reset. */
  received: number;
  served: number;
  shed: number;
  /** The longest the queue was. */
  maxQueued: number;
}

interface Worker {
  busy: boolean;
  /** When its last request's work ended (or will end), on the pool's clock. */
  freeAt: number;
}

/**
 * A worker takes the request at the head of the queue the moment it is free. A timer
 * fires a little late, so a worker's work runs on a virtual schedule: its next request
 * starts when the last one's S ms ended, not when the timer noticed, and the pool serves
 * exactly W / S requests a second under load however late the timers are (lateness only
 * delays the answers). Work is done for every request a worker takes, including one
 * whose client has given up meanwhile: a pool that does not notice, as most do not.
 */
export class WorkerPool {
  private readonly workers: Worker[];
  private readonly queue: Job[] = [];
  /** Index of the queue's head: shifting a queue thousands long would copy it each time. */
  private head = 0;
  private counts: WorkerPoolStats = { received: 0, served: 0, shed: 0, maxQueued: 0 };

  constructor(private readonly options: WorkerPoolOptions) {
    if (!(Number.isInteger(options.workers) && options.workers >= 1)) throw new RangeError(`workers must be a positive integer, got ${options.workers}`);
    if (!(options.workMs > 0)) throw new RangeError(`workMs must be positive, got ${options.workMs}`);
    this.workers = Array.from({ length: options.workers }, () => ({ busy: false, freeAt: Number.NEGATIVE_INFINITY }));
  }

  /** The pool's capacity in requests per second. */
  get capacityPerSecond(): number {
    return (this.options.workers * 1000) / this.options.workMs;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Whether nothing waits and no worker works: the next measurement starts from an empty server. */
  get idle(): boolean {
    return this.queued === 0 && this.workers.every((w) => !w.busy);
  }

  submit(job: Job): void {
    this.counts.received++;
    this.queue.push(job);
    this.counts.maxQueued = Math.max(this.counts.maxQueued, this.queued);
    this.dispatch();
  }

  /** The counts since the last reset, and a new count from now. */
  takeStats(): WorkerPoolStats {
    const stats = this.counts;
    this.counts = { received: 0, served: 0, shed: 0, maxQueued: this.queued };
    return stats;
  }

  private dispatch(): void {
    const now = this.options.now();
    for (const worker of this.workers) {
      while (!worker.busy && this.head < this.queue.length) {
        const job = this.queue[this.head]!;
        this.queue[this.head++] = undefined as unknown as Job; // let the answered request go
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        // The worker's virtual start: when its last work ended, or when the request arrived.
        const start = Math.max(worker.freeAt, job.arrivedAt);
        if (start - job.arrivedAt > this.options.shedAfterMs) {
          this.counts.shed++;
          job.shed();
          continue; // no work done: the worker takes the next at the same moment
        }
        worker.busy = true;
        worker.freeAt = start + this.options.workMs;
        this.options.setTimer(() => {
          worker.busy = false;
          this.counts.served++;
          job.done();
          this.dispatch();
        }, worker.freeAt - now);
      }
    }
  }
}
