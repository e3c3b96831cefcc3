// One benchmark process: sets up OpenTelemetry as an application would, enables the
// variant's instrumentation (none, the official one, breakwater's, both, or breakwater's
// with no SDK registered), warms up, then times sequential calls of one client against a
// local server and prints wall and CPU ns per call as JSON.
// Each variant runs in its own process because instrumentation patches modules globally.
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import type { Instrumentation as OtelInstrumentation } from '@opentelemetry/instrumentation';
import { MeterProvider, PeriodicExportingMetricReader, AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADAPTERS } from '../../instrumentations/index.js';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { Instrumentation } from '../../src/config/index.js';
import { BatchedHistogram } from '../../src/telemetry/batched-histogram.js';
import { ATTR_CLIENT, ATTR_OUTCOME, ATTR_POLICY, ATTR_TARGET, DURATION_BUCKETS_S, INSTRUMENTATION_SCOPE, METRIC_OPERATION_DURATION } from '../../src/telemetry/names.js';
import { VARIANTS } from './cases.js';
import type { Client, Measurement, Variant } from './cases.js';

const require = createRequire(import.meta.url);

/** Spans are batched and dropped: the cost of recording them, without an exporter's I/O. */
class DiscardingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function installSdk(): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DiscardingExporter())] }));
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
}

function officialInstrumentation(client: Client): OtelInstrumentation {
  switch (client) {
    case 'http': {
      const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
      return new HttpInstrumentation();
    }
    case 'fetch': {
      const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici');
      return new UndiciInstrumentation();
    }
    case 'pg': {
      const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg');
      return new PgInstrumentation();
    }
    case 'ioredis': {
      const { IORedisInstrumentation } = require('@opentelemetry/instrumentation-ioredis');
      // Its default (requireParentSpan: true) records nothing for a call made outside a span,
      // as every call of this harness is: it would be timed doing nothing.
      return new IORedisInstrumentation({ requireParentSpan: false });
    }
    case 'redis': {
      const { RedisInstrumentation } = require('@opentelemetry/instrumentation-redis');
      return new RedisInstrumentation();
    }
  }
}

function enableBreakwater(client: Client): void {
  // Retries and breaker as configured by default; only the success path is timed. The
  // caller's BREAKWATER_* variables pass through, so a switch can be measured too.
  const runtime = new Runtime(loadConfig({ ...process.env, BREAKWATER_INSTRUMENTATIONS: client }));
  ADAPTERS[client as Instrumentation](runtime).enable();
}

/** A function making one call of the client, set up against `target`. */
async function callFor(client: Client, target: string): Promise<{ call: () => Promise<unknown>; close: () => Promise<void> }> {
  switch (client) {
    case 'http': {
      const http = require('node:http') as typeof import('node:http');
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const call = () =>
        new Promise<void>((resolve, reject) => {
          http
            .get(target, { agent }, (res) => {
              res.resume();
              res.on('end', resolve);
            })
            .on('error', reject);
        });
      return { call, close: async () => agent.destroy() };
    }
    case 'fetch': {
      const call = async () => {
        const res = await fetch(target);
        await res.arrayBuffer();
      };
      return { call, close: async () => {} };
    }
    case 'pg': {
      const pg = require('pg') as typeof import('pg');
      const db = new pg.Client({ connectionString: target });
      await db.connect();
      return { call: () => db.query('SELECT 1'), close: () => db.end() };
    }
    case 'ioredis': {
      const Redis = require('ioredis') as typeof import('ioredis').default;
      const redis = new Redis(target);
      await redis.set('bench:key', 'value');
      return { call: () => redis.get('bench:key'), close: async () => void redis.disconnect() };
    }
    case 'redis': {
      const { createClient } = require('redis') as typeof import('redis');
      const redis = createClient({ url: target });
      await redis.connect();
      await redis.set('bench:key', 'value');
      return { call: () => redis.get('bench:key'), close: async () => void (await redis.quit()) };
    }
  }
}

/**
 * The call, plus what breakwater records beyond the official instrumentation on a
 * success: the logical call's duration, on the same histogram with the same attribute
 * set, read from the same clock, batched the same way (variant `official-plus-duration`,
 * cases.ts).
 */
function withCallDuration(client: Client, call: () => Promise<unknown>): () => Promise<unknown> {
  const histogram = new BatchedHistogram(
    metrics.getMeter(INSTRUMENTATION_SCOPE).createHistogram(METRIC_OPERATION_DURATION, { unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS_S } }),
  );
  // A label of the length breakwater's target labels have; its value does not change the cost.
  const attributes = Object.freeze({ [ATTR_TARGET]: `${client}://127.0.0.1:40000`, [ATTR_CLIENT]: client, [ATTR_POLICY]: 'default', [ATTR_OUTCOME]: 'success' });
  return () => {
    const startedAt = performance.now();
    return call().then((value) => {
      histogram.record((performance.now() - startedAt) / 1000, attributes);
      return value;
    });
  };
}

/**
 * BENCH_ALLOCATION_PROFILE=<file>: V8's sampling heap profile of the measured calls, the
 * objects the GC has since collected included, written as JSON (a .heapprofile Chrome's
 * DevTools opens). For finding what a variant allocates per call; its timings are then
 * not comparable with other runs.
 */
async function startAllocationProfile(file: string | undefined): Promise<{ stop: () => Promise<void> } | undefined> {
  if (file === undefined || file === '') return undefined;
  const inspector = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new inspector.Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
  return {
    stop: async () => {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

// Lets the optimising compiler's background threads finish the jobs the warm-up queued,
// so their CPU time is not billed to the measured calls.
const SETTLE_MS = 50;

async function main(): Promise<void> {
  const [client, variant, target, warmupText, callsText] = process.argv.slice(2) as [Client, Variant, string, string, string];
  const warmup = Number(warmupText);
  const calls = Number(callsText);
  if (!VARIANTS.includes(variant)) throw new Error(`unknown variant ${variant}: one of ${VARIANTS.join(', ')}`);
  if (variant !== 'bare' && variant !== 'breakwater-no-sdk') installSdk();
  // breakwater is enabled first, as `--import breakwater/register` would be; the
  // official instrumentation comes from the application's own set-up, afterwards.
  if (variant === 'breakwater' || variant === 'both' || variant === 'breakwater-no-sdk') enableBreakwater(client);
  if (variant === 'official' || variant === 'official-plus-duration' || variant === 'both') registerInstrumentations({ instrumentations: [officialInstrumentation(client)] });
  const made = await callFor(client, target);
  const call = variant === 'official-plus-duration' ? withCallDuration(client, made.call) : made.call;
  const close = made.close;
  for (let i = 0; i < warmup; i++) await call();
  await sleep(SETTLE_MS);
  // Wall time per call, and this process's CPU time per call (every thread of it: the
  // JIT's and GC's included): on a shared machine the second is the steadier figure,
  // since neither the server nor other work counts in it.
  const allocations = await startAllocationProfile(process.env.BENCH_ALLOCATION_PROFILE);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await call();
  const wallNs = Number(process.hrtime.bigint() - started);
  const cpu = process.cpuUsage(cpuBefore);
  await allocations?.stop();
  await close();
  const measurement: Measurement = { client, variant, calls, wallNsPerCall: wallNs / calls, cpuNsPerCall: ((cpu.user + cpu.system) * 1000) / calls, userCpuNsPerCall: (cpu.user * 1000) / calls };
  process.stdout.write(JSON.stringify(measurement) + '\n');
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
