// A constant call rate in timer batches: every tick starts the calls that fell due
// since the start, whatever the earlier ones are doing. Cheaper than one timer per call
// (bench/tail/open-loop.ts, which times each call) at 10,000 calls/s, and a tick that
// wakes late makes up for it, so the count over the run holds.

/** Calls due `elapsedMs` after the start at `ratePerSecond`: the first at 0. */
export function callsDueBy(ratePerSecond: number, elapsedMs: number): number {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`the rate must be a positive number of calls per second, got ${ratePerSecond}`);
  return elapsedMs < 0 ? 0 : Math.floor((ratePerSecond * elapsedMs) / 1000) + 1;
}

export interface TickedLoopResult {
  /** Calls started. */
  calls: number;
  /** Calls whose promise rejected. */
  failed: number;
}

/**
 * Starts calls at `ratePerSecond` for `durationMs` (those due before it ends), a batch
 * every `tickMs`, and settles when every one has.
 */
export async function tickedOpenLoop(ratePerSecond: number, durationMs: number, call: () => Promise<unknown>, tickMs = 10): Promise<TickedLoopResult> {
  const start = performance.now();
  const total = callsDueBy(ratePerSecond, durationMs - 1e-6);
  const settled: Promise<void>[] = [];
  let failed = 0;
  let calls = 0;
  while (calls < total) {
    const due = Math.min(total, callsDueBy(ratePerSecond, performance.now() - start));
    for (; calls < due; calls++) {
      settled.push(
        Promise.resolve()
          .then(call)
          .then(
            () => undefined,
            () => void failed++,
          ),
      );
    }
    if (calls < total) await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  await Promise.all(settled);
  return { calls, failed };
}
