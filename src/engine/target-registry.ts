/**
 * Per-target state (breaker, retry budget, bulkhead), bounded: past `maxEntries` the
 * least recently used target is forgotten, so a service that calls a million distinct
 * hosts does not grow without end. A forgotten target starts afresh (closed breaker)
 * if it is called again.
 */
export class TargetRegistry<Entry> {
  private readonly entries = new Map<string, Entry>();
  private mostRecent: string | undefined;

  constructor(
    private readonly maxEntries: number,
    private readonly create: (target: string) => Entry,
  ) {}

  get(target: string): Entry {
    const entries = this.entries;
    let entry = entries.get(target);
    if (entry !== undefined) {
      // Map keeps insertion order; re-inserting marks it most recent. Skipped for the
      // common case of the same target twice in a row, which costs a Map write.
      if (this.mostRecent !== target) {
        entries.delete(target);
        entries.set(target, entry);
        this.mostRecent = target;
      }
      return entry;
    }
    entry = this.create(target);
    if (entries.size >= this.maxEntries) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
    }
    entries.set(target, entry);
    this.mostRecent = target;
    return entry;
  }

  peek(target: string): Entry | undefined {
    return this.entries.get(target);
  }

  get size(): number {
    return this.entries.size;
  }

  forEach(visit: (entry: Entry, target: string) => void): void {
    this.entries.forEach(visit);
  }
}
