// `npm run bench:overload` (scripts/bench-overload.sh runs this): overload protection
// against dependencies of fixed capacity. For each dependency, the offered load steps up
// from half its capacity to three times it, open-loop; at each step the variants (no
// limit, a static bulkhead, the adaptive limit with and without its queue) take turns, each in a fresh process
// after the dependency has drained. Then the rate-limit experiment: a server with a
// stated rate is offered three times it, with fromHeaders off and on. Markdown goes to
// stdout, progress to stderr, the charts to bench/results/ (or BENCH_OVERLOAD_CHARTS),
// every figure as JSON to the temporary directory (for a closer look at a limit trace).
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stopAllServers } from '../../test/integration/servers.js';
import { chosenFromArgs, countFromEnv, elapsedLine, loadAverage } from '../run-info.js';
import {
  CALL_ENV,
  capacityPerSecond,
  DEPENDENCIES,
  dependencyLabel,
  httpClientFromEnv,
  HTTP_SHED_AFTER_MS,
  HTTP_WORKERS,
  HTTP_WORK_MS,
  LOAD_STEPS,
  PARTS,
  PG_MAX_CONNECTIONS,
  PG_POOL_MAX,
  PG_SLEEP_MS,
  PG_SLOTS,
  RATE_LIMIT_PER_SECOND,
  RATE_MODE_LABELS,
  RATE_MODES,
  RATE_OFFERED_FACTOR,
  RATE_VARIANTS,
  VARIANTS,
  type Dependency,
  type Setting,
  type StepResult,
  type Variant,
} from './cases.js';
import { writeOverloadChart } from './chart.js';
import { checkTargets, overloadTable, rateTable, targetLine, unloadedP99, type RateRun } from './report.js';
import { capacityHttpServer, limitedPgServer, rateLimitedServer } from './servers.js';
import { attemptWindows } from './summary.js';
import type { WorkerPoolStats } from './worker-pool.js';

// A few seconds for the adaptive limit to find its level (it moves four times a second)
// and for the dependency's queue to fill; then long enough for a p99 of thousands of calls.
const WARMUP_SECONDS = countFromEnv('BENCH_WARMUP_SECONDS', 4);
const SECONDS = countFromEnv('BENCH_SECONDS', 10);
const RATE_SECONDS = countFromEnv('BENCH_RATE_SECONDS', 10);
const VARIANT_SCRIPT = fileURLToPath(new URL('./variant.js', import.meta.url));
// build/bench/overload/ -> the repository's bench/results/, beside BENCHMARKS.md's links.
const CHART_DIR = process.env['BENCH_OVERLOAD_CHARTS'] || fileURLToPath(new URL('../../../bench/results/', import.meta.url));

const execFileAsync = promisify(execFile);

// Asynchronous: the HTTP servers the child calls live in this process's event loop.
async function runSetting(kind: Dependency | 'rate', setting: Setting, target: string, ratePerSecond: number, warmupSeconds: number, seconds: number): Promise<StepResult> {
  const args = [VARIANT_SCRIPT, kind, setting, target, String(ratePerSecond), String(warmupSeconds), String(seconds)];
  const { stdout } = await execFileAsync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as StepResult;
}

interface Dependent {
  url: string;
  drained(): Promise<void>;
  takeStats?(): WorkerPoolStats;
}

async function dependencyOf(dependency: Dependency): Promise<Dependent & { close(): Promise<void> }> {
  if (dependency === 'http') return capacityHttpServer();
  return { ...(await limitedPgServer()), close: async () => {} };
}

/** Every step and variant against one dependency; the server's own counts at each step go to `serverNotes`. */
async function measureDependency(dependency: Dependency, server: Dependent, serverNotes: string[]): Promise<Map<Variant, StepResult[]>> {
  const results = new Map<Variant, StepResult[]>(VARIANTS.map((v) => [v, []]));
  for (const load of LOAD_STEPS) {
    const rate = Math.round(load * capacityPerSecond(dependency));
    for (const variant of VARIANTS) {
      await server.drained();
      server.takeStats?.();
      process.stderr.write(`${process.version} ${dependency}: ${load}x (${rate}/s), ${variant}\n`);
      results.get(variant)!.push(await runSetting(dependency, variant, server.url, rate, WARMUP_SECONDS, SECONDS));
      const stats = server.takeStats?.();
      if (stats !== undefined && load === LOAD_STEPS[LOAD_STEPS.length - 1]) {
        const perSecond = (n: number): string => (n / (WARMUP_SECONDS + SECONDS)).toFixed(0);
        serverNotes.push(`${dependency} at ${load}x, ${variant}: the server received ${perSecond(stats.received)} requests/s, answered ${perSecond(stats.served)}/s, shed ${perSecond(stats.shed)}/s with 503; its queue peaked at ${stats.maxQueued}`);
      }
    }
  }
  return results;
}

