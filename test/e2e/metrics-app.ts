// The application the end-to-end test scrapes: run as
//   node --require breakwater/register build/test/e2e/metrics-app.js
// with OTEL_METRICS_EXPORTER=prometheus, so the OpenTelemetry Node SDK that register
// starts serves breakwater's metrics to Prometheus. It calls each URL of E2E_TARGETS in
// its own loop, one call at a time, until the test ends it with SIGTERM (register then
// flushes and ends the process as the signal would).
//
// Each fetch is wrapped exactly as the fetch adapter wraps one, through the runtime
// register installed: the e2e must not depend on which adapters are merged, and
// BREAKWATER_INSTRUMENTATIONS=none keeps the adapters out of it entirely.
import { createRequire } from 'node:module';

interface Runtime {
  execute<T>(
    operation: (attempt: { signal: AbortSignal }) => Promise<T>,
    options: { target: string; client: string; idempotent: boolean; method: string; failureOf: (result: T) => unknown },
  ): Promise<T>;
}

// The CommonJS copy, the one register loaded; the runtime is shared through globalThis anyway.
const breakwater = createRequire(import.meta.url)('breakwater') as { currentRuntime(): Runtime | undefined };
const runtime = breakwater.currentRuntime();
if (runtime === undefined) {
  process.stderr.write('metrics-app: no breakwater runtime: run it with --require breakwater/register\n');
  process.exit(2);
}

const targets = JSON.parse(process.env['E2E_TARGETS'] ?? '[]') as string[];
const pauseMs = Number(process.env['E2E_PAUSE_MS'] ?? 100);

async function callOnce(url: string): Promise<void> {
  const target = new URL(url);
  await runtime!.execute(
    async ({ signal }) => {
      const res = await fetch(url, { signal });
      await res.arrayBuffer(); // frees the connection for the next attempt
      return { status: res.status };
    },
    {
      target: `${target.protocol}//${target.hostname}:${target.port}`,
      client: 'fetch',
      idempotent: true,
      method: 'GET',
      failureOf: (res) => (res.status >= 500 ? res : undefined),
    },
  );
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
console.log(`ready ${targets.length}`);
