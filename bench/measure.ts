/**
 * Side-by-side timing in one process: every case runs a batch in turn, round after
 * round, so drift (JIT warm-up, CPU frequency, GC) falls on all cases alike. Figures
 * are medians of per-batch averages, in nanoseconds per operation.
 */
export interface BenchCase {
  name: string;
  /** Runs the measured operation `n` times. */
  run(n: number): Promise<void> | void;
}

export interface BenchResult {
  name: string;
  medianNs: number;
  minNs: number;
  maxNs: number;
  opsPerSec: number;
}

export async function measure(cases: BenchCase[], options: { batch: number; rounds: number; warmupRounds: number }): Promise<BenchResult[]> {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < options.warmupRounds + options.rounds; round++) {
    for (const c of cases) {
      const start = process.hrtime.bigint();
      await c.run(options.batch);
      const ns = Number(process.hrtime.bigint() - start) / options.batch;
      if (round >= options.warmupRounds) samples.get(c.name)!.push(ns);
    }
  }
  return cases.map((c) => {
    const s = samples.get(c.name)!.sort((a, b) => a - b);
    const median = s[Math.floor(s.length / 2)]!;
    return { name: c.name, medianNs: median, minNs: s[0]!, maxNs: s[s.length - 1]!, opsPerSec: 1e9 / median };
  });
}

export function formatTable(results: BenchResult[], baselineName?: string): string {
  const baseline = results.find((r) => r.name === baselineName);
  const rows = results.map((r) => {
    const overhead = baseline ? (r.medianNs - baseline.medianNs).toFixed(0) : '';
    return `| ${r.name} | ${r.medianNs.toFixed(0)} | ${r.minNs.toFixed(0)} | ${r.maxNs.toFixed(0)} | ${overhead} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} |`;
  });
  return ['| case | median ns/op | min | max | overhead vs bare (ns) | ops/s |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
