import { context, SpanKind } from '@opentelemetry/api';
import type { ClientRequest } from 'node:http';
import { idempotencyMark } from '../../src/runtime/idempotency.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { attemptSpanKind, shouldPassThrough } from '../kit/calls.js';
import { fullUrl, httpAttemptSpan, methodAttributes, userAgentOf, type RequestDetails } from './attributes.js';
import { requestTarget, type RequestTarget } from './request-target.js';
import { isPassThroughRequest, readRequestArgs, requestMethod } from './request-options.js';
import type { RequestCall, ResponseCallback } from './request-options.js';
import { ResilientClientRequest } from './resilient-request.js';
import type { RequestFunction, ResilientRequestSetup } from './resilient-request.js';

/** What the patched function knows of its module: the default protocol, and whether the function it wraps records durations itself. */
export interface PatchedModule {
  readonly defaultProtocol: 'http:' | 'https:';
  readonly original: RequestFunction;
  /**
   * An instrumentation patched the module before breakwater (the official one: shimmer
   * marks its wrapper `__wrapped`): it runs inside each attempt, records the attempt's
   * `http.client.request.duration` point itself, so breakwater does not record a second.
   */
  readonly originalRecordsDuration: boolean;
}

/**
 * One call of the patched `http.request` / `https.request`: either the original, as
 * is (calls breakwater must not touch), or a ResilientClientRequest running the call
 * under the target's policy.
 *
 * Left to the original: calls made while tracing is suppressed (the SDK's own exports,
 * or a call nested inside one of breakwater's attempts), CONNECT and Upgrade requests,
 * an already aborted signal, and arguments Node will reject (so its error is thrown
 * exactly where and as it would be).
 */
export function interceptRequest(runtime: Runtime, module: PatchedModule, thisArg: unknown, args: unknown[]): ClientRequest {
  let prepared: { setup: ResilientRequestSetup; callback: ResponseCallback | undefined } | undefined;
  try {
    prepared = prepare(runtime, module, thisArg, args);
  } catch {
    // Options whose getters throw, or anything else unforeseen: Node decides, as without breakwater.
    prepared = undefined;
  }
  if (prepared === undefined) return module.original.apply(thisArg, args);
  const request = ResilientClientRequest.start(prepared.setup, prepared.callback);
  // Duck-typed like a ClientRequest: what callers and libraries use of one is there.
  return request as unknown as ClientRequest;
}

/** The request's own span attributes; a failure to read them costs the attributes, never the call's protection. */
function requestDetails(target: RequestTarget, call: RequestCall): RequestDetails | undefined {
  try {
    return { urlFull: fullUrl(target, call.url, call.options), userAgent: userAgentOf(call.options.headers) };
  } catch {
    return undefined;
  }
}

/** The call's setup, or undefined when the original must have it as it is. */
function prepare(
  runtime: Runtime,
  module: PatchedModule,
  thisArg: unknown,
  args: unknown[],
): { setup: ResilientRequestSetup; callback: ResponseCallback | undefined } | undefined {
  const callerContext = context.active();
  if (shouldPassThrough(callerContext)) return undefined;
  const call = readRequestArgs(args);
  if (call === undefined) return undefined;
  const { options, signal, callback } = call;
  const method = requestMethod(options);
  if (method === undefined || isPassThroughRequest(options, method)) return undefined;
  if (signal !== undefined && signal !== null && (!(signal instanceof AbortSignal) || signal.aborted)) return undefined;
  const target = requestTarget(call, module.defaultProtocol);
  if (target === undefined) return undefined;
  // Nothing reads the span options without an SDK: the per-request parts are built only with one.
  const telemetry = runtime.telemetryActive();
  const shared = methodAttributes(target, typeof options.method === 'string' && options.method !== '' ? options.method : 'GET');
  const details = telemetry ? requestDetails(target, call) : undefined;
  const setup: ResilientRequestSetup = {
    runtime,
    original: module.original,
    thisArg,
    url: call.url,
    options,
    signal: signal ?? undefined,
    method,
    target: target.key,
    attemptSpan: httpAttemptSpan(shared, telemetry ? attemptSpanKind(callerContext) : SpanKind.CLIENT, details, !module.originalRecordsDuration),
    callerContext,
    idempotencyMark: idempotencyMark(),
    telemetry,
  };
  return { setup, callback };
}
