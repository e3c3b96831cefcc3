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

/**
 * The attempt span of one request: named for the method (`GET`; `HTTP` for an unknown
 * one, as the conventions ask), with the method, server and scheme. fetch sends the
 * six standard methods upper-cased whatever the caller wrote, others as given.
 */
export function fetchAttemptSpan(method: string, targetKey: string, kind: SpanKind = SpanKind.CLIENT): AttemptSpanOptions {
  const upper = method.toUpperCase();
  const known = KNOWN_METHODS.has(upper);
  const attributes: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: known ? upper : OTHER_METHOD };
  if (!known || upper !== method) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = method;
  const server = serverOfTargetKey(targetKey);
  if (server !== undefined) {
    attributes[ATTR_URL_SCHEME] = server.scheme;
    attributes[ATTR_SERVER_ADDRESS] = server.address;
    attributes[ATTR_SERVER_PORT] = server.port;
  }
  return { name: known ? upper : 'HTTP', kind, attributes };
}
