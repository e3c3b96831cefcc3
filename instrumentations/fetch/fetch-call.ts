import { isObjectLike, readProperty } from '../../src/classify/safe.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { idempotencyMark } from '../../src/runtime/idempotency.js';
import { httpTargetKey } from '../../src/target-key.js';
import { shouldPassThrough } from '../kit/calls.js';
import { withPropagation } from './headers.js';
import { fetchSentMethod } from './attributes.js';
import { fetchReplayDecision } from './replay.js';
import { isHedgeableRequest } from '../http/replay.js';
import { runResilient, type RequestPlan } from './resilient-call.js';

type FetchFunction = (input: unknown, init?: unknown) => Promise<Response>;

/** The RequestInit members fetch reads; an init that is not a plain object is copied through them. */
const INIT_KEYS = [
  'method',
  'headers',
  'body',
  'referrer',
  'referrerPolicy',
  'mode',
  'credentials',
  'cache',
  'redirect',
  'integrity',
  'keepalive',
  'signal',
  'window',
  'duplex',
  'priority',
  'dispatcher', // undici's own extension
] as const;

function copyInit(init: unknown): Record<string, unknown> {
  if (!isObjectLike(init)) return {};
  const proto = Object.getPrototypeOf(init) as unknown;
  if (proto === Object.prototype || proto === null) return { ...(init as Record<string, unknown>) };
  const copy: Record<string, unknown> = {};
  for (const key of INIT_KEYS) {
    const value = readProperty(init, key);
    if (value !== undefined) copy[key] = value;
  }
  return copy;
}

function isRequest(input: unknown): input is Request {
  return isObjectLike(input) && Object.prototype.toString.call(input) === '[object Request]';
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return isObjectLike(value) && Object.prototype.toString.call(value) === '[object AbortSignal]';
}

function targetOf(input: unknown): string | undefined {
  const url = isRequest(input) ? input.url : input instanceof URL ? input.href : typeof input === 'string' ? input : undefined;
  if (url === undefined) return undefined; // an object fetch would stringify: left alone
  const key = httpTargetKey(url);
  return key.startsWith('http://') || key.startsWith('https://') ? (key.includes('://invalid:') ? undefined : key) : undefined;
}

/**
 * How one fetch(input, init) call is sent under the policy, or undefined for a call
 * breakwater leaves alone (a URL it cannot read, a `data:` or `blob:` URL, a relative
 * URL: the original fetch answers those exactly as it would have).
 */
export function planFetch(original: FetchFunction, thisArg: unknown, input: unknown, init: unknown): RequestPlan<Response> | undefined {
  const target = targetOf(input);
  if (target === undefined) return undefined;
  const request = isRequest(input) ? input : undefined;
  const base = copyInit(init);
  const methodValue = base.method ?? request?.method ?? 'GET';
  if (typeof methodValue !== 'string') return undefined;
  // init.headers replaces a Request's headers as a whole; likewise its body.
  const headers = base.headers !== undefined ? base.headers : request?.headers;
  const body = 'body' in base ? base.body : request?.body === null ? undefined : request?.body;
  const ownSignal = 'signal' in base ? base.signal : request?.signal;
  if (ownSignal !== undefined && ownSignal !== null && !isAbortSignal(ownSignal)) return undefined; // fetch will reject it
  const callerSignal = ownSignal ?? undefined;
  const replay = { method: methodValue, headers, body, idempotencyMark: idempotencyMark() };

  return {
    target,
    method: methodValue,
    sentMethod: fetchSentMethod(methodValue),
    callerSignal,
    canReplay: (failure) => fetchReplayDecision(replay, failure),
    hedgeable: isHedgeableRequest(replay.method, body !== undefined && body !== null, replay.idempotencyMark),
    statusOf: (response) => (isObjectLike(response) && typeof response.status === 'number' ? response.status : undefined),
    headerOf: (response, name) => response.headers?.get(name) ?? undefined,
    discard: (response) => {
      try {
        response.body?.cancel().catch(() => undefined);
      } catch {
        // a body already locked by someone else: nothing of ours to free
      }
    },
    send: (propagation, signal) => {
      const attemptInit = { ...base, signal } as Record<string, unknown>;
      const withTrace = withPropagation(headers, propagation);
      if (withTrace !== undefined) attemptInit.headers = withTrace;
      return original.call(thisArg, input, attemptInit);
    },
  };
}

/**
 * A fetch with the policy around it: the function that replaces `globalThis.fetch` and
 * undici's `fetch` export. Calls made with tracing suppressed (the SDK's exporter, a
 * call nested in an attempt) and calls it cannot read go straight to the original.
 */
export function resilientFetch(runtime: Runtime, original: FetchFunction): FetchFunction {
  return function fetch(this: unknown, input: unknown, init?: unknown): Promise<Response> {
    if (shouldPassThrough()) return original.apply(this, arguments as unknown as [unknown, unknown]);
    let plan: RequestPlan<Response> | undefined;
    try {
      plan = planFetch(original, this, input, init);
    } catch {
      plan = undefined; // reading the arguments must never fail the caller's call
    }
    if (plan !== undefined) {
      try {
        return runResilient(runtime, plan);
      } catch {
        // breakwater failing to start the call must not fail it: send it unprotected
      }
    }
    return original.apply(this, arguments as unknown as [unknown, unknown]);
  };
}
