// Shared by the Redis adapters' hedging tests: a Runtime whose policy hedges, the
// server's own count of a command (INFO commandstats, which sees the twin's copies too),
// and what the tests read of spans, metrics and child processes.
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { runChild } from './child.js';
import type { FaultProxy } from './fault-proxy.js';
import { eventually } from './ioredis-faults.js';
import type { OtelHarness } from './otel.js';

/** A Runtime whose policies hedge after HEDGE_DELAY_MS within `budgetRatio` (HEDGING_ENV, then `env`). */
export function hedgingRuntime(budgetRatio: number, env: Record<string, string> = {}): Runtime {
  return new Runtime(
    loadConfig({
      ...HEDGING_ENV,
      BREAKWATER_HEDGE: 'true',
      BREAKWATER_HEDGE_DELAY_MS: String(HEDGE_DELAY_MS),
      BREAKWATER_HEDGE_BUDGET_RATIO: String(budgetRatio),
      ...env,
    }),
  );
}

/** How many times the server ran `command` (`get`), from `INFO commandstats` text. */
export function commandCalls(info: string, command: string): number {
  const match = new RegExp(`^cmdstat_${command.toLowerCase()}:calls=(\\d+)`, 'm').exec(info);
  return match === null ? 0 : Number(match[1]);
}

/**
 * Kills a client's twin on the server (the newest connection: opened after its client's),
 * through `command` on another connection; then checks that reads still answer `value`
 * and that a later one is hedged over one new twin, through `proxy`.
 */
export async function expectLostTwinReplaced(
  harness: { proxy: FaultProxy; otel: OtelHarness },
  command: (args: string[]) => Promise<unknown>,
  read: () => Promise<unknown>,
  value: string,
): Promise<void> {
  const { proxy, otel } = harness;
  const connections = proxy.stats().connections;
  const own = Number(await command(['CLIENT', 'ID']));
  const ids = [...String(await command(['CLIENT', 'LIST'])).matchAll(/^id=(\d+) /gm)].map((m) => Number(m[1])).filter((id) => id !== own);
  await command(['CLIENT', 'KILL', 'ID', String(Math.max(...ids))]);
  await eventually(() => proxy.stats().open === 1, 5000, 'the twin closed');
  expect(await read(), 'answered on the client\'s connection').to.equal(value);
  for (let i = 0; i < 10 && !otel.spans().some(isHedge); i++) {
    otel.reset();
    expect(await read()).to.equal(value);
  }
  expect(otel.spans().filter(isHedge), 'a read hedged over the new twin').to.have.length(1);
  expect(proxy.stats().connections - connections, 'one new twin').to.equal(1);
  expect(proxy.stats().open).to.equal(2);
}

/** The TCP sockets this process holds open (handles, not requests). */
export function openSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
}

/** Each way: a reply on a connection the proxy stalls comes twice this late. */
export const STALL_MS = 200;
export const HEDGE_DELAY_MS = 30;

/** What the hedging tests' runtimes share: quick retries, no breaker, time for a stalled reply. */
export const HEDGING_ENV: Readonly<Record<string, string>> = {
  BREAKWATER_RETRY_BASE_DELAY_MS: '1',
  BREAKWATER_RETRY_MAX_DELAY_MS: '5',
  BREAKWATER_TIMEOUT_MS: '3000',
  BREAKWATER_BREAKER: 'off',
  BREAKWATER_RETRY_BUDGET_RATIO: '1',
};

/** breakwater's attempt span of a GET. */
export const isGet = (s: ReadableSpan): boolean => s.instrumentationScope.name === 'breakwater' && s.name === 'GET';
/** A backup attempt's span. */
export const isHedge = (s: ReadableSpan): boolean => s.attributes['resilience.hedge'] === true;

/** The attempts of one call, in attempt order: [number, backup?, hedge result, outcome]. */
export function hedgedAttempts(spans: readonly ReadableSpan[]): unknown[][] {
  return [...spans]
    .sort((a, b) => (a.attributes['resilience.attempt'] as number) - (b.attributes['resilience.attempt'] as number))
    .map((s) => [s.attributes['resilience.attempt'], isHedge(s), s.attributes['resilience.hedge.result'], s.attributes['resilience.outcome']]);
}

/** The backups `resilience.hedges` counted for one client library and target. */
export function countedHedges(metric: MetricData | undefined, client: string, target: string): number {
  return (metric?.dataPoints ?? [])
    .filter((p) => p.attributes['resilience.client'] === client && p.attributes['resilience.target'] === target)
    .reduce((sum, p) => sum + (p.value as number), 0);
}

/** Collects the process's unhandled rejections while `fn` runs (a loser's late reply must cause none). */
export async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return unhandled;
}

/** ./hedge-twin-child.ts, built. */
const CHILD = fileURLToPath(new URL('./hedge-twin-child.js', import.meta.url));

/**
 * Two tests: a child process whose client (of `library`) hedged reads over its twin exits
 * by itself once the client quit, and with the client still connected but its own socket
 * unref'd. The client's own connection goes through `proxy`, stalled; the twin's is clean.
 */
export function itExitsByItself(library: 'ioredis' | 'redis', servers: () => { proxy: FaultProxy; password: string }): void {
  for (const mode of ['quit', 'unref'] as const) {
    it(`the process exits by itself ${mode === 'quit' ? 'once the client quit' : "with the client connected, its own socket unref'd"}: the twin never keeps it alive`, async () => {
      const { proxy, password } = servers();
      await proxy.setFault({ kind: 'delay', ms: STALL_MS, connections: 1 });
      const result = await runChild([CHILD, library, mode], { BW_REDIS: JSON.stringify({ host: proxy.host, port: proxy.port, password }) }, 20_000);
      expect(result.stderr).to.equal('');
      expect([result.code, result.stdout.trim()]).to.deep.equal([0, 'done']);
    });
  }
}
