// Shared set-up for the pg adapter's tests: a Runtime from environment-style settings,
// the adapter enabled on pg's shared prototypes, the OpenTelemetry harness, and helpers
// to read spans and metrics the way the assertions need them.
import { SpanKind } from '@opentelemetry/api';
import { expect } from 'chai';
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

/**
 * breakwater's INTERNAL call spans of pg calls: opt-in (BREAKWATER_CALL_SPANS), so the
 * default shape has none.
 */
export function internalCallSpans(spans: readonly ReadableSpan[]): ReadableSpan[] {
  return spans.filter(
    (s) => s.instrumentationScope.name === 'breakwater' && s.attributes['resilience.client'] === 'pg' && s.attributes['db.system.name'] === undefined && s.kind === SpanKind.INTERNAL && s.name !== 'resilience.rejected',
  );
}

/** breakwater's pg attempt spans (they carry the db.* attributes), in attempt order. */
export function attemptSpans(spans: readonly ReadableSpan[]): ReadableSpan[] {
  return spans
    .filter((s) => s.instrumentationScope.name === 'breakwater' && s.attributes['db.system.name'] === 'postgresql')
    .sort((a, b) => (a.attributes['resilience.attempt'] as number) - (b.attributes['resilience.attempt'] as number));
}

/**
 * The logical pg calls, each as its attempt spans (and rejection span) in order: with one
 * span per attempt and no call span, a call is the run of spans numbered 1, 2, ... n
 * (`resilience.attempt`), in the order they ended (an attempt ends before the next one
 * starts). For calls made one after the other.
 */
export function logicalCalls(spans: readonly ReadableSpan[]): ReadableSpan[][] {
  const calls: ReadableSpan[][] = [];
  for (const span of spans) {
    if (span.instrumentationScope.name !== 'breakwater' || span.attributes['resilience.client'] !== 'pg') continue;
    const number = span.attributes['resilience.attempt'];
    if (typeof number !== 'number') continue;
    const current = calls.at(-1);
    if (number === 1 || current === undefined) calls.push([span]);
    else {
      expect(number, 'attempts of a call are numbered in order').to.equal(current.length + 1);
      current.push(span);
    }
  }
  return calls;
}

/** The last span of each call: it carries the call's outcome and why no retry followed (if none did). */
export function lastAttempts(spans: readonly ReadableSpan[]): ReadableSpan[] {
  return logicalCalls(spans).map((call) => call.at(-1)!);
}

/** Why retries were suppressed, one entry per call that had a suppressed retry. */
export function suppressions(spans: readonly ReadableSpan[]): unknown[] {
  return lastAttempts(spans)
    .map((s) => s.attributes['resilience.retry.suppressed'])
    .filter((reason) => reason !== undefined);
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
