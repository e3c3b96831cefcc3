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
} from './semconv.js';

/** `scheme://host:port` of a TCP target key (src/target-key.ts); unix-socket and invalid keys do not match. */
const TCP_KEY = /^(https?):\/\/(\[[0-9a-f:.]+\]|[a-z0-9._-]+):(\d{1,5})$/;

export interface Server {
  scheme: 'http' | 'https';
  address: string;
  port: number;
}

/**
 * Where the request goes, read back from its target key: the key holds the host already
 * normalised and stripped of credentials, so a span can never carry more than the key.
 * Undefined for a key that names no TCP server (a unix socket, an invalid URL).
 */
export function serverOfTargetKey(key: string): Server | undefined {
  const m = TCP_KEY.exec(key);
  if (m === null) return undefined;
  const host = m[2]!;
  const address = host.charCodeAt(0) === 91 ? host.slice(1, -1) : host; // server.address has no brackets
  if (address === 'invalid' || address === 'other') return undefined;
  return { scheme: m[1] as 'http' | 'https', address, port: Number(m[3]) };
}

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
