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
const cache = new Map<string, RequestTarget>();

function remember(cacheKey: string, target: RequestTarget): RequestTarget {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(cacheKey, target);
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

/** What the agent adds to where a request goes: its protocol and default port (target-key.ts reads them too). */
function agentParts(options: Record<string, unknown>): string | undefined {
  const agent = options.agent;
  const fallback = options._defaultAgent;
  const a = typeof agent === 'object' && agent !== null ? (agent as Record<string, unknown>) : undefined;
  const f = typeof fallback === 'object' && fallback !== null ? (fallback as Record<string, unknown>) : undefined;
  const parts = [keyPart(a?.protocol), keyPart(a?.defaultPort), keyPart(f?.protocol), keyPart(f?.defaultPort)];
  return parts.includes(undefined) ? undefined : parts.join('\u0000');
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
  const agent = agentParts(options);
  return agent === undefined ? undefined : `${key}\u0000${agent}`;
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
  return url.slice(0, 4).toLowerCase() === 'http' ? n : 0;
}

/** Characters an authority may hold to be cached: a host name, an IP literal, a port. Anything else is parsed each time. */
function isPlainAuthority(text: string): boolean {
  if (text.length === 0 || text.length > 300) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 58) || c === 45 || c === 46 || c === 95 || c === 91 || c === 93;
    if (!ok) return false;
  }
  return true;
}

/** Where the authority of an `http(s)://` string ends: the first `/`, `?`, `#` or `\` after it. */
export function authorityEnd(url: string, from: number): number {
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35 || c === 92) return i;
  }
  return url.length;
}

/**
 * The cache key of a URL string: its scheme and authority, and, when the URL names no
 * port, the default ports the options and agent may supply (Node connects there).
 * Undefined when the string is not a plain `http(s)://host[:port]...` URL.
 *
 * Sound because a special URL's host and port, and whether it parses at all, depend
 * only on its scheme and authority (the WHATWG parser percent-encodes any path and
 * query); the entry is stored only after the URL parser accepted the whole string.
 */
function cacheKeyOfUrlString(url: string, options: Record<string, unknown>): string | undefined {
  const n = schemeLength(url);
  if (n === 0) return undefined;
  const end = authorityEnd(url, n + 2);
  const authority = url.slice(n + 2, end);
  if (!isPlainAuthority(authority)) return undefined;
  const agent = agentParts(options);
  if (agent === undefined) return undefined;
  return `u\u0000${url.slice(0, n).toLowerCase()}${authority}\u0000${agent}`;
}

/** A URL object's key: its scheme and host (with the port), unless it carries credentials. */
function cacheKeyOfUrl(url: URL, options: Record<string, unknown>): string | undefined {
  if (url.username !== '' || url.password !== '') return undefined;
  const agent = agentParts(options);
  return agent === undefined ? undefined : `u\u0000${url.protocol}//${url.host}\u0000${agent}`;
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
 * socket path, the agent's defaults), never by path or query; undefined when Node would
 * reject the URL, so the call can go to Node as it is.
 */
export function requestTarget(call: RequestCall, defaultProtocol: 'http:' | 'https:'): RequestTarget | undefined {
  const { url, options } = call;
  let cacheKey: string | undefined;
  if (url === undefined) cacheKey = cacheKeyOfOptions(options, defaultProtocol);
  else if (!hasLocationOption(options)) {
    if (typeof url === 'string') cacheKey = cacheKeyOfUrlString(url, options);
    else if (url instanceof URL) cacheKey = cacheKeyOfUrl(url, options);
  }
  if (cacheKey !== undefined) {
    const hit = cache.get(cacheKey);
    if (hit !== undefined) return hit;
  }
  const computed = uncachedTarget(call, defaultProtocol);
  if (computed === undefined || cacheKey === undefined) return computed;
  return remember(cacheKey, computed);
}

/** Forgets every cached target (tests). */
export function clearRequestTargets(): void {
  cache.clear();
}
