// One overload-benchmark process: one client with breakwater in one setting (no limit, a
// static bulkhead, the adaptive limit with or without its queue; or, against the rate-limited server, fromHeaders
// off or on) makes calls at a constant rate through a warm-up and a measured part, and
// prints the measured part's figures as JSON. Each setting runs in its own process
// because the adapters patch modules globally, and each starts with no state (no
// limit learnt yet), as a freshly deployed service would; the warm-up, at the measured
// rate, is where the limit finds its level.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { createRequire } from 'node:module';
import { ADAPTERS } from '../../instrumentations/index.js';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { runOpenLoop } from '../tail/open-loop.js';
import { nodeHttpClient } from '../node-http-client.js';
import { CALL_ENV, httpClientFromEnv, PG_POOL_MAX, PG_SLEEP_MS, RATE_VARIANT_ENV, VARIANTS, variantEnv, type Dependency, type LimitSample, type Setting, type StepResult, type Variant } from './cases.js';
import { HttpStatusError, summariseStep } from './summary.js';

const require = createRequire(import.meta.url);

/** How often the adaptive limit is sampled for the trace. */
const TRACE_EVERY_MS = 100;

/** `rate` is the rate-limit experiment: an HTTP client, a fromHeaders setting. */
type Kind = Dependency | 'rate';

function settingEnv(kind: Kind, setting: Setting): Record<string, string> {
  if (kind === 'rate') return RATE_VARIANT_ENV[setting as keyof typeof RATE_VARIANT_ENV];
  if (!VARIANTS.includes(setting as Variant)) throw new Error(`unknown variant ${setting}: one of ${VARIANTS.join(', ')}`);
  return variantEnv(setting as Variant, kind);
}

function enableBreakwater(kind: Kind, setting: Setting): Runtime {
  // A context manager, as the SDK breakwater/register starts (or the application's own)
  // installs: without one, the query a pg Pool.query attempt runs on its client cannot be
  // told apart from the application's (the suppressed context is lost) and is managed a
  // second time, taking a second concurrency slot. No tracer or meter provider: the
  // telemetry is no-op, and the figures are the limits', not the exporters'.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const adapter = kind === 'pg' ? 'pg' : httpClientFromEnv() === 'fetch' ? 'fetch' : 'http';
  // The caller's BREAKWATER_* variables pass through (and may change the call bounds);
  // the setting's own decide what the variant is.
  const env = { ...CALL_ENV, ...process.env, ...settingEnv(kind, setting), BREAKWATER_INSTRUMENTATIONS: adapter };
  const runtime = new Runtime(loadConfig(env));
  ADAPTERS[adapter](runtime).enable();
  return runtime;
}

async function fetchOk(url: string): Promise<void> {
  const res = await fetch(url);
  await res.arrayBuffer();
  if (!res.ok) throw new HttpStatusError(res.status);
}

function callFor(kind: Kind, target: string): () => Promise<unknown> {
  if (kind !== 'pg' && httpClientFromEnv() === 'fetch') return () => fetchOk(target);
  if (kind !== 'pg') {
    const http = nodeHttpClient();
    return async () => {
      const { status } = await http.get(target);
      if (status >= 400) throw new HttpStatusError(status);
    };
  }
  // Required after breakwater is enabled, as `--import breakwater/register` would have it.
  const pg = require('pg') as typeof import('pg');
  const pool = new pg.Pool({ connectionString: target, max: PG_POOL_MAX });
  pool.on('error', () => undefined); // an idle client the server dropped must not end the process
  const sql = `SELECT pg_sleep(${PG_SLEEP_MS / 1000})`;
  return () => pool.query(sql);
}

const round1 = (ms: number | undefined): number | null => (ms === undefined ? null : Math.round(ms * 10) / 10);

/** Samples the adaptive limit of the one target called, if it has one, until stopped. */
function traceLimit(runtime: Runtime, start: number): { samples: LimitSample[]; stop(): void } {
  const samples: LimitSample[] = [];
  const timer = setInterval(() => {
    for (const circuit of runtime.circuits()) {
      const c = circuit.stats.concurrency;
      if (c !== undefined) samples.push([Math.round(performance.now() - start) / 1000, c.limit, c.inFlight, c.queued, round1(c.minRttMs), round1(c.sampleRttMs)]);
    }
  }, TRACE_EVERY_MS);
  return { samples, stop: () => clearInterval(timer) };
}

async function main(): Promise<void> {
  const [kind, setting, target, rateText, warmupText, secondsText] = process.argv.slice(2) as [Kind, Setting, string, string, string, string];
  const ratePerSecond = Number(rateText);
  const warmupSeconds = Number(warmupText);
  const seconds = Number(secondsText);
  const runtime = enableBreakwater(kind, setting);
  const call = callFor(kind, target);
  const start = performance.now();
  const trace = traceLimit(runtime, start);
  // One open loop through warm-up and measured part: a pause between them would let the
  // dependency's queue drain, and the measured part would not start from the steady state.
  const outcomes = await runOpenLoop({ ratePerSecond, count: Math.round(ratePerSecond * (warmupSeconds + seconds)), call });
  trace.stop();
  const result: StepResult = { ...summariseStep(outcomes, outcomes[0]!.scheduledMs + warmupSeconds * 1000, seconds, ratePerSecond), limitTrace: trace.samples };
  // Exits at once: keep-alive sockets and the pool's connections would hold the process.
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
