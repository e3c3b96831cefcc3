// classify() per call on real errors: the corpus of failures provoked from real servers
// (test/integration/error-corpus.ts), not hand-built objects. The target is at most
// 1 µs median per call (a million classifications a second on one core), no SDK.
//
//   npm run build:test && node build/bench/classify.bench.js
import { pathToFileURL } from 'node:url';
import { classify, createClassifier } from '../src/classify/classify.js';
import type { ClassifyHints } from '../src/classify/types.js';
import { collectRealErrors, type CorpusEntry } from '../test/integration/error-corpus.js';

export interface ClassifyBenchResult {
  name: string;
  /** Median over batches of the mean time per call in a batch. */
  medianNs: number;
  /** 99th percentile over batches of the mean time per call (a batch-level tail, not a per-call one: a single call is too short to time). */
  p99Ns?: number;
  opsPerSec: number;
}

/** The same shape as bench/measure.ts's BenchCase, for the overall runner. */
export interface ClassifyBenchCase {
  name: string;
  run(n: number): void;
}

type Classifier = (failure: unknown, hints?: ClassifyHints) => { code: string };

/** Folds results into a number the optimiser cannot prove unused. */
let sink = 0;

function loop(classifier: Classifier, failures: readonly unknown[], hints: ReadonlyArray<ClassifyHints | undefined>, n: number): void {
  const size = failures.length;
  let acc = 0;
  for (let i = 0, j = 0; i < n; i++) {
    acc += classifier(failures[j], hints[j]).code.length;
    if (++j === size) j = 0;
  }
  sink ^= acc;
}

/** Groups of the corpus to time: all of it, then each client's errors. */
function groups(corpus: readonly CorpusEntry[]): Array<{ name: string; entries: CorpusEntry[] }> {
  const byClient = new Map<string, CorpusEntry[]>();
  for (const entry of corpus) {
    const list = byClient.get(entry.client) ?? [];
    list.push(entry);
    byClient.set(entry.client, list);
  }
  return [
    { name: `classify: all ${corpus.length} real errors`, entries: [...corpus] },
    ...[...byClient].map(([client, entries]) => ({ name: `classify: ${client} (${entries.length})`, entries })),
  ];
}

/** A classifier with a realistic handful of user rules, none of which match the corpus. */
function withUnmatchedRules(): Classifier {
  return createClassifier([
    { id: 'payments-5xx', when: { target: 'https://payments.example.com:*', status: '5xx' }, category: 'external_service' },
    { id: 'quota', when: { messageRegex: '^quota exceeded for tenant \\d+$' }, category: 'rate_limit' },
    { id: 'legacy-lock', when: { all: [{ client: 'pg' }, { sqlstate: 'LK001' }] }, category: 'concurrency' },
    { id: 'cache-miss', when: { redisPrefix: 'BREAKWATERMISS' }, category: 'not_found' },
    { id: 'not-mine', when: { name: 'PaymentDeclinedError', not: { code: 'E_RETRY' } }, category: 'business_logic' },
  ]);
}

function cases(corpus: readonly CorpusEntry[]): Array<{ name: string; classifier: Classifier; failures: unknown[]; hints: Array<ClassifyHints | undefined> }> {
  const out = groups(corpus).map(({ name, entries }) => ({
    name,
    classifier: classify as Classifier,
    failures: entries.map((e) => e.failure),
    hints: entries.map((e) => ({ ...e.hints, client: e.client })),
  }));
  out.push({
    name: `createClassifier(5 rules, no match): all ${corpus.length}`,
    classifier: withUnmatchedRules(),
    failures: corpus.map((e) => e.failure),
    hints: corpus.map((e) => ({ ...e.hints, client: e.client })),
  });
  return out;
}

/** BenchCases for bench/run.ts's measure(): one per group of the real-error corpus. */
export async function classifyCases(): Promise<ClassifyBenchCase[]> {
  const corpus = await collectRealErrors();
  return cases(corpus).map((c) => ({ name: c.name, run: (n: number) => loop(c.classifier, c.failures, c.hints, n) }));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/**
 * classify() per call on the real-error corpus: every group runs a batch in turn, round
 * after round (so JIT warm-up, GC and CPU frequency fall on all alike), and reports the
 * median and 99th percentile of the per-batch mean, in nanoseconds per call.
 */
export async function benchClassify(options: { batchCalls?: number; rounds?: number; warmupRounds?: number } = {}): Promise<ClassifyBenchResult[]> {
  const batchCalls = options.batchCalls ?? 20_000;
  const rounds = options.rounds ?? 200;
  const warmupRounds = options.warmupRounds ?? 20;
  const all = cases(await collectRealErrors());
  const samples = all.map(() => [] as number[]);
  for (let round = 0; round < warmupRounds + rounds; round++) {
    for (let i = 0; i < all.length; i++) {
      const c = all[i]!;
      const start = process.hrtime.bigint();
      loop(c.classifier, c.failures, c.hints, batchCalls);
      const ns = Number(process.hrtime.bigint() - start) / batchCalls;
      if (round >= warmupRounds) samples[i]!.push(ns);
    }
  }
  return all.map((c, i) => {
    const sorted = samples[i]!.sort((a, b) => a - b);
    const medianNs = percentile(sorted, 50);
    return { name: c.name, medianNs, p99Ns: percentile(sorted, 99), opsPerSec: 1e9 / medianNs };
  });
}

async function main(): Promise<void> {
  const { stopAllServers } = await import('../test/integration/servers.js');
  try {
    const results = await benchClassify();
    console.log(`classify() on real errors, Node ${process.version} (target: median <= 1000 ns/call)\n`);
    console.log('| case | median ns/call | p99 ns/call (batch) | calls/s |');
    console.log('|---|---|---|---|');
    for (const r of results) {
      console.log(`| ${r.name} | ${r.medianNs.toFixed(0)} | ${r.p99Ns?.toFixed(0) ?? ''} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} |`);
    }
    if (sink === 42.5) console.log(''); // keeps `sink` observable
  } finally {
    await stopAllServers();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
