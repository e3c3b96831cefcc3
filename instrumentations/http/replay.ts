import { isObjectLike, readProperty } from '../../src/classify/safe.js';
import type { ReplayDecision } from '../../src/engine/policy.js';
import { isConnectFailure } from '../connect-failure.js';

/**
 * Whether a failed HTTP request (node:http, https, fetch, undici) may be sent again
 * (design.md section 3). Two things must both hold:
 *
 * 1. Sending it twice does no more than sending it once: the method is idempotent by
 *    RFC 9110 section 9.2.2 (GET, HEAD, OPTIONS, TRACE, PUT, DELETE), or the request
 *    carries an `Idempotency-Key` header, by which the server promises to apply it at
 *    most once. Or the failure proves the request never left (the connection could not
 *    be made, connect-failure.ts): then even a POST is safe.
 * 2. The body can be sent again: there is none, or it is held in memory (a string, bytes,
 *    URLSearchParams, a Blob, a FormData of strings and Blobs) and at most
 *    MAX_REPLAYABLE_BODY_BYTES. A stream, an async iterable or any body this file does
 *    not know is consumed by the first attempt, so the request is sent once.
 *
 * Anything unknown (a method that is not a string, headers that cannot be read) counts
 * against replaying: when unsure, send once.
 */

/** Bodies above this size are sent once: a retry would resend (and buffer) all of it. */
export const MAX_REPLAYABLE_BODY_BYTES = 1024 * 1024;

