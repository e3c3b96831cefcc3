import { httpTargetKey } from '../../src/target-key.js';
import { serverOfTargetKey, type Server } from '../kit/http-server.js';
import { mergedOptions } from './request-options.js';
import type { RequestCall } from './request-options.js';
import type { MethodAttributes } from './attributes.js';

/**
 * Where one http.request call goes, worked out once per distinct origin rather than per
 * call: the target key (src/target-key.ts), the server it names and the origin a
 * recorded `url.full` starts with. Nothing here depends on the path or query.
 */
export interface RequestTarget {
  readonly key: string;
  readonly scheme: 'http' | 'https';
  /** Undefined for a unix socket or a key that names no server. */
  readonly server: Server | undefined;
  /**
   * `host[:port]` (the port only when not the scheme's default) of a recorded `url.full`,
   * from the key, so never credentials; `localhost` for a unix socket, as the official
   * instrumentation writes it; undefined when the key names nothing.
   */
  readonly authority: string | undefined;
  /** Per-method attributes (attributes.ts), built on first use. */
  readonly methods: Map<string, MethodAttributes>;
}

// Distinct origins are few in a real service; the bound only guards against a caller
// that dials a new host per call (then the cache is rebuilt, never grown past it).
const CACHE_LIMIT = 256;

/** A cached target, valid for the agent defaults it was computed with. */
interface Entry {
  readonly target: RequestTarget;
  readonly agentProtocol: unknown;
  readonly agentDefaultPort: unknown;
  readonly fallbackProtocol: unknown;
  readonly fallbackDefaultPort: unknown;
}

const cache = new Map<string, Entry>();

function objectOrUndefined(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * What the agent adds to where a request goes: its protocol and default port, and those
 * of `_defaultAgent` (target-key.ts reads them too). Compared on each hit rather than put
 * in the key: building a longer key string per call costs more than four reads.
 */
function sameAgent(entry: Entry, options: Record<string, unknown>): boolean {
  const agent = objectOrUndefined(options.agent);
  const fallback = objectOrUndefined(options._defaultAgent);
  return (
    entry.agentProtocol === agent?.protocol &&
    entry.agentDefaultPort === agent?.defaultPort &&
    entry.fallbackProtocol === fallback?.protocol &&
    entry.fallbackDefaultPort === fallback?.defaultPort
  );
}

function remember(cacheKey: string, target: RequestTarget, options: Record<string, unknown>): RequestTarget {
  const agent = objectOrUndefined(options.agent);
  const fallback = objectOrUndefined(options._defaultAgent);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(cacheKey, {
    target,
    agentProtocol: agent?.protocol,
    agentDefaultPort: agent?.defaultPort,
    fallbackProtocol: fallback?.protocol,
    fallbackDefaultPort: fallback?.defaultPort,
  });
  return target;
}

function buildTarget(key: string): RequestTarget {
  const scheme = key.startsWith('https') ? 'https' : 'http';
  const server = serverOfTargetKey(key);
  let authority: string | undefined;
  if (server !== undefined) {
    const host = server.address.includes(':') ? `[${server.address}]` : server.address;
    authority = server.port === (scheme === 'https' ? 443 : 80) ? host : `${host}:${server.port}`;
  } else if (key.includes('+unix://')) {
    authority = 'localhost';
  }
  return { key, scheme, server, authority, methods: new Map() };
}

/** A primitive option value as part of a cache key; undefined when the value is not one (no caching then). */
function keyPart(value: unknown): string | undefined {
  switch (typeof value) {
    case 'undefined':
      return '';
    case 'number':
    case 'boolean':
      return String(value);
    case 'string':
      // Credentials never go into a key, even an in-memory one: such calls are not cached.
      return value.includes('@') || value.includes('\u0000') ? undefined : value;
    default:
      return value === null ? '' : undefined;
  }
}

/** The options that say where a request goes; with a URL argument, any of them overrides the URL's own. */
const LOCATION_OPTIONS = ['protocol', 'hostname', 'host', 'port', 'socketPath', 'defaultPort'] as const;

function cacheKeyOfOptions(options: Record<string, unknown>, defaultProtocol: string): string | undefined {
  let key = `o\u0000${defaultProtocol}`;
  for (const name of LOCATION_OPTIONS) {
    const part = keyPart(options[name]);
    if (part === undefined) return undefined;
    key += `\u0000${part}`;
  }
  return key;
}

function hasLocationOption(options: Record<string, unknown>): boolean {
  for (const name of LOCATION_OPTIONS) if (options[name] !== undefined) return true;
  return false;
}

/** `http:` or `https:` followed by `//`, in any case: the only URL strings read without the URL parser. */
function schemeLength(url: string): number {
  const c = url.charCodeAt(4);
  const n = c === 58 /* : */ ? 5 : (c | 32) === 115 /* s */ && url.charCodeAt(5) === 58 ? 6 : 0;
  if (n === 0 || url.charCodeAt(n) !== 47 || url.charCodeAt(n + 1) !== 47) return 0;
  return (url.charCodeAt(0) | 32) === 104 && (url.charCodeAt(1) | 32) === 116 && (url.charCodeAt(2) | 32) === 116 && (url.charCodeAt(3) | 32) === 112 ? n : 0;
}

/**
 * The cache key of a URL string: its scheme and authority (`http://host:port`, as
 * written). Undefined when the string is not a plain `http(s)://host[:port]...` URL.
 *
 * Sound because a special URL's host and port, and whether it parses at all, depend
 * only on its scheme and authority (the WHATWG parser percent-encodes any path and
 * query), given the agent defaults the entry is checked against; an entry is stored
 * only after the URL parser accepted the whole string.
 */
function cacheKeyOfUrlString(url: string): string | undefined {
  const n = schemeLength(url);
  if (n === 0) return undefined;
  const from = n + 2;
  let end = url.length;
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35 || c === 92) {
      end = i;
      break;
    }
    // Only what a host name, an IP literal and a port are made of: anything else (credentials, spaces...) is parsed each time.
    const plain = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 58) || c === 45 || c === 46 || c === 95 || c === 91 || c === 93;
    if (!plain) return undefined;
  }
  return end === from || end - from > 300 ? undefined : url.slice(0, end);
}

