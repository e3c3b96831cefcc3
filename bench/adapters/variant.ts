// One benchmark process: sets up OpenTelemetry as an application would, enables the
// variant's instrumentation (none, the official one, breakwater's, or both), then times
// sequential calls of one client against a local server and prints ns per call as JSON.
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
import { ADAPTERS } from '../../instrumentations/index.js';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { Instrumentation } from '../../src/config/index.js';

const require = createRequire(import.meta.url);

export type Variant = 'bare' | 'official' | 'breakwater' | 'both';
export type Client = 'http' | 'fetch' | 'pg' | 'ioredis' | 'redis';

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
  // Retries and breaker as configured by default; only the success path is timed.
  const runtime = new Runtime(loadConfig({ BREAKWATER_INSTRUMENTATIONS: client }));
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

async function main(): Promise<void> {
  const [client, variant, target, callsText] = process.argv.slice(2) as [Client, Variant, string, string];
  const calls = Number(callsText);
  // BENCH_NO_SDK=1: the adapters alone, no telemetry (to tell the adapter's cost from the SDK's).
  if (variant !== 'bare' && process.env.BENCH_NO_SDK !== '1') installSdk();
  // breakwater is enabled first, as `--import breakwater/register` would be; the
  // official instrumentation comes from the application's own set-up, afterwards.
  if (variant === 'breakwater' || variant === 'both') enableBreakwater(client);
  if (variant === 'official' || variant === 'both') registerInstrumentations({ instrumentations: [officialInstrumentation(client)] });
  const { call, close } = await callFor(client, target);
  for (let i = 0; i < Math.min(500, calls); i++) await call();
  // Wall time per call, and this process's CPU time per call: on a shared machine the
  // second is the steadier figure (the server and other work do not count in it).
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await call();
  const ns = Number(process.hrtime.bigint() - started) / calls;
  const cpu = process.cpuUsage(cpuBefore);
  await close();
  process.stdout.write(JSON.stringify({ client, variant, nsPerCall: ns, cpuNsPerCall: ((cpu.user + cpu.system) * 1000) / calls }) + '\n');
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