async function measureRateLimits(): Promise<RateRun[]> {
  const server = await rateLimitedServer();
  const runs: RateRun[] = [];
  try {
    for (const mode of RATE_MODES) {
      for (const variant of RATE_VARIANTS) {
        server.reset(mode);
        const rate = RATE_OFFERED_FACTOR * RATE_LIMIT_PER_SECOND;
        process.stderr.write(`${process.version} rate: ${mode}, ${variant} (${rate}/s)\n`);
        const client = await runSetting('rate', variant, server.url, rate, 0, RATE_SECONDS);
        const arrivals = server.arrivals();
        const until = arrivals.length > 0 ? arrivals[0]!.at + RATE_SECONDS * 1000 : 0;
        runs.push({
          mode,
          variant,
          windows: attemptWindows(arrivals, until),
          client,
        });
      }
    }
  } finally {
    await server.close();
  }
  return runs;
}

function describeRun(parts: readonly string[]): string {
  const lines: string[] = [];
  if (parts.includes('http'))
    lines.push(`HTTP: ${HTTP_WORKERS} workers × ${HTTP_WORK_MS} ms a request (a timer) = ${capacityPerSecond('http')} requests/s; a FIFO queue beyond that, 503 for a request that waited over ${HTTP_SHED_AFTER_MS} ms.`);
  if (parts.includes('pg'))
    lines.push(`pg: max_connections ${PG_MAX_CONNECTIONS} (${PG_SLOTS} for the benchmark's role), \`SELECT pg_sleep(${PG_SLEEP_MS / 1000})\` = ${capacityPerSecond('pg')} queries/s at most; pools of ${PG_POOL_MAX}.`);
  if (parts.includes('http') || parts.includes('pg'))
    lines.push(`Offered load ${LOAD_STEPS.map((l) => `${l}x`).join(', ')} of capacity, open-loop; per step and variant a fresh process, ${WARMUP_SECONDS} s warm-up then ${SECONDS} s measured.`);
  if (parts.includes('http') || parts.includes('rate'))
    lines.push(`HTTP client: ${httpClientFromEnv() === 'fetch' ? 'global fetch' : "node:http's `http.get` with a keep-alive agent"} (BENCH_HTTP_CLIENT=${httpClientFromEnv()}).`);
  if (parts.includes('rate'))
    lines.push(`Rate limits: a server with a stated rate of ${RATE_LIMIT_PER_SECOND}/s (token bucket of one second), offered ${RATE_OFFERED_FACTOR * RATE_LIMIT_PER_SECOND} calls/s for ${RATE_SECONDS} s.`);
  const passedThrough = Object.keys(process.env).filter((name) => name.startsWith('BREAKWATER_'));
  const env = { ...CALL_ENV, ...Object.fromEntries(passedThrough.map((name) => [name, process.env[name]!])) };
  lines.push(`Every call: ${Object.entries(env).map(([name, value]) => `${name}=${value}`).join(' ')}; otherwise breakwater's defaults. Load average at start: ${loadAverage()}.`);
  return lines.join(' ');
}

async function main(): Promise<void> {
  const parts = chosenFromArgs(PARTS, 'part');
  const started = process.hrtime.bigint();
  mkdirSync(CHART_DIR, { recursive: true });
  const raw: Record<string, unknown> = {};
  console.log(`#### Node ${process.version}\n`);
  console.log(describeRun(parts));
  try {
    for (const dependency of DEPENDENCIES.filter((d) => parts.includes(d))) {
      const server = await dependencyOf(dependency);
      const serverNotes: string[] = [];
      try {
        const results = await measureDependency(dependency, server, serverNotes);
        raw[dependency] = Object.fromEntries(results);
        const checks = checkTargets(dependency, results);
        // The node:http run's chart beside fetch's, not over it.
        const chart = path.join(CHART_DIR, `overload-${dependency}${dependency === 'http' && httpClientFromEnv() === 'node-http' ? '-node-http' : ''}.png`);
        writeOverloadChart(chart, dependency, results, unloadedP99(results).p99Ms);
        console.log(`\n##### ${dependencyLabel(dependency)}\n`);
        console.log(overloadTable(dependency, results, WARMUP_SECONDS));
        console.log('');
        const notes = [...checks.map((check) => targetLine(dependency, check)), ...serverNotes, `chart: ${path.relative(process.cwd(), chart)}`];
        for (const note of notes) console.log(`- ${note}`);
      } finally {
        await server.close();
      }
    }
    if (parts.includes('rate')) {
      const runs = await measureRateLimits();
      raw['rate'] = runs;
      console.log(`\n##### Rate limits: ${RATE_LIMIT_PER_SECOND}/s stated, ${RATE_OFFERED_FACTOR * RATE_LIMIT_PER_SECOND} calls/s offered\n`);
      console.log(rateTable(runs));
      console.log('');
      for (const run of runs) {
        const { first429AfterMs, perSecond } = run.windows;
        const from = first429AfterMs === undefined ? 'no 429; from the first request' : `first 429 after ${(first429AfterMs / 1000).toFixed(2)} s`;
        console.log(`- ${RATE_MODE_LABELS[run.mode]}, fromHeaders ${run.variant === 'headers-on' ? 'on' : 'off'}: ${from}; attempts in each second: ${perSecond.join(', ')}`);
      }
    }
  } finally {
    await stopAllServers();
    const rawFile = path.join(os.tmpdir(), 'breakwater-bench-overload.json');
    writeFileSync(rawFile, JSON.stringify(raw));
    process.stderr.write(`every figure: ${rawFile}\n`);
  }
  console.log('');
  console.log(elapsedLine(started));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
