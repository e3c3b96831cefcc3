import { context } from '@opentelemetry/api';
import type { ClientRequest } from 'node:http';
import { idempotencyMark } from '../../src/runtime/idempotency.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { httpTargetKey } from '../../src/target-key.js';
import { attemptSpanKind, shouldPassThrough } from '../kit/calls.js';
import { httpAttemptSpan } from './attributes.js';
import { isPassThroughRequest, readRequestArgs, requestMethod } from './request-options.js';
import type { ResponseCallback } from './request-options.js';
import { ResilientClientRequest } from './resilient-request.js';
import type { RequestFunction, ResilientRequestSetup } from './resilient-request.js';

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
export function interceptRequest(
  runtime: Runtime,
  defaultProtocol: 'http:' | 'https:',
  original: RequestFunction,
  thisArg: unknown,
  args: unknown[],
): ClientRequest {
  let prepared: { setup: ResilientRequestSetup; callback: ResponseCallback | undefined } | undefined;
  try {
    prepared = prepare(runtime, defaultProtocol, original, thisArg, args);
  } catch {
    // Options whose getters throw, or anything else unforeseen: Node decides, as without breakwater.
    prepared = undefined;
  }
  if (prepared === undefined) return original.apply(thisArg, args);
  const request = ResilientClientRequest.start(prepared.setup, prepared.callback);
  // Duck-typed like a ClientRequest: what callers and libraries use of one is there.
  return request as unknown as ClientRequest;
}

/** The call's setup, or undefined when the original must have it as it is. */
function prepare(
  runtime: Runtime,
  defaultProtocol: 'http:' | 'https:',
  original: RequestFunction,
  thisArg: unknown,
  args: unknown[],
): { setup: ResilientRequestSetup; callback: ResponseCallback | undefined } | undefined {
  const callerContext = context.active();
  if (shouldPassThrough(callerContext)) return undefined;
  const call = readRequestArgs(args);
  if (call === undefined) return undefined;
  const { options, callback } = call;
  const method = requestMethod(options);
  if (method === undefined || isPassThroughRequest(options, method)) return undefined;
  const signal = options.signal;
  if (signal !== undefined && signal !== null && (!(signal instanceof AbortSignal) || signal.aborted)) return undefined;
  delete options.signal;
  const target = httpTargetKey(options, defaultProtocol);
  const scheme = target.startsWith('https') ? 'https' : 'http';
  const setup: ResilientRequestSetup = {
    runtime,
    original,
    thisArg,
    options,
    signal: signal ?? undefined,
    method,
    target,
    attemptSpan: httpAttemptSpan(method, scheme, target, attemptSpanKind(callerContext)),
    callerContext,
    idempotencyMark: idempotencyMark(),
  };
  return { setup, callback };
}
