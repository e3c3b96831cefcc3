import type { Attributes, Histogram } from '@opentelemetry/api';

/** Points held before a flush is scheduled; the flush runs on the next turn of the event loop. */
const BATCH = 256;
/** Points held at most: past it a record flushes at once (a burst faster than the event loop turns). */
const CAPACITY = 4 * BATCH;

/**
 * A histogram whose points reach the SDK in batches. A synchronous `histogram.record`
 * costs more on a call's path than its own work: interleaved with the call's I/O, the
 * SDK's attribute hashing and storage lookup (every record, whatever the object's
 * identity) run on cold caches, and measured that way one record per call cost an
 * ioredis `GET` 5–6 µs of CPU (BENCHMARKS.md). Here a call writes its value and its
 * shared attribute object into two arrays; the SDK sees them in a loop of records, on
 * the next turn of the event loop, or before any collection (the instrument set calls
 * `flush()` from an observable callback, which the SDK runs before it reads the
 * synchronous instruments), so an export never misses a point recorded before it.
 *
 * The SDK receives exactly the points it would have: same instrument, values and
 * attributes (views and the cardinality limit apply as before), only later by at most
 * a turn of the event loop. Nothing here throws into the caller.
 */
export class BatchedHistogram {
  private readonly values = new Float64Array(CAPACITY);
  private readonly attributes: (Attributes | undefined)[] = new Array<Attributes | undefined>(CAPACITY).fill(undefined);
  private count = 0;
  private scheduled = false;
  private readonly scheduledFlush = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly histogram: Histogram) {}

  record(value: number, attributes: Attributes): void {
    const at = this.count;
    this.values[at] = value;
    this.attributes[at] = attributes;
    this.count = at + 1;
    if (at + 1 >= CAPACITY) this.flush();
    else if (at + 1 >= BATCH && !this.scheduled) {
      this.scheduled = true;
      // unref'd: pending points never keep a process alive (a shutdown collects them first).
      setImmediate(this.scheduledFlush).unref();
    }
  }

  /** Hands every held point to the SDK, in the order recorded. */
  flush(): void {
    const count = this.count;
    this.count = 0;
    const values = this.values;
    const attributes = this.attributes;
    for (let i = 0; i < count; i++) {
      const pointAttributes = attributes[i]!;
      attributes[i] = undefined; // the shared objects are not held past their point
      try {
        this.histogram.record(values[i]!, pointAttributes);
      } catch {
        // an SDK that throws loses this point only
      }
    }
  }

  /** Points held, not yet handed to the SDK (for tests). */
  get pending(): number {
    return this.count;
  }
}
