// Shared set-up for the pg adapter's tests: a Runtime from environment-style settings,
// the adapter enabled on pg's shared prototypes, the OpenTelemetry harness, and helpers
// to read spans and metrics the way the assertions need them.
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createRequire } from 'node:module';
import type pgTypes from 'pg';
import { loadConfig } from '../../../src/config/index.js';
import { Runtime } from '../../../src/runtime/runtime.js';
import { createPgAdapter } from '../../../instrumentations/pg/index.js';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { OtelHarness } from '../../helpers/otel.js';

const require = createRequire(import.meta.url);

export const FAST_RETRIES: Record<string, string> = {
  BREAKWATER_RETRY_MAX_ATTEMPTS: '3',
  BREAKWATER_RETRY_BASE_DELAY_MS: '1',
  BREAKWATER_RETRY_MAX_DELAY_MS: '5',
  BREAKWATER_TIMEOUT_MS: '2000',
  BREAKWATER_BREAKER: 'off',
};

export interface PgAdapterHarness {
  readonly runtime: Runtime;
  readonly adapter: Adapter;
  readonly otel: OtelHarness;
  /** pg, required after the adapter was enabled (its prototypes are the shared ones). */
  readonly pg: typeof pgTypes;
  stop(): Promise<void>;
}

export function startPgAdapter(env: Record<string, string> = {}, options: { otel?: boolean } = {}): PgAdapterHarness {
  const otel = new OtelHarness();
  if (options.otel !== false) otel.install();
  const runtime = new Runtime(loadConfig({ ...FAST_RETRIES, ...env }));
  const adapter = createPgAdapter(runtime);
  adapter.enable();
  const pg = require('pg') as typeof pgTypes;
  return {
    runtime,
    adapter,
    otel,
    pg,
    async stop() {
      adapter.disable();
      if (options.otel !== false) await otel.uninstall();
    },
  };
}

/** breakwater's INTERNAL parent spans of pg calls (one per logical call). */
export function parentSpans(spans: readonly ReadableSpan[]): ReadableSpan[] {
  return spans.filter(
    (s) => s.instrumentationScope.name === 'breakwater' && s.attributes['resilience.client'] === 'pg' && s.attributes['db.system.name'] === undefined && s.kind === SpanKind.INTERNAL,
  );
}

/** breakwater's pg attempt spans (they carry the db.* attributes), in attempt order. */
export function attemptSpans(spans: readonly ReadableSpan[]): ReadableSpan[] {
  return spans
    .filter((s) => s.instrumentationScope.name === 'breakwater' && s.attributes['db.system.name'] === 'postgresql')
    .sort((a, b) => (a.attributes['resilience.attempt'] as number) - (b.attributes['resilience.attempt'] as number));
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to fail');
}
