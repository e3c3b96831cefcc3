import { parseRetryAfter } from '../engine/rate-limit-headers.js';
import { makeResult, withRetryAfter } from './defaults.js';
import { isObjectLike, readProperty, readResponse, readStatus, readStatusCode } from './safe.js';
import type { Classification, ErrorCategory } from './types.js';

/**
 * HTTP statuses on response-like objects: a fetch `Response` (`status`, `headers.get`),
 * an `IncomingMessage` or undici response (`statusCode`, plain `headers` object), an
 * HTTP client's error with the response nested (`err.response.status`, axios and got),
 * undici's ResponseError (`statusCode` and `headers` on the error itself).
 */

export const HTTP_STATUS_RULE = 'builtin:http.status';
/** A 1xx/2xx/3xx handed to the classifier: not a failure, so nothing to blame. */
export const NOT_A_FAILURE_RULE = 'builtin:not_a_failure';

function categoryOfStatus(status: number): { category: ErrorCategory; transient?: boolean } {
  switch (status) {
    case 408:
    case 504:
      return { category: 'timeout' };
    case 429:
      return { category: 'rate_limit' };
    case 401:
      return { category: 'authentication' };
    case 403:
      return { category: 'authorization' };
    case 400:
    case 405:
    case 413:
    case 415:
    case 422:
      return { category: 'validation' };
    case 404:
    case 410:
      return { category: 'not_found' };
    case 409:
      // A conflict with the resource's current state: the same request conflicts again
      // until something changes, so not transient (unlike pg's 40001).
      return { category: 'concurrency', transient: false };
    case 507:
      return { category: 'resource' };
    case 501:
    case 505:
      // Not implemented / version not supported: asking again gets the same answer.
      return { category: 'external_service', transient: false };
    default:
      return status < 500 ? { category: 'business_logic' } : { category: 'external_service' };
  }
}

function buildStatusResult(status: number): Classification {
  const code = String(status);
  if (status < 400) {
    return makeResult('unknown', code, NOT_A_FAILURE_RULE, { severity: 'info', transient: false, userMessage: 'The request did not fail.' });
  }
  const { category, transient } = categoryOfStatus(status);
  return makeResult(category, code, HTTP_STATUS_RULE, transient === undefined ? undefined : { transient });
}

const byStatus: Array<Classification | undefined> = new Array(600).fill(undefined);

/** The shared, frozen classification of an HTTP status (100..599). */
export function classifyHttpStatus(status: number): Classification {
  let result = byStatus[status];
  if (result === undefined) {
    result = buildStatusResult(status);
    byStatus[status] = result;
  }
  return result;
}

function validStatus(value: unknown): number | undefined {
  return typeof value === 'number' && value >= 100 && value <= 599 && (value | 0) === value ? value : undefined;
}

/** A numeric `status` or `statusCode` on `obj`, when it is a plausible HTTP status. */
export function ownStatus(obj: object): number | undefined {
  return validStatus(readStatus(obj)) ?? validStatus(readStatusCode(obj));
}

/**
 * The failure statuses whose Retry-After is read: 429 and 503 (RFC 6585, RFC 9110), 413
 * (RFC 9110 15.5.14), 403 (GitHub-style secondary rate limits, which a user rule may turn
 * into rate_limit), 408, and every other 5xx (maintenance pages). On the other 4xx the
 * header would change nothing (they are not transient), and reading it is the costliest
 * step of classifying a fetch Response (Headers#get, about 200 ns on Node 20).
 */
function mayCarryRetryAfter(status: number): boolean {
  return status >= 500 || status === 429 || status === 403 || status === 413 || status === 408;
}

/** The HTTP status of `node` or of its nested `response`. */
export function httpStatusOf(node: object): number | undefined {
  const status = ownStatus(node);
  if (status !== undefined) return status;
  const response = readResponse(node);
  return isObjectLike(response) ? ownStatus(response) : undefined;
}

/**
 * Classifies `node` by its HTTP status, or its nested `response`'s, with Retry-After
 * parsed from the headers of whichever object carried the status. Undefined when
 * there is no status.
 */
export function classifyHttp(node: object, nowMs?: number): Classification | undefined {
  let holder: object = node;
  let status = ownStatus(node);
  if (status === undefined) {
    const response = readResponse(node);
    if (!isObjectLike(response)) return undefined;
    status = ownStatus(response);
    if (status === undefined) return undefined;
    holder = response;
  }
  const result = classifyHttpStatus(status);
  if (!mayCarryRetryAfter(status)) return result;
  const headers = readProperty(holder, 'headers');
  if (!isObjectLike(headers)) return result;
  const raw = retryAfterHeader(headers);
  if (raw === undefined || raw === null) return result;
  const retryAfterMs = parseRetryAfter(raw, nowMs);
  return retryAfterMs === undefined ? result : withRetryAfter(result, retryAfterMs);
}

/** The raw Retry-After value of a `Headers`-like (with `get`) or a plain headers object. */
export function retryAfterHeader(headers: object): unknown {
  const get = readProperty(headers, 'get');
  let value: unknown;
  if (typeof get === 'function') {
    try {
      value = (get as (name: string) => unknown).call(headers, 'retry-after');
    } catch {
      return undefined;
    }
  } else {
    value = readProperty(headers, 'retry-after');
    if (value === undefined) value = readProperty(headers, 'Retry-After');
  }
  if (isObjectLike(value)) {
    // Several Retry-After headers arrive as an array (node:http joins most headers, not all).
    try {
      return Array.isArray(value) ? (value[0] as unknown) : undefined;
    } catch {
      return undefined;
    }
  }
  return value;
}

// The parsing lives with the rest of the rate-limit headers; the classifier's public name stays.
export { parseRetryAfter };
