import { SpanKind } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import type { AttemptSpanOptions } from '../../src/telemetry/operation.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_SCHEME,
  HTTP_KNOWN_METHODS,
  OTHER_METHOD,
} from '../kit/semconv.js';
import { serverOfTargetKey } from '../kit/http-server.js';

export { serverOfTargetKey, type Server } from '../kit/http-server.js';

/**
 * The attempt span and duration metric of a fetch/undici request, with what
 * @opentelemetry/instrumentation-undici records when it creates its CLIENT span
 * (build/src/undici.js, onRequestCreated): the method as the conventions write it and
 * as undici sends it (`http.request.method_original`, always), the scheme, server
 * address and port (read back from the target key). The URL, User-Agent and peer are
 * added from undici's diagnostics channels (diagnostics.ts), the status when the
 * response arrives (resilient-call.ts).
 */

/** fetch upper-cases these methods whatever case the caller wrote (the Fetch standard's "normalize"); others go as written. */
const FETCH_NORMALIZED_METHODS: ReadonlySet<string> = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/** The method fetch sends for `method` as the caller wrote it. */
export function fetchSentMethod(method: string): string {
  const upper = method.toUpperCase();
  return FETCH_NORMALIZED_METHODS.has(upper) ? upper : method;
}

interface MethodAttributes {
  readonly client: AttemptSpanOptions;
  readonly internal: AttemptSpanOptions;
  readonly clientWithoutDuration: AttemptSpanOptions;
}

// One entry per target and method: both are bounded (target keys by src/target-key.ts),
// and the cap guards against a caller inventing methods.
const CACHE_LIMIT = 1024;
const cache = new Map<string, MethodAttributes>();

function build(sent: string, targetKey: string): MethodAttributes {
  const upper = sent.toUpperCase();
  const method = HTTP_KNOWN_METHODS.has(upper) ? upper : OTHER_METHOD;
  const span: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_HTTP_REQUEST_METHOD_ORIGINAL]: sent };
  const metric: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: method };
  const server = serverOfTargetKey(targetKey);
  if (server !== undefined) {
    span[ATTR_URL_SCHEME] = metric[ATTR_URL_SCHEME] = server.scheme;
    span[ATTR_SERVER_ADDRESS] = metric[ATTR_SERVER_ADDRESS] = server.address;
    span[ATTR_SERVER_PORT] = metric[ATTR_SERVER_PORT] = server.port;
  }
  Object.freeze(span);
  const duration = Object.freeze({ kind: 'http' as const, attributes: Object.freeze(metric) });
  const name = method === OTHER_METHOD ? 'HTTP' : method;
  return {
    client: Object.freeze({ name, kind: SpanKind.CLIENT, attributes: span, duration }),
    internal: Object.freeze({ name, kind: SpanKind.INTERNAL, attributes: span, duration }),
    clientWithoutDuration: Object.freeze({ name, kind: SpanKind.CLIENT, attributes: span }),
  };
}

/**
 * The attempt span options of a request sending `sent` (the method as undici sends it)
 * to `targetKey`: shared and frozen, built once per target and method. Without the
 * duration metric when the official undici instrumentation records each attempt's
 * point itself (diagnostics.ts).
 */
export function fetchAttemptSpan(sent: string, targetKey: string, kind: SpanKind = SpanKind.CLIENT, recordDuration = true): AttemptSpanOptions {
  const key = `${targetKey}\u0000${sent}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = build(sent, targetKey);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, found);
  }
  if (kind === SpanKind.INTERNAL) return found.internal; // never recorded for an INTERNAL attempt anyway
  return recordDuration ? found.client : found.clientWithoutDuration;
}

const byStatus = new Map<number, { span: Attributes; metric: Attributes }>();

/**
 * A response's attributes, as the official instrumentation sets them when the headers
 * arrive: the status, and `error.type` = the status for 4xx and 5xx, on the span and
 * on the duration point.
 */
export function responseAttributes(status: number): { span: Attributes; metric: Attributes } {
  let found = byStatus.get(status);
  if (found === undefined) {
    const attributes: Attributes = { [ATTR_HTTP_RESPONSE_STATUS_CODE]: status };
    if (status >= 400) attributes[ATTR_ERROR_TYPE] = String(status);
    Object.freeze(attributes);
    found = { span: attributes, metric: attributes };
    if (byStatus.size < 1000) byStatus.set(status, found);
  }
  return found;
}
