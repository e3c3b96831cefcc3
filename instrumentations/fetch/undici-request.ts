import { context } from '@opentelemetry/api';
import { isObjectLike, readProperty } from '../../src/classify/safe.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { idempotencyMark } from '../../src/runtime/idempotency.js';
import { httpTargetKey } from '../../src/target-key.js';
import { bindToCaller, shouldPassThrough } from '../kit/calls.js';
import { withPropagation } from './headers.js';
import { fetchReplayDecision } from './replay.js';
import { isHedgeableRequest } from '../http/replay.js';
import { runResilient, type RequestPlan } from './resilient-call.js';

/** What undici.request and Dispatcher#request resolve with (the parts breakwater reads). */
export interface ResponseData {
  statusCode: number;
  headers: Record<string, unknown>;
  body: { dump?: () => Promise<void>; destroy?: () => void };
}

type Callback = (error: unknown, data?: unknown) => void;
type RequestFunction = (...args: unknown[]) => unknown;

function isAbortSignal(value: unknown): value is AbortSignal {
  return isObjectLike(value) && Object.prototype.toString.call(value) === '[object AbortSignal]';
}

function httpKey(input: unknown): string | undefined {
  const key = httpTargetKey(input);
  return (key.startsWith('http://') || key.startsWith('https://')) && !key.includes('://invalid:') ? key : undefined;
}

function discardBody(response: ResponseData): void {
  try {
    const body = response.body;
    if (typeof body?.dump === 'function') body.dump().catch(() => undefined);
    else body?.destroy?.();
  } catch {
    // already consumed or destroyed: nothing to free
  }
}

function statusOf(response: ResponseData): number | undefined {
  return isObjectLike(response) && typeof response.statusCode === 'number' ? response.statusCode : undefined;
}

interface Parsed {
  target: string;
  method: string;
  options: Record<string, unknown>;
  /** Builds the argument list of one attempt from its options. */
  args(options: Record<string, unknown>): unknown[];
}

/**
 * The two call shapes: `undici.request(url, options?)`, where the options may be the url
 * object itself, and `dispatcher.request(options)` with `options.origin`.
 */
function parseModuleCall(url: unknown, options: unknown): Parsed | undefined {
  if (options !== undefined && options !== null && !isObjectLike(options)) return undefined;
  // undici reads the options from an object url when none are given.
  const given = isObjectLike(options) ? options : isObjectLike(url) && !(url instanceof URL) ? url : {};
  const target = httpKey(url); // with `options.path`, undici keeps only the url's origin
  if (target === undefined) return undefined;
  const method = readProperty(given, 'method') || (readProperty(given, 'body') ? 'PUT' : 'GET'); // undici's own default
  if (typeof method !== 'string') return undefined;
  return { target, method, options: { ...given }, args: (attemptOptions) => [url, attemptOptions] };
}

/**
 * The origin a Client or Pool was made for: requests to one need no `origin` option.
 * undici keeps it under a private symbol (`Symbol(url)`), found by its description.
 */
function dispatcherOrigin(dispatcher: unknown): unknown {
  if (!isObjectLike(dispatcher)) return undefined;
  for (const symbol of Object.getOwnPropertySymbols(dispatcher)) {
    if (symbol.description !== 'url') continue;
    const url = (dispatcher as Record<symbol, unknown>)[symbol];
    return url instanceof URL ? url.origin : undefined;
  }
  return undefined;
}

function parseDispatcherCall(dispatcher: unknown, options: unknown): Parsed | undefined {
  if (!isObjectLike(options)) return undefined;
  const origin = readProperty(options, 'origin') ?? dispatcherOrigin(dispatcher);
  if (origin === undefined || origin === null) return undefined; // undici will say what is missing
  const target = httpKey({ origin: origin instanceof URL ? origin.origin : origin });
  const method = readProperty(options, 'method');
  if (target === undefined || typeof method !== 'string') return undefined;
  return { target, method, options: { ...options }, args: (attemptOptions) => [attemptOptions] };
}

function plan(original: RequestFunction, thisArg: unknown, parsed: Parsed): RequestPlan<ResponseData> | undefined {
  const { options } = parsed;
  const ownSignal = options.signal;
  // undici also takes an EventEmitter as a signal; it cannot be combined with the attempt's.
  if (ownSignal !== undefined && ownSignal !== null && !isAbortSignal(ownSignal)) return undefined;
  const replay = { method: parsed.method, headers: options.headers, body: options.body, idempotencyMark: idempotencyMark() };
  return {
    target: parsed.target,
    method: parsed.method,
    sentMethod: parsed.method, // undici.request sends the method as written
    callerSignal: ownSignal ?? undefined,
    canReplay: (failure) => fetchReplayDecision(replay, failure),
    hedgeable: isHedgeableRequest(replay.method, options.body !== undefined && options.body !== null, replay.idempotencyMark),
    statusOf,
    headerOf: (response, name) => {
      const value = response.headers?.[name];
      return typeof value === 'string' || Array.isArray(value) ? (value as string | string[]) : undefined;
    },
    discard: discardBody,
    send: (propagation, signal) => {
      const attemptOptions = { ...options, signal, headers: withPropagation(options.headers, propagation) };
      return original.apply(thisArg, parsed.args(attemptOptions)) as Promise<ResponseData>;
    },
  };
}

function run(runtime: Runtime, original: RequestFunction, thisArg: unknown, parsed: Parsed | undefined, callback: Callback | undefined, args: unknown[]): unknown {
  let requestPlan: RequestPlan<ResponseData> | undefined;
  try {
    requestPlan = parsed === undefined ? undefined : plan(original, thisArg, parsed);
  } catch {
    requestPlan = undefined;
  }
  let pending: Promise<ResponseData> | undefined;
  try {
    pending = requestPlan === undefined ? undefined : runResilient(runtime, requestPlan);
  } catch {
    pending = undefined; // breakwater failing to start the call must not fail it: send it unprotected
  }
  if (pending === undefined) return original.apply(thisArg, args);
  if (callback === undefined) return pending;
  // The callback form: undici calls back with (err) or (null, data); so does this.
  const callerCallback = bindToCaller(context.active(), callback);
  pending.then(
    (data) => callerCallback(null, data),
    (error: unknown) => callerCallback(error),
  );
  return undefined;
}

/** `undici.request(url, options?, callback?)` with the policy around it. */
export function resilientModuleRequest(runtime: Runtime, original: RequestFunction): RequestFunction {
  return function request(this: unknown, ...args: unknown[]): unknown {
    if (shouldPassThrough()) return original.apply(this, args);
    let [url, options, callback] = args;
    if (typeof options === 'function') [options, callback] = [undefined, options];
    let parsed: Parsed | undefined;
    try {
      parsed = parseModuleCall(url, options);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined) return original.apply(this, args);
    return run(runtime, original, this, parsed, callback as Callback | undefined, args);
  };
}

/** `Dispatcher.prototype.request(options, callback?)` (Client, Pool, Agent...) with the policy around it. */
export function resilientDispatcherRequest(runtime: Runtime, original: RequestFunction): RequestFunction {
  return function request(this: unknown, ...args: unknown[]): unknown {
    if (shouldPassThrough()) return original.apply(this, args);
    const [options, callback] = args;
    let parsed: Parsed | undefined;
    try {
      parsed = parseDispatcherCall(this, options);
    } catch {
      parsed = undefined;
    }
    return run(runtime, original, this, parsed, typeof callback === 'function' ? (callback as Callback) : undefined, args);
  };
}
