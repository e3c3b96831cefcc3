import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { isObjectLike, readProperty } from './classify/safe.js';

/**
 * Target keys (design.md section 4): the name of the dependency a call goes to, as
 * `<scheme>://<host>:<port>[/<db>]`. A key picks the breaker, retry budget and bulkhead
 * a call shares with others and is the `resilience.target` label, so it is built
 * only from where the connection goes: never a user name, password, path, query or
 * fragment, which may hold secrets and would multiply the key space.
 *
 * - Hosts are lower-cased, a trailing dot dropped, IDNs in punycode, IPv6 bracketed
 *   and canonical (`http://[::1]:8080`); a default port is written out (`:443`).
 * - A unix socket is `<scheme>+unix://<name>-<hash>:<port>`: the socket file's base name
 *   (or a pg socket directory's), lower-cased, at most 32 characters of `a-z 0-9 . _ -`,
 *   plus eight hex digits of a hash of the whole path, so two sockets of the same name
 *   in different directories stay apart while the key leaks no directory (a home
 *   directory names its user). Port 0 where there is no TCP port.
 * - Anything that cannot be read as a target gives `<scheme>://invalid:0`: the functions
 *   here never throw, whatever they are given (a bad target is the classifier's
 *   `configuration` failure to report, not a crash in the adapter).
 *
 * Formats and the reasons for each choice: docs/replay-safety.md, "Target keys".
 */

/** The host of every key that could not be read. */
export const INVALID_HOST = 'invalid';
const HTTP_INVALID = `http://${INVALID_HOST}:0`;
const PG_INVALID = `postgresql://${INVALID_HOST}:0`;
const REDIS_INVALID = `redis://${INVALID_HOST}:0`;

// ---------------------------------------------------------------------------------------
// Shared pieces: host, port, socket name

const HOST_MAX = 253;

function isPlainHostname(host: string): boolean {
  const n = host.length;
  if (n === 0 || n > HOST_MAX) return false;
  for (let i = 0; i < n; i++) {
    const c = host.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95; // a-z 0-9 - . _
    if (!ok) return false;
  }
  return true;
}

