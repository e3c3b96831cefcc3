import { isIP } from 'node:net';

/**
 * Where fleet mode's Redis is, read from `redis://[user[:password]@]host[:port][/db]` or
 * `rediss://…` (TLS). The credentials are not properties of the endpoint: they sit in a
 * module-private WeakMap, so no `toString`, `JSON.stringify`, `util.inspect` or log line
 * of an endpoint (or of a client holding one) can print them; only the client's AUTH
 * reads them, through `credentialsOf`.
 */
export interface RedisEndpoint {
  readonly tls: boolean;
  /** Host name or IP address as `net.connect` takes it (an IPv6 address without brackets). */
  readonly host: string;
  readonly port: number;
  /** Database index for SELECT; 0 is Redis's default and needs no SELECT. */
  readonly db: number;
  /** `redis://host:port/db` (`rediss://` with TLS): never a user name or password. */
  describe(): string;
  toString(): string;
  toJSON(): string;
}

export interface RedisCredentials {
  /** undefined: `AUTH <password>` (the `default` user, or requirepass). */
  readonly username: string | undefined;
  readonly password: string;
}

/** The form parseRedisUrl reads, for messages. */
export const REDIS_URL_FORM = 'redis://[user[:password]@]host[:port][/db] or rediss://…';

/** A URL that could not be read; the message never repeats the URL (it may hold a password). */
export class RedisUrlError extends TypeError {
  override readonly name = 'RedisUrlError';
  /** What is wrong, in a few words (`the port must be 1 to 65535`), for messages of their own. */
  readonly reason: string;
  constructor(reason: string) {
    super(`invalid Redis URL: ${reason} (expected ${REDIS_URL_FORM})`);
    this.reason = reason;
  }
}

const DEFAULT_PORT = 6379;
/** Redis's `databases` default is 16, but servers may configure more: any non-negative 32-bit index. */
const MAX_DB = 2 ** 31 - 1;

const secrets = new WeakMap<RedisEndpoint, RedisCredentials>();

/** The endpoint's credentials, for the client's AUTH only: undefined when the URL had none. */
export function credentialsOf(endpoint: RedisEndpoint): RedisCredentials | undefined {
  return secrets.get(endpoint);
}

function fail(what: string): never {
  // No `cause`: Node's ERR_INVALID_URL carries the whole input, password included.
  throw new RedisUrlError(what);
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return fail(`the ${what} is not valid percent-encoding`);
  }
}

/**
 * Reads a Redis URL; throws RedisUrlError (whose message never holds the URL) when it
 * cannot. Query strings and fragments are refused rather than ignored: an option the
 * client does not understand (`?tls=…`, `?db=…` as other clients read them) must not be
 * dropped silently.
 */
export function parseRedisUrl(url: string): RedisEndpoint {
  if (typeof url !== 'string') fail('not a string');
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return fail('not a URL');
  }
  const scheme = parsed.protocol;
  if (scheme !== 'redis:' && scheme !== 'rediss:') fail('the scheme must be redis: or rediss:');
  if (parsed.search !== '' || parsed.hash !== '') fail('query strings and fragments are not supported');
  // WHATWG URL keeps `redis:` hosts opaque (not a special scheme): read host and port from it as given.
  const rawHost = parsed.hostname;
  if (rawHost === '') fail('no host');
  const host = rawHost.startsWith('[') && rawHost.endsWith(']') ? rawHost.slice(1, -1) : rawHost;
  if (isIP(host) !== 6 && !/^[A-Za-z0-9._-]+$/.test(host)) fail('the host is not a host name or IP address');
  let port = DEFAULT_PORT;
  if (parsed.port !== '') {
    port = Number(parsed.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail('the port must be 1 to 65535');
  }
  let db = 0;
  const path = parsed.pathname;
  if (path !== '' && path !== '/') {
    if (!/^\/\d{1,10}$/.test(path)) fail('the path must be a database number, as in /0');
    db = Number(path.slice(1));
    if (db > MAX_DB) fail('the database number is too large');
  }
  const username = parsed.username === '' ? undefined : decode(parsed.username, 'user name');
  const password = parsed.password === '' ? undefined : decode(parsed.password, 'password');
  if (username !== undefined && password === undefined) fail('a user name needs a password (redis://user:password@host)');

  const credentials = password === undefined ? undefined : Object.freeze({ username, password });
  return makeEndpoint(scheme === 'rediss:', host, port, db, credentials);
}

function makeEndpoint(tls: boolean, host: string, port: number, db: number, credentials: RedisCredentials | undefined): RedisEndpoint {
  const shown = `${tls ? 'rediss' : 'redis'}://${isIP(host) === 6 ? `[${host}]` : host.toLowerCase()}:${port}/${db}`;
  const describe = (): string => shown;
  const endpoint: RedisEndpoint = Object.freeze({
    tls,
    host: isIP(host) === 6 ? host : host.toLowerCase(),
    port,
    db,
    describe,
    toString: describe,
    toJSON: describe,
  });
  if (credentials !== undefined) secrets.set(endpoint, credentials);
  return endpoint;
}

/**
 * Another node of the same deployment (a Redis Cluster node named by CLUSTER SLOTS or a
 * MOVED reply): `base`'s scheme, credentials and database at `host:port`.
 */
export function endpointAt(base: RedisEndpoint, host: string, port: number): RedisEndpoint {
  return makeEndpoint(base.tls, host, port, base.db, credentialsOf(base));
}
