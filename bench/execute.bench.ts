import { pathToFileURL } from 'node:url';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleAll, retry, wrap } from 'cockatiel';
import { createPolicy } from '../src/engine/policy.js';
import type { BenchCase } from './measure.js';

const TARGET = 'https://api.example.com:443';
const noop = async (): Promise<number> => 1;
const options = { target: TARGET, idempotent: true };

/** The retry and breaker every breakwater case shares; the timed cases add only timeoutMs / deadlineMs. */
const BASE = { retry: { maxAttempts: 3 }, breaker: { mode: 'consecutive', threshold: 5 } } as const;

const loop = (fn: () => Promise<unknown>) => async (n: number) => {
  for (let i = 0; i < n; i++) await fn();
};

/**
 * execute() overhead on a no-op async operation with no SDK registered, beside
 * cockatiel (retry + consecutive breaker) and opossum (defaults, and timeout off).
 * Each tool is configured to do the same work: up to 3 attempts, a breaker opening
 * after 5 consecutive failures; the operation never fails, so this is the success path.
 */
export async function executeCases(): Promise<BenchCase[]> {
  const { default: CircuitBreaker } = (await import('opossum' as string)) as { default: new (fn: () => Promise<number>, options?: object) => { fire(): Promise<number> } };

  const breakwater = createPolicy({ name: 'bench', ...BASE });
  const breakwaterTimeout = createPolicy({ name: 'bench-timeout', ...BASE, timeoutMs: 10_000 });
  const breakwaterTimeoutDeadline = createPolicy({ name: 'bench-timeout-deadline', ...BASE, timeoutMs: 10_000, deadlineMs: 30_000 });
  const cockatiel = wrap(
    retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(5) }),
  );
  const opossumDefaults = new CircuitBreaker(noop);
  const opossumNoTimeout = new CircuitBreaker(noop, { timeout: false });

  return [
    { name: 'bare await', run: loop(noop) },
    { name: 'breakwater (retry + consecutive breaker)', run: loop(() => breakwater.execute(noop, options)) },
    { name: 'cockatiel (retry + consecutive breaker)', run: loop(() => cockatiel.execute(noop)) },
    { name: 'breakwater (+ 10 s timeout)', run: loop(() => breakwaterTimeout.execute(noop, options)) },
    { name: 'breakwater (+ 10 s timeout, 30 s deadline)', run: loop(() => breakwaterTimeoutDeadline.execute(noop, options)) },
    { name: 'opossum (defaults: 10 s timeout)', run: loop(() => opossumDefaults.fire()) },
    { name: 'opossum (timeout off)', run: loop(() => opossumNoTimeout.fire()) },
  ];
}

export interface TimingCost {
  rounds: number;
  batch: number;
  /** Median over rounds of the timed batch minus its neighbouring untimed batch, ns per call. */
  medianNs: number;
  untimedMinNs: number;
  untimedMedianNs: number;
  timedMinNs: number;
  timedMedianNs: number;
}

/**
 * What a 10 s timeout and a 30 s deadline add to execute() (issue target: at most
 * 300 ns). The untimed and the timed policy run a batch each in turn, round after
 * round, and each round's difference is taken between two neighbouring batches, so
 * drift on a shared machine (other processes, CPU frequency, GC) mostly cancels out
 * of the difference; the order within a round alternates so neither case always
 * runs second. Batches are short (2000 calls, under a millisecond) and many, so most
 * escape being preempted on a busy machine; the minimum of each case is its
 * undisturbed cost.
 */
export async function timingCost(settings = { batch: 2_000, rounds: 301, warmupRounds: 50 }): Promise<TimingCost> {
  const untimed = createPolicy({ name: 'bench-untimed', ...BASE });
  const timed = createPolicy({ name: 'bench-timed', ...BASE, timeoutMs: 10_000, deadlineMs: 30_000 });
  const runUntimed = loop(() => untimed.execute(noop, options));
  const runTimed = loop(() => timed.execute(noop, options));
  const batchNs = async (run: (n: number) => Promise<void>) => {
    const start = process.hrtime.bigint();
    await run(settings.batch);
    return Number(process.hrtime.bigint() - start) / settings.batch;
  };
  const differences: number[] = [];
  const untimedNs: number[] = [];
  const timedNs: number[] = [];
  for (let round = 0; round < settings.warmupRounds + settings.rounds; round++) {
    let a: number;
    let b: number;
    if (round % 2 === 0) {
      a = await batchNs(runUntimed);
      b = await batchNs(runTimed);
    } else {
      b = await batchNs(runTimed);
      a = await batchNs(runUntimed);
    }
    if (round < settings.warmupRounds) continue;
    untimedNs.push(a);
    timedNs.push(b);
    differences.push(b - a);
  }
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  return {
    rounds: settings.rounds,
    batch: settings.batch,
    medianNs: median(differences),
    untimedMinNs: Math.min(...untimedNs),
    untimedMedianNs: median(untimedNs),
    timedMinNs: Math.min(...timedNs),
    timedMedianNs: median(timedNs),
  };
}

export function formatTimingCost(cost: TimingCost): string {
  const ns = (value: number) => value.toFixed(0);
  return [
    `execute() with timeoutMs 10000 + deadlineMs 30000 vs without, interleaved, ${cost.rounds} rounds of ${cost.batch} calls each, ns/call:`,
    '',
    '| case | min | median |',
    '|---|---|---|',
    `| no timeout, no deadline | ${ns(cost.untimedMinNs)} | ${ns(cost.untimedMedianNs)} |`,
    `| timeoutMs 10000, deadlineMs 30000 | ${ns(cost.timedMinNs)} | ${ns(cost.timedMedianNs)} |`,
    `| difference (min: of the minimums; median: of the per-round differences) | ${ns(cost.timedMinNs - cost.untimedMinNs)} | ${ns(cost.medianNs)} |`,
    '',
    'target: the difference at most 300 ns',
  ].join('\n');
}

// `node build/bench/execute.bench.js`: the timing cost alone, on any Node (no peers needed).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  timingCost()
    .then((cost) => console.log(`Node ${process.version}\n${formatTimingCost(cost)}`))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
