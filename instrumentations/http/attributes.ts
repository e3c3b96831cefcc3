import { SpanKind } from '@opentelemetry/api';
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import type { Attempt } from '../../src/engine/attempt.js';
import type { AttemptSpanOptions } from '../../src/telemetry/operation.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  HTTP_KNOWN_METHODS,
  OTHER_METHOD,
  REDACTED,
} from '../kit/semconv.js';
import type { Server } from '../kit/http-server.js';
import type { RequestTarget } from './request-target.js';

export { serverOfTargetKey, type Server } from '../kit/http-server.js';

/**
 * The attempt span and duration metric of a node:http request, with the attributes
 * @opentelemetry/instrumentation-http records on its CLIENT span and its
 * `http.client.request.duration` points (its build/src/utils.js), so a dashboard or
 * query built on the official instrumentation reads breakwater's the same way; and
 * stricter where breakwater's rule asks: query values are replaced by `REDACTED`
 * (the official replaces only a few signature keys), credentials of a URL are written
 * `REDACTED:REDACTED@` as the official writes them, headers other than User-Agent are
 * never read.
 */

/** The method as the conventions record it: a known method upper-cased, anything else `_OTHER`. */
export function conventionalMethod(method: string): { method: string; original?: string } {
  const upper = method.toUpperCase();
  return HTTP_KNOWN_METHODS.has(upper) ? (upper === method ? { method } : { method: upper, original: method }) : { method: OTHER_METHOD, original: method };
}

/** What every call of one method to one target shares: built once, frozen. */
export interface MethodAttributes {
  readonly name: string;
  /** The span's request-time attributes that do not depend on the path or headers. */
  readonly span: Attributes;
  /** `http.client.request.duration`'s request-time attributes, as the official instrumentation records them. */
  readonly duration: NonNullable<AttemptSpanOptions['duration']>;
  /** The attempt span options of a call that adds nothing per request (no SDK: nobody reads them), by kind. */
  readonly client: AttemptSpanOptions;
  readonly internal: AttemptSpanOptions;
}

/** Methods remembered per target; past this (a caller inventing methods) they are built per call. */
const METHODS_PER_TARGET = 32;

function buildMethodAttributes(server: Server | undefined, scheme: string, given: string, withDuration: boolean): MethodAttributes {
  const { method, original } = conventionalMethod(given);
  const span: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: method };
  if (original !== undefined) span[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = original;
  const metric: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: method };
  if (server !== undefined) {
    span[ATTR_SERVER_ADDRESS] = metric[ATTR_SERVER_ADDRESS] = server.address;
    span[ATTR_SERVER_PORT] = metric[ATTR_SERVER_PORT] = server.port;
  }
  span[ATTR_URL_SCHEME] = scheme;
  Object.freeze(span);
  const duration = Object.freeze({ kind: 'http' as const, attributes: Object.freeze(metric) });
  const name = method === OTHER_METHOD ? 'HTTP' : method;
  const options = (kind: SpanKind): AttemptSpanOptions => Object.freeze(withDuration ? { name, kind, attributes: span, duration } : { name, kind, attributes: span });
  return { name, span, duration, client: options(SpanKind.CLIENT), internal: options(SpanKind.INTERNAL) };
}

/** The shared attributes of `given` (the method as the caller wrote it, GET when none) to `target`. */
export function methodAttributes(target: RequestTarget, given: string): MethodAttributes {
  let found = target.methods.get(given);
  if (found === undefined) {
    found = buildMethodAttributes(target.server, target.scheme, given, true);
    if (target.methods.size < METHODS_PER_TARGET) target.methods.set(given, found);
  }
  return found;
}

/** The parts of one request that go on its attempt spans besides the shared ones. */
export interface RequestDetails {
  /** The redacted `url.full`, or undefined when the target names no server. */
  urlFull: string | undefined;
  userAgent: AttributeValue | undefined;
}

/**
 * One call's attempt span options: the shared ones, plus the request's URL and User-Agent
 * when they are recorded (details given), without the duration metric when another
 * instrumentation inside breakwater records that point for each attempt itself.
 */
export function httpAttemptSpan(shared: MethodAttributes, kind: SpanKind, details: RequestDetails | undefined, recordDuration: boolean): AttemptSpanOptions {
  if (details === undefined && recordDuration) return kind === SpanKind.CLIENT ? shared.client : shared.internal;
  let attributes = shared.span;
  if (details !== undefined && (details.urlFull !== undefined || details.userAgent !== undefined)) {
    attributes = { ...shared.span };
    if (details.urlFull !== undefined) attributes[ATTR_URL_FULL] = details.urlFull;
    if (details.userAgent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = details.userAgent;
  }
  return recordDuration ? { name: shared.name, kind, attributes, duration: shared.duration } : { name: shared.name, kind, attributes };
}

// --- URLs ----------------------------------------------------------------------------------

/**
 * A query string (without its `?`) with every value replaced by `REDACTED` and the keys
 * kept: `token=s3cr3t&x=1` gives `token=REDACTED&x=REDACTED`. A parameter without a value
 * (`flag`, `k=`) is kept as it is: there is nothing in it to hide.
 */
export function redactQuery(query: string): string {
  let out = '';
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    const part = query.slice(start, end);
    const eq = part.indexOf('=');
    out += eq < 0 || eq === part.length - 1 ? part : `${part.slice(0, eq + 1)}${REDACTED}`;
    if (end === query.length) break;
    out += '&';
    start = end + 1;
  }
  return out;
}

/** A path with its query (`/a?b=c`) as recorded: the query's values redacted. */
export function redactPathAndQuery(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : `${path.slice(0, q + 1)}${redactQuery(path.slice(q + 1))}`;
}

