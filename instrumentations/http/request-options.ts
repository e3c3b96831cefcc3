import type { ClientRequestArgs, IncomingMessage } from 'node:http';
import { urlToHttpOptions } from 'node:url';

/**
 * Reading the arguments of `http.request` / `https.request` the way Node reads them
 * (lib/_http_client.js, lib/https.js), so each attempt can be made again from one
 * plain options object, and deciding which calls are left alone.
 */

export type ResponseCallback = (res: IncomingMessage) => void;

export interface RequestCall {
  /**
   * The URL argument as given (a string, a URL, or a URL-like object), passed to every
   * attempt's real request unchanged: Node parses it there as it would without
   * breakwater, so breakwater never parses it a second time on the common path.
   */
  url: string | URL | undefined;
  /** A copy of the caller's options, without `signal` (the request handles it); the URL's parts are not merged in. */
  options: ClientRequestArgs & Record<string, unknown>;
  /** The caller's `options.signal`, as given. */
  signal: unknown;
  callback: ResponseCallback | undefined;
}

/** Node's own test for a WHATWG URL given as the first argument (not a `url.parse()` result). */
function isUrl(value: unknown): value is URL {
  if (value instanceof URL) return true;
  const v = value as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown } | null;
  return typeof v === 'object' && v !== null && Boolean(v.href) && Boolean(v.protocol) && v.auth === undefined && v.path === undefined;
}

/**
 * `(url[, options][, callback])` or `(options[, callback])` as Node reads them; undefined
 * when the arguments are not something Node accepts (but a URL string is not validated
 * here: requestTarget() does, once per distinct origin), so the caller can hand them to
 * the original unchanged and get Node's own error.
 */
export function readRequestArgs(args: readonly unknown[]): RequestCall | undefined {
  let [input, options, callback] = args;
  let url: string | URL | undefined;
  if (typeof input === 'string' || isUrl(input)) {
    url = input;
  } else {
    callback = options;
    options = input;
  }
  if (typeof options === 'function') {
    callback = options;
    options = undefined;
  }
  if (options !== undefined && options !== null && typeof options !== 'object') return undefined;
  if (callback !== undefined && typeof callback !== 'function') return undefined;
  const copy: Record<string, unknown> = {};
  let signal: unknown;
  if (options !== undefined && options !== null) {
    for (const key of Object.keys(options)) {
      if (key === 'signal') signal = (options as Record<string, unknown>).signal;
      else copy[key] = (options as Record<string, unknown>)[key];
    }
  }
  return { url, options: copy as RequestCall['options'], signal, callback: callback as ResponseCallback | undefined };
}

/**
 * The options Node builds from the call (the URL's parts with the caller's options over
 * them, lib/_http_client.js); throws for a URL string Node would reject. Only the
 * uncommon paths need it: the common ones read the URL and options as they are.
 */
export function mergedOptions(call: Pick<RequestCall, 'url' | 'options'>): Record<string, unknown> {
  const { url } = call;
  const fromUrl = url === undefined ? {} : (urlToHttpOptions(typeof url === 'string' ? new URL(url) : url) as Record<string, unknown>);
  return Object.assign(fromUrl, call.options);
}

/** The method Node will send: upper-cased, GET when none; undefined when Node would reject it. */
export function requestMethod(options: { method?: unknown }): string | undefined {
  const method = options.method;
  if (method === undefined || method === null || method === '') return 'GET';
  return typeof method === 'string' ? method.toUpperCase() : undefined;
}

/**
 * Raw headers as a flat `[name, value, ...]` array: Node also takes `[[name, value], ...]`,
 * which means the same. Undefined for an array Node would reject (odd length).
 */
export function flatHeaders(headers: readonly unknown[]): unknown[] | undefined {
  if (headers.length > 0 && Array.isArray(headers[0])) {
    const flat: unknown[] = [];
    for (const pair of headers) {
      if (!Array.isArray(pair)) return undefined;
      flat.push(pair[0], pair[1]);
    }
    return flat;
  }
  return headers.length % 2 === 0 ? [...headers] : undefined;
}

/** Whether the headers (an object or a raw array) hold `name` (lower-case). */
export function hasHeader(headers: unknown, name: string): boolean {
  if (Array.isArray(headers)) {
    const flat = flatHeaders(headers) ?? [];
    for (let i = 0; i < flat.length; i += 2) {
      const key: unknown = flat[i];
      if (typeof key === 'string' && key.toLowerCase() === name) return true;
    }
    return false;
  }
  if (typeof headers !== 'object' || headers === null) return false;
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return true;
  return false;
}

/**
 * Requests breakwater leaves to Node: CONNECT (a tunnel, not a request and response)
 * and protocol upgrades (WebSocket and friends: the answer is a 101 and a raw socket).
 */
export function isPassThroughRequest(options: { headers?: unknown }, method: string): boolean {
  if (method === 'CONNECT' || hasHeader(options.headers, 'upgrade')) return true;
  // Raw headers Node will reject: its own error, thrown where it would be.
  return Array.isArray(options.headers) && flatHeaders(options.headers) === undefined;
}

const TRACE_HEADERS: ReadonlySet<string> = new Set(['traceparent', 'tracestate']);

/**
 * A copy of the caller's headers for one attempt, without the trace headers a previous
 * inject left (the caller's own copy, or an outer instrumentation's): each attempt
 * carries exactly its own. Keeps the form given: an object, or raw headers (as a flat array).
 */
export function headersForAttempt(headers: unknown): Record<string, unknown> | unknown[] {
  if (Array.isArray(headers)) {
    const flat = flatHeaders(headers) ?? [];
    const out: unknown[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const key: unknown = flat[i];
      if (typeof key === 'string' && TRACE_HEADERS.has(key.toLowerCase())) continue;
      out.push(key, flat[i + 1]);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  if (typeof headers === 'object' && headers !== null) {
    for (const key of Object.keys(headers)) {
      if (TRACE_HEADERS.has(key.toLowerCase())) continue;
      out[key] = (headers as Record<string, unknown>)[key];
    }
  }
  return out;
}

/** Writes propagation headers into either form of headers (injectContext's setter). */
export const headerSetter = {
  set(carrier: Record<string, unknown> | unknown[], key: string, value: string): void {
    if (Array.isArray(carrier)) carrier.push(key, value);
    else carrier[key] = value;
  },
};