/** `[canonical]` for an IPv6 literal (a zone id is dropped), else undefined. */
function ipv6Host(address: string): string | undefined {
  const zone = address.indexOf('%');
  const bare = zone >= 0 ? address.slice(0, zone) : address;
  if (!isIPv6(bare)) return undefined;
  try {
    return new URL(`http://[${bare}]/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * The host part of a key, or undefined when `raw` is not a host. Anything up to an `@`
 * is dropped first: a host never carries credentials into a key.
 */
function hostOf(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  let host = raw;
  const at = host.lastIndexOf('@');
  if (at >= 0) host = host.slice(at + 1);
  if (host.length === 0 || host.length > HOST_MAX + 2) return undefined;
  if (host.charCodeAt(0) === 91 && host.charCodeAt(host.length - 1) === 93) host = host.slice(1, -1); // [...]
  if (host.includes(':')) return ipv6Host(host);
  host = host.toLowerCase();
  if (host.length > 1 && host.endsWith('.')) host = host.slice(0, -1);
  if (isPlainHostname(host)) return host;
  const ascii = domainToASCII(host); // '' when it is not a domain name
  return isPlainHostname(ascii) ? ascii : undefined;
}

/**
 * A TCP port: a whole number 1 to 65535, or its decimal string. Missing (undefined,
 * null, '', 0) means `fallback`, as in node:http and pg; anything else is undefined.
 */
function portOf(raw: unknown, fallback: number): number | undefined {
  if (isUnset(raw)) return fallback;
  let n = Number.NaN;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && raw.length <= 5 && /^\d+$/.test(raw)) n = Number(raw);
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : undefined;
}

/** 32-bit FNV-1a over UTF-16 code units, as 8 hex digits: short, stable, dependency-free. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

const SOCKET_NAME_MAX = 32;

/** `<base name>-<hash of the whole path>` for a unix socket path or socket directory. */
function socketName(path: string): string {
  let end = path.length;
  while (end > 1 && (path.charCodeAt(end - 1) === 47 || path.charCodeAt(end - 1) === 92)) end--; // trailing / or \
  const trimmed = path.slice(0, end);
  const start = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\')) + 1;
  let base = trimmed.slice(start).toLowerCase().replace(/[^a-z0-9._-]/g, '_');
  if (base.length > SOCKET_NAME_MAX) base = base.slice(0, SOCKET_NAME_MAX);
  if (base.length === 0) base = 'socket';
  return `${base}-${fnv1a(path)}`;
}

function splitHostPort(host: string): [string, string | undefined] {
  if (host.charCodeAt(0) === 91) {
    // [v6]:port
    const close = host.indexOf(']');
    if (close > 0 && host.charCodeAt(close + 1) === 58) return [host.slice(0, close + 1), host.slice(close + 2)];
    return [host, undefined];
  }
  const colon = host.indexOf(':');
  if (colon >= 0 && colon === host.lastIndexOf(':')) return [host.slice(0, colon), host.slice(colon + 1)];
  return [host, undefined]; // no port, or a bare IPv6 literal
}

/** What node:http and pg treat as "not given": `options.port || default`. */
function isUnset(value: unknown): boolean {
  return value === undefined || value === null || value === '' || value === 0;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

// ---------------------------------------------------------------------------------------
// HTTP

function httpScheme(protocol: unknown): 'http' | 'https' | undefined {
  if (typeof protocol !== 'string') return undefined;
  const p = protocol.toLowerCase();
  if (p === 'http:' || p === 'http') return 'http';
  if (p === 'https:' || p === 'https') return 'https';
  return undefined;
}

function httpKeyFromUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return HTTP_INVALID;
  }
  const scheme = httpScheme(url.protocol);
  if (scheme === undefined) return HTTP_INVALID;
  const host = hostOf(url.hostname);
  const port = portOf(url.port, scheme === 'https' ? 443 : 80);
  if (host === undefined || port === undefined) return `${scheme}://${INVALID_HOST}:0`;
  return `${scheme}://${host}:${port}`;
}

/** `options.agent`, else `options._defaultAgent` (what https.request puts there). */
function agentProperty(options: object, key: string): unknown {
  const agent = readProperty(options, 'agent');
  const fromAgent = isObjectLike(agent) ? readProperty(agent, key) : undefined;
  if (fromAgent !== undefined && fromAgent !== null && fromAgent !== '') return fromAgent;
  const fallback = readProperty(options, '_defaultAgent');
  return isObjectLike(fallback) ? readProperty(fallback, key) : undefined;
}

function httpKeyFromOptions(options: object, defaultProtocol: string | undefined): string {
  const protocol = nonEmptyString(readProperty(options, 'protocol')) ?? nonEmptyString(agentProperty(options, 'protocol')) ?? defaultProtocol ?? 'http:';
  const scheme = httpScheme(protocol);
  if (scheme === undefined) return HTTP_INVALID;
  const socketPath = nonEmptyString(readProperty(options, 'socketPath'));
  if (socketPath !== undefined) return `${scheme}+unix://${socketName(socketPath)}:0`;

  // node:http: `hostname` wins over `host`; neither means localhost.
  let rawHost = nonEmptyString(readProperty(options, 'hostname'));
  let portInHost: string | undefined;
  if (rawHost === undefined) {
    const host = nonEmptyString(readProperty(options, 'host'));
    if (host !== undefined) [rawHost, portInHost] = splitHostPort(host);
  }
  const host = hostOf(rawHost ?? 'localhost');
  const fallbackPort = portOf(readProperty(options, 'defaultPort'), 0) || portOf(agentProperty(options, 'defaultPort'), 0) || (scheme === 'https' ? 443 : 80);
  const explicitPort = readProperty(options, 'port');
  const port = portOf(isUnset(explicitPort) ? portInHost : explicitPort, fallbackPort);
  if (host === undefined || port === undefined) return `${scheme}://${INVALID_HOST}:0`;
  return `${scheme}://${host}:${port}`;
}

function httpKeyUnsafe(input: unknown, defaultProtocol: string | undefined): string {
  if (typeof input === 'string') return httpKeyFromUrl(input);
  if (!isObjectLike(input)) return HTTP_INVALID;
  // node:http options, and anything shaped like them (a URL, a url.parse() result), say
  // where to connect in `hostname`/`host`/`socketPath`: those win over an `href` that
  // http.request(url, { hostname }) leaves behind when it merges the two.
  const located = ['socketPath', 'hostname', 'host'].some((key) => nonEmptyString(readProperty(input, key)) !== undefined);
  if (!located) {
    // undici's dispatch options ({ origin }), a fetch Request ({ url }), a URL-like ({ href }).
    for (const key of ['origin', 'url', 'href']) {
      let value = readProperty(input, key);
      if (isObjectLike(value)) value = readProperty(value, 'href');
      if (typeof value === 'string') return httpKeyFromUrl(value);
    }
  }
  return httpKeyFromOptions(input, defaultProtocol);
}

/**
 * The target key of an HTTP request: `https://api.example.com:443`.
 *
 * `input` is a URL string, a URL (or anything with a string `href`), undici's dispatch
 * options (`{ origin }`), a fetch Request (`{ url }`), or node:http request options
 * (`protocol`, `hostname` or `host` (which may carry `:port`), `port`, `defaultPort`,
 * `socketPath`, `agent` and `_defaultAgent` with their `protocol` and `defaultPort`).
 * `defaultProtocol` is the protocol of the module that was called when the options do
 * not say (`'https:'` for https.request); default `'http:'`. Never throws.
 */
export function httpTargetKey(input: unknown, defaultProtocol?: 'http:' | 'https:'): string {
  try {
    return httpKeyUnsafe(input, defaultProtocol);
  } catch {
    return HTTP_INVALID;
  }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

interface PgParts {
  host?: unknown;
  port?: unknown;
  database?: unknown;
}

function lastParam(url: URL, name: string): string | undefined {
  const all = url.searchParams.getAll(name);
  return all.length > 0 ? all[all.length - 1] : undefined;
}

/**
 * The host, port and database of a pg connection string, read as pg-connection-string
 * reads it (a `/socket/dir db` pair, `socket:/dir?db=`, or a URL whose `host` and `port`
 * query parameters win over its authority), or undefined when pg could not parse it.
 * The user name, password and other parameters are never looked at.
 */
function parsePgConnectionString(input: string): PgParts | undefined {
  if (input.charAt(0) === '/') {
    const parts = input.split(' ');
    return { host: parts[0], database: parts[1] };
  }
  let text = input;
  if (/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(text)) text = encodeURI(text).replace(/%25(\d\d)/g, '%$1');
  let url: URL;
  let dummyHost = false;
  try {
    url = new URL(text, 'postgres://base');
  } catch {
    try {
      url = new URL(text.replace('@/', '@___DUMMY___/'), 'postgres://base');
      dummyHost = true;
    } catch {
      return undefined;
    }
  }
  const parts: PgParts = {};
  const queryHost = lastParam(url, 'host');
  const queryPort = lastParam(url, 'port');
  if (url.protocol === 'socket:') {
    return { host: decodeURI(url.pathname), port: queryPort, database: url.searchParams.get('db') };
  }
  const hostname = (dummyHost ? '' : url.hostname).replace(/^\[(.+)\]$/, '$1');
  let pathname = url.pathname;
  if (!queryHost) parts.host = decodeURIComponent(hostname);
  else {
    parts.host = queryHost;
    if (hostname && /^%2f/i.test(hostname)) pathname = hostname + pathname;
  }
  parts.port = queryPort || url.port;
  const database = pathname.slice(1);
  parts.database = database ? decodeURI(database) : null;
  return parts;
}

const DATABASE_MAX = 192;

/** `/<db>` with the name percent-encoded, '' for none, undefined for a value that is no name. */
function databasePart(database: unknown): string | undefined {
  if (database === undefined || database === null || database === '') return '';
  if (typeof database !== 'string' && typeof database !== 'number') return undefined;
  const encoded = encodeURIComponent(String(database));
  return encoded.length <= DATABASE_MAX ? `/${encoded}` : undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

function pgKeyUnsafe(config: unknown, env: Env): string {
  let parts: PgParts;
  if (typeof config === 'string') {
    const parsed = parsePgConnectionString(config);
    if (parsed === undefined) return PG_INVALID;
    parts = parsed;
  } else if (isObjectLike(config)) {
    parts = { host: readProperty(config, 'host'), port: readProperty(config, 'port'), database: readProperty(config, 'database') };
    const connectionString = nonEmptyString(readProperty(config, 'connectionString'));
    if (connectionString !== undefined) {
      // pg: Object.assign({}, config, parse(connectionString)): what the string sets wins.
      const parsed = parsePgConnectionString(connectionString);
      if (parsed === undefined) return PG_INVALID;
      parts = { ...parts, ...parsed };
    }
  } else if (config === undefined || config === null) {
    parts = {};
  } else {
    return PG_INVALID;
  }
  // pg's own fallbacks: any falsy value means "not set".
  const rawHost = parts.host || env['PGHOST'] || 'localhost';
  const port = portOf(parts.port || env['PGPORT'], 5432);
  // Without a database pg connects to the one named after the user: the key then has
  // none rather than carry the user name.
  const database = databasePart(parts.database || env['PGDATABASE']);
  if (port === undefined || database === undefined || typeof rawHost !== 'string') return PG_INVALID;
  if (rawHost.charCodeAt(0) === 47) return `postgresql+unix://${socketName(rawHost)}:${port}${database}`; // a socket directory
  const host = hostOf(rawHost);
  return host === undefined ? PG_INVALID : `postgresql://${host}:${port}${database}`;
}

/**
 * The target key of a PostgreSQL connection: `postgresql://db:5432/app`.
 *
 * `config` is what pg's Client or Pool is given: a connection string, or an object with
 * `host` (a name, an IP, or a unix socket directory), `port`, `database` and
 * `connectionString` (whose values win, as in pg). A pg `Client` works too (it holds
 * the resolved `host`, `port` and `database`, including `pg.defaults`); for a Pool,
 * pass `pool.options`. Missing values fall back as pg's do: `PGHOST`, `PGPORT`,
 * `PGDATABASE` from `env`, then localhost and 5432. With no database at all the key has
 * no `/db` (pg would use the user's name). Never throws.
 */
export function pgTargetKey(config: unknown, env: Env = process.env): string {
  try {
    return pgKeyUnsafe(config, env);
  } catch {
    return PG_INVALID;
  }
}

// ---------------------------------------------------------------------------------------
// Redis

interface RedisEndpoint {
  tls: boolean;
  host?: unknown;
  port?: unknown;
  path?: unknown;
  db?: unknown;
}

/** A database number: a whole number 0 to 2^31 - 1 or its decimal string; missing is 0. */
function dbOf(raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === '') return 0;
  let n = Number.NaN;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && raw.length <= 10 && /^\d+$/.test(raw)) n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 0x7fffffff ? n : undefined;
}

/** ioredis's `tls` (an options object, `true`, or a profile name) and node-redis's `socket.tls: true`. */
function tlsOn(value: unknown): boolean {
  return value === true || isObjectLike(value) || (typeof value === 'string' && value.length > 0);
}

const UNIX_URL = /^unix:\/\/(?:[^:@/]*(?::[^@/]*)?@)?(\/[^?#]*)(?:\?([^#]*))?(?:#.*)?$/i;

/**
 * A Redis URL as ioredis or node-redis reads it: `redis://`/`rediss://` URLs (the path
 * or a `db` parameter is the database), ioredis's `//host:port`, `host:port`, a port
 * number, a socket path (`/tmp/redis.sock?db=2`), and node-redis's `unix:///path?db=2`.
 * Undefined when it is none of these.
 */
function parseRedisUrl(text: string): RedisEndpoint | undefined {
  if (/^\d+$/.test(text)) return { tls: false, port: text };
  if (text.charCodeAt(0) === 47 && text.charCodeAt(1) !== 47) {
    const q = text.indexOf('?');
    const db = q >= 0 ? new URLSearchParams(text.slice(q + 1)).get('db') : null;
    return { tls: false, path: q >= 0 ? text.slice(0, q) : text, db };
  }
  if (/^unix:/i.test(text)) {
    const match = UNIX_URL.exec(text);
    if (match === null || match[1] === '/') return undefined;
    const db = match[2] !== undefined ? new URLSearchParams(match[2]).get('db') : null;
    return { tls: false, path: decodeURIComponent(match[1]!), db };
  }
  let url: URL;
  const withScheme = /^rediss?:\/\//i.test(text);
  if (withScheme) url = new URL(text);
  else if (text.startsWith('//')) url = new URL(`redis:${text}`);
  else if (text.includes('://')) return undefined;
  else url = new URL(`redis://${text}`);
  const endpoint: RedisEndpoint = { tls: url.protocol === 'rediss:' };
  if (url.hostname) endpoint.host = url.hostname;
  if (url.port) endpoint.port = url.port;
  const pathname = url.pathname;
  if (pathname && pathname !== '/') {
    if (withScheme || text.startsWith('//')) endpoint.db = pathname.slice(1);
    else endpoint.path = pathname; // ioredis reads `host:port/path` as a socket path
  }
  if (endpoint.db === undefined) {
    const db = url.searchParams.get('db');
    if (db !== null) endpoint.db = db;
  }
  return endpoint;
}

/** ioredis options (`host`, `port`, `path`, `db`, `tls`) and node-redis's (`url`, `socket`, `database`). */
function redisEndpoint(options: object): RedisEndpoint | undefined {
  const endpoint: RedisEndpoint = {
    tls: tlsOn(readProperty(options, 'tls')),
    host: readProperty(options, 'host'),
    port: readProperty(options, 'port'),
    path: readProperty(options, 'path'),
    db: readProperty(options, 'db'),
  };
  const socket = readProperty(options, 'socket');
  if (isObjectLike(socket)) {
    for (const key of ['host', 'port', 'path'] as const) {
      const value = readProperty(socket, key);
      if (value !== undefined) endpoint[key] = value;
    }
    if (readProperty(socket, 'tls') === true) endpoint.tls = true;
  }
  const database = readProperty(options, 'database');
  if (database !== undefined) endpoint.db = database;
  const url = readProperty(options, 'url');
  if (typeof url === 'string') {
    // node-redis: what the URL says wins over `socket` and `database`.
    const parsed = parseRedisUrl(url);
    if (parsed === undefined) return undefined;
    endpoint.tls = parsed.tls;
    for (const key of ['host', 'port', 'path', 'db'] as const) if (parsed[key] !== undefined && parsed[key] !== null) endpoint[key] = parsed[key];
  }
  return endpoint;
}

function endpointKey(endpoint: RedisEndpoint | undefined): string {
  if (endpoint === undefined) return REDIS_INVALID;
  const db = dbOf(endpoint.db);
  const path = nonEmptyString(endpoint.path);
  if (db === undefined) return REDIS_INVALID;
  if (path !== undefined) return `redis+unix://${socketName(path)}:0/${db}`;
  const host = hostOf(endpoint.host ?? 'localhost');
  const port = portOf(endpoint.port, 6379);
  if (host === undefined || port === undefined) return REDIS_INVALID;
  return `${endpoint.tls ? 'rediss' : 'redis'}://${host}:${port}/${db}`;
}

const CLUSTER_SEEDS_MAX = 64;

/** A cluster seed: ioredis's `{ host, port }`, `'host:port'`, URL or port; node-redis's `{ url }` or `{ socket }`. */
function seedEndpoint(seed: unknown): RedisEndpoint | undefined {
  try {
    if (typeof seed === 'string') return parseRedisUrl(seed);
    if (typeof seed === 'number') return { tls: false, port: seed };
    return isObjectLike(seed) ? redisEndpoint(seed) : undefined;
  } catch {
    return undefined; // one unreadable seed does not hide the others
  }
}

/**
 * A cluster is named by its smallest seed `host:port` (so the order the seeds are
 * listed in does not matter), with db 0, the only one a cluster has.
 */
function clusterKey(seeds: unknown, tls: boolean): string {
  if (!Array.isArray(seeds)) return `redis+cluster://${INVALID_HOST}:0/0`;
  let best: string | undefined;
  let anyTls = tls;
  const n = Math.min(seeds.length, CLUSTER_SEEDS_MAX);
  for (let i = 0; i < n; i++) {
    const seed: unknown = seeds[i];
    const endpoint = seedEndpoint(seed);
    if (endpoint === undefined) continue;
    const host = hostOf(endpoint.host ?? 'localhost');
    const port = portOf(endpoint.port, 6379);
    if (host === undefined || port === undefined) continue;
    if (endpoint.tls) anyTls = true;
    const hostPort = `${host}:${port}`;
    if (best === undefined || hostPort < best) best = hostPort;
  }
  const scheme = anyTls ? 'rediss+cluster' : 'redis+cluster';
  return `${scheme}://${best ?? `${INVALID_HOST}:0`}/0`;
}

const SENTINEL_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * A Sentinel-managed group is named by its master name, not by an address: a failover
 * moves the master but it is still the same dependency with the same breaker. Reads
 * sent to replicas (ioredis `role: 'slave'`) are a separate target: `<name>.replica`.
 */
function sentinelKey(name: unknown, db: unknown, tls: boolean, replica: boolean): string {
  const scheme = tls ? 'rediss+sentinel' : 'redis+sentinel';
  const n = dbOf(db);
  if (typeof name !== 'string' || !SENTINEL_NAME.test(name) || n === undefined) return `${scheme}://${INVALID_HOST}:0/0`;
  return `${scheme}://${name.toLowerCase()}${replica ? '.replica' : ''}:0/${n}`;
}

function redisKeyUnsafe(options: unknown): string {
  if (options === undefined || options === null) return endpointKey({ tls: false });
  if (typeof options === 'number') return endpointKey({ tls: false, port: options });
  if (typeof options === 'string') return endpointKey(parseRedisUrl(options));
  if (Array.isArray(options)) return clusterKey(options, false);
  if (!isObjectLike(options)) return REDIS_INVALID;

  // node-redis createCluster({ rootNodes, defaults }) and ioredis's Cluster (startupNodes, options.redisOptions).
  const rootNodes = readProperty(options, 'rootNodes');
  if (Array.isArray(rootNodes)) {
    const defaults = readProperty(options, 'defaults');
    const socket = isObjectLike(defaults) ? readProperty(defaults, 'socket') : undefined;
    return clusterKey(rootNodes, isObjectLike(socket) && readProperty(socket, 'tls') === true);
  }
  const startupNodes = readProperty(options, 'startupNodes');
  if (Array.isArray(startupNodes)) {
    const clusterOptions = readProperty(options, 'options');
    const redisOptions = isObjectLike(clusterOptions) ? readProperty(clusterOptions, 'redisOptions') : undefined;
    return clusterKey(startupNodes, isObjectLike(redisOptions) && tlsOn(readProperty(redisOptions, 'tls')));
  }

  // ioredis { sentinels, name, role } and node-redis createSentinel({ name, sentinelRootNodes }).
  const sentinels = readProperty(options, 'sentinels') ?? readProperty(options, 'sentinelRootNodes');
  if (Array.isArray(sentinels) && sentinels.length > 0) {
    const nodeOptions = readProperty(options, 'nodeClientOptions');
    const nodeSocket = isObjectLike(nodeOptions) ? readProperty(nodeOptions, 'socket') : undefined;
    const tls =
      tlsOn(readProperty(options, 'tls')) || readProperty(options, 'enableTLSForSentinelMode') === true || (isObjectLike(nodeSocket) && readProperty(nodeSocket, 'tls') === true);
    const db = readProperty(options, 'db') ?? (isObjectLike(nodeOptions) ? readProperty(nodeOptions, 'database') : undefined);
    return sentinelKey(readProperty(options, 'name'), db, tls, readProperty(options, 'role') === 'slave');
  }
  return endpointKey(redisEndpoint(options));
}

/**
 * The target key of a Redis connection: `redis://cache:6379/0` (`rediss://` for TLS).
 *
 * `options` is what ioredis (`new Redis(options)`, or the instance's `options`) or
 * node-redis (`createClient(options)`) is given: a URL string or port number, or an
 * object with ioredis's `host`, `port`, `path`, `db`, `tls` or node-redis's `url`,
 * `socket: { host, port, path, tls }`, `database`. A socket path gives
 * `redis+unix://<name>-<hash>:0/<db>`; Sentinel options (`sentinels` + `name`, or
 * `sentinelRootNodes`) give `redis+sentinel://<name>:0/<db>`; a cluster (an array of
 * seeds, `{ rootNodes }`, or an ioredis Cluster with its `startupNodes`) gives
 * `redis+cluster://<smallest seed host:port>/0`. Defaults: localhost, 6379, db 0.
 * Never throws.
 */
export function redisTargetKey(options?: unknown): string {
  try {
    return redisKeyUnsafe(options);
  } catch {
    return REDIS_INVALID;
  }
}