export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The header name, lower-cased (IETF draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** Headers, body parts and chunks looked at, at most: a bigger structure is not replayed. */
const MAX_ENTRIES = 1000;

/** An idempotent method, any case; a missing method is GET (node:http, fetch and undici default). */
export function isIdempotentMethod(method: unknown): boolean {
  if (method === undefined || method === null) return true;
  return typeof method === 'string' && IDEMPOTENT_METHODS.has(method.toUpperCase());
}

/** Methods that only read: two copies of such a request at once change nothing (RFC 9110 section 9.2.1). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a request may be hedged: a read (a safe method, no body) that the caller did
 * not mark as unsafe to send twice. Writes are never hedged, even idempotent ones or with
 * an Idempotency-Key: two copies at once may both run, and servers commonly refuse a
 * duplicate key still in progress (409). A caller's `idempotent(fn)` mark makes a write
 * retryable, not hedgeable.
 */
export function isHedgeableRequest(method: unknown, hasBody: boolean, idempotencyMark: boolean | undefined): boolean {
  if (hasBody || idempotencyMark === false) return false;
  if (method === undefined || method === null) return true;
  return typeof method === 'string' && SAFE_METHODS.has(method.toUpperCase());
}

function isKeyValue(value: unknown): boolean {
  if (typeof value === 'string') return value.trim().length > 0;
  if (typeof value === 'number') return true;
  if (ArrayBuffer.isView(value)) return value.byteLength > 0; // undici raw headers are Buffers
  if (Array.isArray(value)) return value.some((v) => isKeyValue(v));
  return false;
}

function isKeyName(name: unknown): boolean {
  if (typeof name === 'string') return name.length === IDEMPOTENCY_KEY_HEADER.length && name.toLowerCase() === IDEMPOTENCY_KEY_HEADER;
  if (ArrayBuffer.isView(name) && name.byteLength === IDEMPOTENCY_KEY_HEADER.length) {
    return Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1').toLowerCase() === IDEMPOTENCY_KEY_HEADER;
  }
  return false;
}

function hasKeyInPairs(entries: Iterable<unknown>): boolean {
  let n = 0;
  for (const entry of entries) {
    if (++n > MAX_ENTRIES) return false;
    if (Array.isArray(entry) && entry.length >= 2 && isKeyName(entry[0]) && isKeyValue(entry[1])) return true;
  }
  return false;
}

function hasKeyUnsafe(headers: unknown): boolean {
  if (!isObjectLike(headers)) return false;
  if (Array.isArray(headers)) {
    if (headers.length === 0) return false;
    // [[name, value], ...] (fetch's HeadersInit) or [name, value, name, value] (node:http, undici raw).
    if (Array.isArray(headers[0])) return hasKeyInPairs(headers);
    const n = Math.min(headers.length, 2 * MAX_ENTRIES);
    for (let i = 0; i + 1 < n; i += 2) if (isKeyName(headers[i]) && isKeyValue(headers[i + 1])) return true;
    return false;
  }
  const get = readProperty(headers, 'get');
  if (typeof get === 'function') {
    // A fetch Headers: get() ignores case. A Map's does not, so look at its entries too.
    if (isKeyValue(get.call(headers, IDEMPOTENCY_KEY_HEADER))) return true;
    const iterable = headers as Partial<Iterable<unknown>>;
    return typeof iterable[Symbol.iterator] === 'function' ? hasKeyInPairs(iterable as Iterable<unknown>) : false;
  }
  // A plain object: node:http options.headers, req.getHeaders(), undici's headers object.
  const names = Object.keys(headers);
  const n = Math.min(names.length, MAX_ENTRIES);
  for (let i = 0; i < n; i++) {
    const name = names[i]!;
    if (isKeyName(name) && isKeyValue(readProperty(headers, name))) return true;
  }
  return false;
}

/**
 * Whether the headers carry a non-empty `Idempotency-Key` (any case): a plain object,
 * an array of `[name, value]` pairs, a flat `[name, value, ...]` array, a fetch
 * `Headers` or a Map. Never throws.
 */
export function hasIdempotencyKey(headers: unknown): boolean {
  try {
    return hasKeyUnsafe(headers);
  } catch {
    return false;
  }
}

function tagOf(value: object): string {
  return Object.prototype.toString.call(value);
}

function readNumber(obj: object, key: string): number | undefined {
  const value = readProperty(obj, key);
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** A Blob or File: by its tag, or by the shape of one (a numeric `size`, `arrayBuffer()` and `slice()`). */
function blobSize(value: object): number | undefined {
  const tag = tagOf(value);
  const blobLike =
    tag === '[object Blob]' ||
    tag === '[object File]' ||
    (typeof readProperty(value, 'arrayBuffer') === 'function' && typeof readProperty(value, 'slice') === 'function');
  return blobLike ? readNumber(value, 'size') : undefined;
}

/** The UTF-8 size of `text`, or Infinity once it is surely above `max` (without encoding it). */
function stringSize(text: string, max: number): number {
  if (text.length > max) return Number.POSITIVE_INFINITY; // UTF-8 never has fewer bytes than UTF-16 units
  if (text.length * 3 <= max) return text.length; // surely within bounds; the exact size does not matter
  return Buffer.byteLength(text, 'utf8');
}

/** The size of an in-memory part (string, bytes, Blob), undefined when it is not one. */
function partSize(part: unknown, max: number): number | undefined {
  if (typeof part === 'string') return stringSize(part, max);
  if (!isObjectLike(part)) return undefined;
  if (ArrayBuffer.isView(part)) return part.byteLength;
  const tag = tagOf(part);
  if (tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') return readNumber(part, 'byteLength');
  return blobSize(part);
}

function formDataSize(form: object, max: number): number | undefined {
  const entries = readProperty(form, 'entries');
  if (typeof entries !== 'function') return undefined;
  let total = 0;
  let n = 0;
  for (const entry of entries.call(form) as Iterable<unknown>) {
    if (++n > MAX_ENTRIES || !Array.isArray(entry)) return undefined;
    const name = entry[0];
    const size = partSize(entry[1], max);
    if (typeof name !== 'string' || size === undefined) return undefined;
    total += stringSize(name, max) + size;
    if (total > max) return total;
  }
  return total;
}

function bodySize(body: unknown, max: number): number | undefined {
  if (body === undefined || body === null) return 0;
  const t = typeof body;
  if (t === 'number' || t === 'boolean' || t === 'bigint') return 0; // sent as its (tiny, immutable) text
  const size = partSize(body, max);
  if (size !== undefined || !isObjectLike(body)) return size;
  const tag = tagOf(body);
  if (tag === '[object URLSearchParams]') return stringSize(String(body), max);
  if (tag === '[object FormData]') return formDataSize(body, max);
  if (Array.isArray(body)) {
    // Chunks the adapter kept of what was written to a node:http request.
    if (body.length > MAX_ENTRIES) return undefined;
    let total = 0;
    for (const chunk of body) {
      const chunkSize = partSize(chunk, max);
      if (chunkSize === undefined) return undefined;
      total += chunkSize;
      if (total > max) return total;
    }
    return total;
  }
  return undefined; // a stream, a ReadableStream, an (async) iterable, or something unknown
}

/**
 * Whether `body` can be sent again: none, a string, bytes (Buffer, any typed array,
 * DataView, ArrayBuffer), URLSearchParams, a Blob or File, a FormData whose values are
 * strings and Blobs, or an array of string/byte chunks, of at most `maxBytes` in all.
 * Streams, ReadableStreams, (async) iterables and anything else are sent once.
 * Never throws.
 */
export function isReplayableBody(body: unknown, maxBytes: number = MAX_REPLAYABLE_BODY_BYTES): boolean {
  try {
    const size = bodySize(body, maxBytes);
    return size !== undefined && size <= maxBytes;
  } catch {
    return false;
  }
}

export interface HttpReplayInput {
  /** The request method; missing means GET. */
  method?: unknown;
  /** The request headers in any form hasIdempotencyKey() reads. */
  headers?: unknown;
  /** The request body as the caller gave it (or the chunks written to a node:http request). */
  body?: unknown;
  /** The failure, when the decision is made for one: a connect failure proves nothing was sent. */
  failure?: unknown;
}

/**
 * Whether a failed HTTP request may be sent again: true, or `'not_idempotent'` (the
 * method is not idempotent and there is no Idempotency-Key and no proof the request
 * never left, or the body cannot be sent twice). Never throws.
 */
export function httpReplayDecision(input: HttpReplayInput): ReplayDecision {
  try {
    if (!isReplayableBody(input.body)) return 'not_idempotent';
    if (isIdempotentMethod(input.method) || hasIdempotencyKey(input.headers)) return true;
    return input.failure !== undefined && isConnectFailure(input.failure) ? true : 'not_idempotent';
  } catch {
    return 'not_idempotent';
  }
}
