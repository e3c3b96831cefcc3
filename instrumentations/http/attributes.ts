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
 * normalised and stripped of credentials, so the span can never carry more than the key.
 * Undefined for a unix socket (its path may name a user) or a key that could not be read.
 */
export function serverOfTargetKey(key: string): Server | undefined {
  const m = TCP_KEY.exec(key);
  if (m === null) return undefined;
  const host = m[2]!;
  const address = host.charCodeAt(0) === 91 ? host.slice(1, -1) : host; // server.address has no brackets
  if (address === 'invalid') return undefined;
  return { scheme: m[1] as 'http' | 'https', address, port: Number(m[3]) };
}

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
