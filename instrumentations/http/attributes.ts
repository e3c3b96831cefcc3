import { SpanKind } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import type { AttemptSpanOptions } from '../../src/telemetry/operation.js';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_SCHEME,
  KNOWN_METHODS,
  OTHER_METHOD,
} from '../kit/semconv.js';
import { serverOfTargetKey } from '../kit/http-server.js';

export { serverOfTargetKey, type Server } from '../kit/http-server.js';

/** The method as the conventions record it: a known method upper-cased, anything else `_OTHER`. */
export function conventionalMethod(method: string): { method: string; original?: string } {
  return KNOWN_METHODS.has(method) ? { method } : { method: OTHER_METHOD, original: method };
}

/**
 * The attempt span of one HTTP request: named for the method (`GET`; `HTTP` for an
 * unknown one, as the conventions ask), with the method, server and scheme. The status
 * code is added when the response arrives.
 */
export function httpAttemptSpan(method: string, scheme: 'http' | 'https', targetKey: string, kind: SpanKind = SpanKind.CLIENT): AttemptSpanOptions {
  const { method: recorded, original } = conventionalMethod(method);
  const attributes: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: recorded, [ATTR_URL_SCHEME]: scheme };
  if (original !== undefined) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = original;
  const server = serverOfTargetKey(targetKey);
  if (server !== undefined) {
    attributes[ATTR_SERVER_ADDRESS] = server.address;
    attributes[ATTR_SERVER_PORT] = server.port;
  }
  return { name: recorded === OTHER_METHOD ? 'HTTP' : recorded, kind, attributes };
}