/** A URL object's key: its scheme and host (with the port), unless it carries credentials. */
function cacheKeyOfUrl(url: URL): string | undefined {
  if (url.username !== '' || url.password !== '') return undefined;
  return `U\u0000${url.protocol}//${url.host}`;
}

/** The slow path: Node's merge of the arguments, then the key of what it says. Undefined for a URL Node rejects. */
function uncachedTarget(call: RequestCall, defaultProtocol: 'http:' | 'https:'): RequestTarget | undefined {
  let merged: Record<string, unknown>;
  try {
    merged = mergedOptions(call);
  } catch {
    return undefined; // ERR_INVALID_URL: Node throws it from the original
  }
  return buildTarget(httpTargetKey(merged, defaultProtocol));
}

/**
 * The target of one call, from a small cache keyed by where it goes (scheme, host, port,
 * socket path; checked against the agent's defaults), never by path or query; undefined
 * when Node would reject the URL, so the call can go to Node as it is.
 */
export function requestTarget(call: RequestCall, defaultProtocol: 'http:' | 'https:'): RequestTarget | undefined {
  const { url, options } = call;
  let cacheKey: string | undefined;
  if (url === undefined) cacheKey = cacheKeyOfOptions(options, defaultProtocol);
  else if (!hasLocationOption(options)) {
    if (typeof url === 'string') cacheKey = cacheKeyOfUrlString(url);
    else if (url instanceof URL) cacheKey = cacheKeyOfUrl(url);
  }
  if (cacheKey !== undefined) {
    const hit = cache.get(cacheKey);
    if (hit !== undefined && sameAgent(hit, options)) return hit.target;
  }
  const computed = uncachedTarget(call, defaultProtocol);
  if (computed === undefined || cacheKey === undefined) return computed;
  return remember(cacheKey, computed, options);
}

/** Forgets every cached target (tests). */
export function clearRequestTargets(): void {
  cache.clear();
}
