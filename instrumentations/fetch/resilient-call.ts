import { context, SpanKind } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Attempt } from '../../src/engine/attempt.js';
import type { ReplayDecision } from '../../src/engine/policy.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { attemptSpanKind, callOriginal, injectContext } from '../kit/calls.js';
import { fetchAttemptSpan, responseAttributes } from './attributes.js';
import { attemptContext, officialRecordsDuration } from './diagnostics.js';

export const CLIENT = 'fetch';

/** One logical request, as the fetch and undici wrappers describe it to the runner. */
export interface RequestPlan<R> {
  target: string;
  method: string;
  /** The method as undici sends it (fetch upper-cases the standard ones), as the span records it. */
  sentMethod: string;
  /** The caller's AbortSignal, if any. */
  callerSignal: AbortSignal | undefined;
  canReplay(failure: unknown): ReplayDecision;
  /** A read two copies of which may run at once (instrumentations/http/replay.ts isHedgeableRequest). */
  hedgeable: boolean;
  /** The HTTP status of a response. */
  statusOf(response: R): number | undefined;
  /** A response's header by lower-case name (for the dependency's rate-limit headers). */
  headerOf(response: R, name: string): string | string[] | undefined;
  /** Frees a response the caller will never see, so its connection goes back to the pool. */
  discard(response: R): void;
  /**
   * Sends one attempt with the client's original function: `propagation` holds the
   * attempt's trace headers to add to a copy of the request's headers, `signal` must be
   * the request's signal.
   */
  send(propagation: Record<string, string>, signal: AbortSignal): Promise<R>;
}

/** A status the classifier should judge: 4xx and 5xx. The classifier decides what is transient. */
function isFailedStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400;
}

/**
 * Runs a request under the target's policy, one fresh call of the original function
 * per attempt. A failed response (a 503) is a failure the engine may retry; the one it
 * retries past is discarded (its body cancelled) before the next attempt, and when the
 * engine gives up the caller gets the last response untouched, as without breakwater.
 */
export function runResilient<R>(runtime: Runtime, plan: RequestPlan<R>): Promise<R> {
  const callerSignal = plan.callerSignal;
  // The last failed response: handed to the caller if the engine gives up on it,
  // discarded otherwise.
  let pendingFailure: R | undefined;
  const failureOf = (response: R): unknown => (isFailedStatus(plan.statusOf(response)) ? response : undefined);
  // Without an SDK nothing is recorded: no attempt for the diagnostics channels to find.
  const telemetry = runtime.telemetryActive();

  const operation = (attempt: Attempt): Promise<R> => {
    if (pendingFailure !== undefined) {
      plan.discard(pendingFailure);
      pendingFailure = undefined;
    }
    const propagation: Record<string, string> = {};
    injectContext(propagation); // the attempt span is the active context here
    const signal = callerSignal === undefined ? attempt.signal : AbortSignal.any([callerSignal, attempt.signal]);
    const sent = telemetry
      ? context.with(attemptContext(suppressTracing(context.active()), attempt), () => plan.send(propagation, signal))
      : callOriginal(() => plan.send(propagation, signal));
    return sent.then((response) => {
      const status = plan.statusOf(response);
      if (attempt.wantsRateLimit) attempt.reportRateLimit((name) => plan.headerOf(response, name), status);
      if (status !== undefined && telemetry) {
        const result = responseAttributes(status);
        attempt.annotate(result.span, result.metric);
      }
      if (isFailedStatus(status)) {
        // Past the attempt's timeout (or cancelled, another attempt having answered) the engine has moved on: nobody will read this one.
        if (attempt.signal.aborted) plan.discard(response);
        else {
          // A hedged call can see two failed responses before it decides: only the last may reach the caller.
          if (pendingFailure !== undefined) plan.discard(pendingFailure);
          pendingFailure = response;
        }
      }
      return response;
    });
  };

  return runtime
    .execute(operation, {
      target: plan.target,
      client: CLIENT,
      method: plan.method,
      signal: callerSignal,
      canReplay: (failure) => plan.canReplay(failure),
      hedgeable: plan.hedgeable,
      failureOf,
      attemptSpan: fetchAttemptSpan(plan.sentMethod, plan.target, telemetry ? attemptSpanKind(context.active()) : SpanKind.CLIENT, !(telemetry && officialRecordsDuration())),
    })
    .then(
      (result) => {
        if (pendingFailure !== undefined && pendingFailure !== result) plan.discard(pendingFailure);
        return result;
      },
      (error: unknown) => {
        if (pendingFailure !== undefined) plan.discard(pendingFailure);
        throw error;
      },
    );
}
