// One tail-benchmark process: sets up one client in one variant (breakwater's adapter
// without hedging, with adaptive hedging, or no breakwater and the Polly-style hedger),
// warms up, then makes calls at a constant rate and prints each call's latency as JSON.
// Each variant runs in its own process because the adapters patch modules globally, and
// each starts with no latency history, as a freshly deployed service would.
import diagnosticsChannel from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADAPTERS } from '../../instrumentations/index.js';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { nodeHttpClient } from '../node-http-client.js';
import { percentile } from '../stats.js';
import { POLLY_DELAY_MS, SLOW_MS, VARIANTS, type Client, type Phase, type Variant, type VariantResult } from './cases.js';
import { runOpenLoop } from './open-loop.js';
import { pollyHedge } from './polly-hedger.js';
import { HTTP_PATHS, PG_STATEMENTS } from './servers.js';

const require = createRequire(import.meta.url);

/**
 * Far above the one or two connections the load holds on average (200 calls/s times a
 * mean of about 6 ms), so that a burst of slow requests never leaves calls waiting for
 * a connection: that would be a tail of the client's own making, not the dependency's.
 * (undici's pool behind fetch has no limit.)
 */
const PG_POOL_MAX = 50;

/** Longer than a slow request: the requests a call abandoned or lost have landed on the server before it counts. */
const SETTLE_MS = 2 * SLOW_MS + 100;

function enableBreakwater(client: Client, hedge: boolean): void {
  // The caller's BREAKWATER_* variables pass through (BREAKWATER_HEDGE_PERCENTILE=0.97
  // measures another setting); the variant decides only whether hedging is on.
  const adapter = client === 'http' ? 'fetch' : client === 'node-http' ? 'http' : 'pg';
  const env = { ...process.env, BREAKWATER_INSTRUMENTATIONS: adapter, BREAKWATER_HEDGE: String(hedge) };
  ADAPTERS[adapter](new Runtime(loadConfig(env))).enable();
}

async function fetchText(url: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(url, signal ? { signal } : {});
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return text;
}

type Call = (phase: Phase) => Promise<unknown>;

/** Watches this process's garbage-collection pauses until stop(), which returns the longest in ms. */
function watchGcPauses(): { stop(): number } {
  let longest = 0;
  const note = (entries: readonly PerformanceEntry[]): void => {
    for (const entry of entries) longest = Math.max(longest, entry.duration);
  };
  const observer = new PerformanceObserver((list) => note(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop: () => {
      note(observer.takeRecords()); // entries not yet delivered to the callback
      observer.disconnect();
      return longest;
    },
  };
}

interface Setup {
  call: Call;
  close(): Promise<void>;
  /** Connections the client has opened so far: a cancelled loser can cost one (a new TCP connection, for pg a new backend too). */
  connections(): number;
}

/** One call of the client in the variant, what to close afterwards, and its connection count. */
function callFor(client: Client, variant: Variant, target: string): Setup {
  if (variant !== 'polly') enableBreakwater(client, variant === 'adaptive');
  const hedged = <T>(attempt: (signal: AbortSignal) => Promise<T>): Promise<T> => pollyHedge(attempt, { delayMs: POLLY_DELAY_MS, maxHedgedAttempts: 1 });
  if (client === 'http') {
    const url = (phase: Phase) => target + HTTP_PATHS[phase];
    const call: Call = variant === 'polly' ? (phase) => hedged((signal) => fetchText(url(phase), signal)) : (phase) => fetchText(url(phase));
    let connections = 0;
    // undici (behind fetch) announces every connection it opens here.
    diagnosticsChannel.subscribe('undici:client:connected', () => connections++);
    return { call, close: async () => {}, connections: () => connections };
  }
  if (client === 'node-http') {
    const http = nodeHttpClient();
    const getText = async (phase: Phase, signal?: AbortSignal): Promise<string> => {
      const { status, body } = await http.get(target + HTTP_PATHS[phase], signal);
      if (status >= 400) throw new Error(`HTTP ${status}`);
      return body;
    };
    const call: Call = variant === 'polly' ? (phase) => hedged((signal) => getText(phase, signal)) : (phase) => getText(phase);
    return { call, close: async () => http.close(), connections: http.connections };
  }
  // Required after breakwater is enabled, as `--import breakwater/register` would have it.
  const pg = require('pg') as typeof import('pg');
  const pool = new pg.Pool({ connectionString: target, max: PG_POOL_MAX });
  // node-postgres cannot cancel a query of Pool.query: the Polly-style loser runs to its
  // end on the server and its answer is dropped (breakwater sends the server a cancel request).
  const call: Call = variant === 'polly' ? (phase) => hedged(() => pool.query(PG_STATEMENTS[phase])) : (phase) => pool.query(PG_STATEMENTS[phase]);
  let connections = 0;
  pool.on('connect', () => connections++);
  return { call, close: () => pool.end(), connections: () => connections };
}

async function main(): Promise<void> {
  const [client, variant, target, warmupText, callsText, rateText] = process.argv.slice(2) as [Client, Variant, string, string, string, string];
  if (!VARIANTS.includes(variant)) throw new Error(`unknown variant ${variant}: one of ${VARIANTS.join(', ')}`);
  const ratePerSecond = Number(rateText);
  const { call, close, connections } = callFor(client, variant, target);
  // The warm-up runs at the measured rate, so the pools and the adaptive estimate settle at that load.
  await runOpenLoop({ ratePerSecond, count: Number(warmupText), call: () => call('warmup') });
  await sleep(SETTLE_MS);
  const connectionsBefore = connections();
  const gcPauses = watchGcPauses();
  const outcomes = await runOpenLoop({ ratePerSecond, count: Number(callsText), call: () => call('measured') });
  const gcPauseMaxMs = gcPauses.stop();
  await sleep(SETTLE_MS);
  const newConnections = connections() - connectionsBefore;
  await close();
  const failures = outcomes.filter((o) => o.failed);
  const lags = outcomes.map((o) => o.startLagMs).sort((a, b) => a - b);
  const errorSamples = [...new Set(failures.map((o) => String((o.error as Error)?.message ?? o.error)))].slice(0, 3);
  const result: VariantResult = {
    client,
    variant,
    // Microseconds are plenty, and keep the JSON small.
    latenciesMs: outcomes.map((o) => Math.round(o.latencyMs * 1000) / 1000),
    errors: failures.length,
    errorSamples,
    startLagMs: { p99: percentile(lags, 0.99), 'p99.9': percentile(lags, 0.999) },
    newConnections,
    gcPauseMaxMs,
  };
  // Exits at once: keep-alive sockets would otherwise hold the process for seconds.
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