/** Path characters that need no percent-encoding or normalising by the WHATWG URL parser. */
function isPlainPath(path: string): boolean {
  const q = path.indexOf('?');
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) || (c >= 64 && c <= 90) /* @ A-Z */ || (c >= 47 && c <= 59) /* / 0-9 : ; */ ||
      c === 33 || c === 36 || c === 37 || c === 38 || (c >= 40 && c <= 46) /* ( ) * + , - . */ || c === 61 || c === 63 || c === 95 || c === 126;
    if (!ok) return false;
    // A dot segment (`/./`, `/../`, `/.` at the end...) is resolved by the parser: leave it to it.
    if (c === 47 && (q < 0 || i < q) && (path.charCodeAt(i + 1) === 46 || path.charCodeAt(i + 1) === 37)) return false;
  }
  return true;
}

/**
 * The path and query Node sends for a URL string whose authority ends at `from`, without
 * parsing the URL when it is plain (the common case); the fragment is never sent.
 */
function pathOfUrlString(url: string, from: number): string {
  const hash = url.indexOf('#', from);
  let path = hash < 0 ? url.slice(from) : url.slice(from, hash);
  if (path.length === 0 || path.charCodeAt(0) === 63) path = `/${path}`;
  if (isPlainPath(path)) return path;
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

/** Where the authority of an `http(s)://` string ends (after `//`): the first `/`, `?`, `#` or `\`. */
function authorityEnd(url: string): { start: number; end: number } | undefined {
  const scheme = url.indexOf('://');
  if (scheme < 0) return undefined;
  let end = url.length;
  for (let i = scheme + 3; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35 || c === 92) {
      end = i;
      break;
    }
  }
  return { start: scheme + 3, end };
}

/** The request's path (with its query) and whether it carries credentials, as Node will send it. */
function pathAndAuth(url: string | URL | undefined, options: Record<string, unknown>): { path: string; auth: boolean } {
  let auth = typeof options.auth === 'string' && options.auth.length > 0;
  let path = typeof options.path === 'string' ? options.path : undefined;
  if (typeof url === 'string') {
    const authority = authorityEnd(url);
    if (authority !== undefined) {
      if (url.lastIndexOf('@', authority.end) >= authority.start) auth = true;
      path ??= pathOfUrlString(url, authority.end);
    }
  } else if (url !== undefined) {
    if (url.username || url.password) auth = true;
    path ??= `${url.pathname ?? ''}${url.search ?? ''}`;
  }
  return { path: path || '/', auth };
}

/**
 * `url.full` as the official instrumentation writes it (scheme, `REDACTED:REDACTED@` when
 * the request carries credentials, host, port unless the scheme's default, path), with
 * every query value redacted; undefined when the target names no server.
 */
export function fullUrl(target: RequestTarget, url: string | URL | undefined, options: Record<string, unknown>): string | undefined {
  if (target.authority === undefined) return undefined;
  const { path, auth } = pathAndAuth(url, options);
  return `${target.scheme}://${auth ? `${REDACTED}:${REDACTED}@` : ''}${target.authority}${redactPathAndQuery(path)}`;
}

/** The User-Agent header of the caller's options (either form, any case), as the span records it. */
export function userAgentOf(headers: unknown): AttributeValue | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  let value: unknown;
  if (Array.isArray(headers)) {
    const flat = headers.length > 0 && Array.isArray(headers[0]) ? (headers as unknown[][]).flat() : headers;
    for (let i = 0; i + 1 < flat.length; i += 2) if (typeof flat[i] === 'string' && (flat[i] as string).toLowerCase() === 'user-agent') value = flat[i + 1];
  } else {
    for (const key of Object.keys(headers)) if (key.length === 10 && key.toLowerCase() === 'user-agent') value = (headers as Record<string, unknown>)[key];
  }
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [...(value as string[])];
  return undefined;
}

// --- the response ---------------------------------------------------------------------------

/** The span's response attributes, as the official instrumentation reads them (getOutgoingRequestAttributesOnResponse). */
export function responseSpanAttributes(res: IncomingMessage): Attributes {
  const attributes: Attributes = {};
  if (res.statusCode != null) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = res.statusCode;
  const socket = res.socket;
  if (socket) {
    if (socket.remoteAddress !== undefined) attributes[ATTR_NETWORK_PEER_ADDRESS] = socket.remoteAddress;
    if (socket.remotePort !== undefined) attributes[ATTR_NETWORK_PEER_PORT] = socket.remotePort;
    attributes[ATTR_NETWORK_PROTOCOL_VERSION] = res.httpVersion;
  }
  return attributes;
}

// Few distinct (status, version) pairs occur: their metric attributes are built once.
const metricByResult = new Map<string, Attributes>();

/**
 * The duration point's response attributes (getOutgoingStableRequestMetricAttributesOnResponse):
 * the protocol version when there was a socket, the status, and `error.type` = the status
 * for 4xx and 5xx.
 */
export function responseMetricAttributes(statusCode: number | undefined, httpVersion: string | undefined): Attributes {
  const key = `${statusCode ?? ''} ${httpVersion ?? ''}`;
  let found = metricByResult.get(key);
  if (found === undefined) {
    const attributes: Attributes = {};
    if (httpVersion) attributes[ATTR_NETWORK_PROTOCOL_VERSION] = httpVersion;
    if (statusCode) {
      attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = statusCode;
      if (statusCode >= 400 && statusCode < 600) attributes[ATTR_ERROR_TYPE] = String(statusCode);
    }
    found = Object.freeze(attributes);
    if (metricByResult.size < 1024) metricByResult.set(key, found);
  }
  return found;
}
