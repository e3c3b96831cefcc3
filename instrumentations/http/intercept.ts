import { context } from '@opentelemetry/api';
import type { ClientRequest } from 'node:http';
import { idempotencyMark } from '../../src/runtime/idempotency.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { httpTargetKey } from '../../src/target-key.js';
import { attemptSpanKind, shouldPassThrough } from '../kit/calls.js';
import { httpAttemptSpan } from './attributes.js';
import { isPassThroughRequest, readRequestArgs, requestMethod } from './request-options.js';
import { ResilientClientRequest } from './resilient-request.js';
import type { RequestFunction } from './resilient-request.js';

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
  const callerContext = context.active();
  if (shouldPassThrough(callerContext)) return original.apply(thisArg, args);
  const call = readRequestArgs(args);
  if (call === undefined) return original.apply(thisArg, args);
  const { options, callback } = call;
  const method = requestMethod(options);
  if (method === undefined || isPassThroughRequest(options, method)) return original.apply(thisArg, args);
  const signal = options.signal;
  if (signal !== undefined && signal !== null && (!(signal instanceof AbortSignal) || signal.aborted)) return original.apply(thisArg, args);
  delete options.signal;
  const target = httpTargetKey(options, defaultProtocol);
  const scheme = target.startsWith('https') ? 'https' : 'http';
  const request = ResilientClientRequest.start(
    {
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
    },
    callback,
  );
  // Duck-typed like a ClientRequest: what callers and libraries use of one is there.
  return request as unknown as ClientRequest;
}
