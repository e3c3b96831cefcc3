// The application the end-to-end test scrapes: run as
//   node --require breakwater/register build/test/e2e/metrics-app.js
// with OTEL_METRICS_EXPORTER=prometheus, so the OpenTelemetry Node SDK that register
// starts serves breakwater's metrics to Prometheus. It calls each URL of E2E_TARGETS in
// its own loop, one call at a time, until the test ends it with SIGTERM (register then
// flushes and ends the process as the signal would).
//
// Each fetch is wrapped as the fetch adapter wraps one (its attempt feeds the
// conventions' http.client.request.duration), through the runtime register installed:
// the HTTP dependencies' target keys and failures stay exactly what the test set up.
// With E2E_PG_URL the app also queries a healthy PostgreSQL through the real pg adapter
// (BREAKWATER_INSTRUMENTATIONS=pg), which feeds db.client.operation.duration. Calls to
// the URLs of E2E_HEDGED_TARGETS are hedged (HEDGE below), so resilience.hedges has data.
// The URLs of E2E_LIMITED_TARGETS are called through a policy built here with both
// limits (LIMITED below: the configuration has no variables for them), in bursts they
// turn away, so resilience.limited and the concurrency gauges have data.
import { createRequire } from 'node:module';

interface Attempt {
  signal: AbortSignal;
  annotate(span: Record<string, unknown> | undefined, metric?: Record<string, unknown>): void;
  readonly wantsRateLimit: boolean;
  reportRateLimit(headers: (name: string) => string | undefined, status: number): void;
}

/** What runs a call: the runtime (its policies from the configuration), or a policy built here. */
interface Executor {
  execute<T>(
    operation: (attempt: Attempt) => Promise<T>,
    options: {
      target: string;
      client: string;
      idempotent: boolean;
      method: string;
      failureOf: (result: T) => unknown;
      attemptSpan: { name: string; kind: number; attributes: Record<string, unknown>; duration: { kind: 'http'; attributes: Record<string, unknown> } };
      hedge?: { delayMs: number; budgetRatio: number };
    },
  ): Promise<T>;
}

interface Runtime extends Executor {
  readonly patterns: unknown;
}

// The CommonJS copy, the one register loaded; the runtime is shared through globalThis anyway.
const breakwater = createRequire(import.meta.url)('breakwater') as {
  currentRuntime(): Runtime | undefined;
  createPolicy(options: Record<string, unknown>): Executor;
  feedPolicy(policy: Executor, detector: unknown): () => void;
};
const runtime = breakwater.currentRuntime();
if (runtime === undefined) {
  process.stderr.write('metrics-app: no breakwater runtime: run it with --require breakwater/register\n');
  process.exit(2);
}

const targets = JSON.parse(process.env['E2E_TARGETS'] ?? '[]') as string[];
const hedged = new Set(JSON.parse(process.env['E2E_HEDGED_TARGETS'] ?? '[]') as string[]);
/**
 * A backup attempt after 5 ms without an answer. The budget keeps hedges (with any
 * retries) within half the first attempts: never a retry storm (more than 0.5) of its own.
 */
const HEDGE = { delayMs: 5, budgetRatio: 0.5 };
const pauseMs = Number(process.env['E2E_PAUSE_MS'] ?? 100);
const limitedUrls = JSON.parse(process.env['E2E_LIMITED_TARGETS'] ?? '[]') as string[];
/**
 * One attempt in flight and no queue: the second of two calls sent together is turned away
 * (concurrency). A 429's Retry-After pauses the target, with no wait allowed: an attempt
 * during the pause is turned away (rate). No retries, so each call is one attempt.
 */
const LIMITED = breakwater.createPolicy({
  name: 'limited',
  retry: false,
  breaker: false,
  timeoutMs: 300,
  concurrencyLimit: { initialLimit: 1, minLimit: 1, maxLimit: 1, maxQueue: 0 },
  rateLimit: { fromHeaders: true, maxWaitMs: 0 },
});
// The runtime's detector sees this policy's calls as it sees its own policies'.
if (runtime.patterns !== undefined) breakwater.feedPolicy(LIMITED, runtime.patterns);
/** Between two bursts to the limited targets: few enough turned away to keep the other dependencies' error ratio under 2% (segmented). */
const LIMITED_PAUSE_MS = 3000;

const CLIENT_SPAN = 2; // SpanKind.CLIENT

async function callOnce(url: string, executor: Executor = runtime!): Promise<void> {
  const target = new URL(url);
  const request = Object.freeze({ 'http.request.method': 'GET', 'server.address': target.hostname, 'server.port': Number(target.port), 'url.scheme': 'http' });
  await executor.execute(
    async (attempt) => {
      const res = await fetch(url, { signal: attempt.signal });
      await res.arrayBuffer(); // frees the connection for the next attempt
      // As the fetch adapter does: the policy follows the dependency's Retry-After.
      if (attempt.wantsRateLimit) attempt.reportRateLimit((name) => res.headers.get(name) ?? undefined, res.status);
      const status = { 'http.response.status_code': res.status };
      attempt.annotate(status, res.status >= 400 ? { ...status, 'error.type': String(res.status) } : status);
      return { status: res.status };
    },
    {
      target: `${target.protocol}//${target.hostname}:${target.port}`,
      client: 'fetch',
      idempotent: true,
      method: 'GET',
      failureOf: (res) => (res.status >= 500 || res.status === 429 ? res : undefined),
      attemptSpan: { name: 'GET', kind: CLIENT_SPAN, attributes: request, duration: { kind: 'http', attributes: request } },
      ...(hedged.has(url) ? { hedge: HEDGE } : {}),
    },
  );
}

async function queryLoop(url: string): Promise<void> {
  const pg = createRequire(import.meta.url)('pg') as { Client: new (options: { connectionString: string }) => { connect(): Promise<void>; query(text: string): Promise<unknown> } };
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (;;) {
    await client.query('SELECT 1').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/**
 * Every LIMITED_PAUSE_MS, two calls at once (the second turned away by the concurrency
 * limit), then one more; every tenth time the pair asks the server for a 429 with
 * Retry-After (`?throttle`), and the one more is turned away by the rate limit. A 429
 * also teaches the target a rate (docs/engine.md, "Rate limits") for about 15 s, during
 * which the pair's second call is turned away by the rate, not the concurrency limit:
 * hence a 429 only every 30 s.
 */
async function limitedLoop(url: string): Promise<void> {
  for (let burst = 0; ; burst++) {
    const first = burst % 10 === 0 ? `${url}?throttle` : url;
    await Promise.allSettled([callOnce(first, LIMITED), callOnce(first, LIMITED)]);
    await callOnce(url, LIMITED).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, LIMITED_PAUSE_MS));
  }
}

async function loop(url: string): Promise<void> {
  for (;;) {
    // Failures are the point of the exercise: breakwater records them, the app moves on.
    await callOnce(url).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

// A long-running service collects garbage all the time; a 90-second test may not. With
// --expose-gc and E2E_GC_INTERVAL_MS the app collects on a schedule, so that telemetry
// held only weakly is lost here as it would be in production.
const gc = (globalThis as { gc?: () => void }).gc;
const gcEvery = Number(process.env['E2E_GC_INTERVAL_MS'] ?? 0);
if (gc !== undefined && gcEvery > 0) setInterval(gc, gcEvery).unref();

for (const url of targets) void loop(url);
for (const url of limitedUrls) void limitedLoop(url);
const pgUrl = process.env['E2E_PG_URL'];
if (pgUrl) void queryLoop(pgUrl);
console.log(`ready ${targets.length + limitedUrls.length}`);
