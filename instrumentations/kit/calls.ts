import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import type { Context, TextMapSetter } from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';
import { INSTRUMENTATION_SCOPE } from '../../src/telemetry/names.js';
import { anyProviderRegistered } from '../../src/telemetry/providers.js';
import { scheduleOutermostCheck } from './outermost.js';

/**
 * What every adapter does around the client's original method, so that with or
 * without an official OpenTelemetry instrumentation for the same client there is one
 * CLIENT span and one `traceparent` per attempt (design.md section 4):
 *
 * - breakwater's attempt span is the CLIENT span, and the adapter injects its context
 *   into the attempt's request headers itself;
 * - the original method runs under a context with tracing suppressed, so an official
 *   instrumentation wrapped inside breakwater (or listening on diagnostics channels,
 *   like undici's) records nothing and injects nothing for that attempt;
 * - when an official instrumentation patches the client after breakwater did, breakwater
 *   puts a fresh wrapper of its own over it (kit/outermost.ts), so it stays outermost;
 * - until then (a call made before the re-layering could run, or an instrumentation that
 *   wraps at call time), that instrumentation's CLIENT span is already active when the
 *   call reaches breakwater: the attempt spans are then INTERNAL, so the trace still holds
 *   a single CLIENT span for the call, and the next calls are re-layered.
 */

/**
 * Calls made while tracing is suppressed are the OpenTelemetry SDK's own exports, or a
 * nested call inside one of breakwater's attempts: adapters pass them straight through.
 */
export function shouldPassThrough(active: Context = context.active()): boolean {
  return originalDepth > 0 || isTracingSuppressed(active);
}

/**
 * How many callOriginal calls are running on the stack. Suppressed tracing marks a
 * nested call only while a context manager carries it: with no OpenTelemetry SDK
 * registered `context.with` keeps nothing, and a `Pool.query` attempt's own
 * `client.query` would be wrapped again (an execute inside each attempt: its own
 * retries and breaker counts). Clients enter their wrapped methods synchronously from
 * the original, so a depth count catches that case whatever the context manager.
 */
let originalDepth = 0;

interface RecordingSpanShape {
  kind?: unknown;
  instrumentationScope?: { name?: unknown };
  isRecording?: () => boolean;
}

/** CLIENT unless another instrumentation's CLIENT span is already active (see above). */
export function attemptSpanKind(active: Context = context.active()): SpanKind {
  const span = trace.getSpan(active) as RecordingSpanShape | undefined;
  if (span === undefined) return SpanKind.CLIENT;
  try {
    const foreignClient =
      span.kind === SpanKind.CLIENT && span.isRecording?.() === true && span.instrumentationScope?.name !== INSTRUMENTATION_SCOPE;
    if (!foreignClient) return SpanKind.CLIENT;
    scheduleOutermostCheck();
    return SpanKind.INTERNAL;
  } catch {
    return SpanKind.CLIENT;
  }
}

/** Runs the client's original method with tracing suppressed (see above). */
export function callOriginal<R>(fn: () => R): R {
  originalDepth++;
  try {
    // With no OpenTelemetry global registered there is no context manager to carry the
    // suppression (and no instrumentation that would read it): the depth count is enough.
    return anyProviderRegistered() ? context.with(suppressTracing(context.active()), fn) : fn();
  } finally {
    originalDepth--;
  }
}

/** Writes the active context (the attempt's span) into a carrier with the global propagator. */
export function injectContext<C>(carrier: C, setter?: TextMapSetter<C>): void {
  try {
    propagation.inject(context.active(), carrier, setter);
  } catch {
    // a propagator that throws must not fail the call
  }
}

/**
 * Binds a callback of the caller to the context the caller was in, so that code the
 * client calls back (a response handler, a pg callback) does not run in an attempt's
 * suppressed context, where its own outbound calls would pass through unprotected.
 */
export function bindToCaller<F extends (...args: never[]) => unknown>(callerContext: Context, fn: F): F {
  return context.bind(callerContext, fn);
}
