import { expect } from 'chai';
import fc from 'fast-check';
import https from 'node:https';
import pg from 'pg';
import { Cluster, Redis } from 'ioredis';
import { createClient } from 'redis';
import { httpTargetKey, pgTargetKey, redisTargetKey } from '../src/target-key.js';

/** Every key has this shape: scheme://host:port[/db]. */
const KEY_FORMAT = /^[a-z]+(\+[a-z]+)?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9._-]+):\d{1,5}(\/[A-Za-z0-9%._~!*'()-]*)?$/;
const SOCKET = (scheme: string, name: string, rest = ':0'): RegExp => new RegExp(`^${scheme.replace('+', '\\+')}://${name.replace('.', '\\.')}-[0-9a-f]{8}${rest}$`);

function hostile(): object {
  const boom = (): never => {
    throw new Error('trap');
  };
  return new Proxy({}, { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom });
}

describe('httpTargetKey', () => {
  const cases: Array<[string, unknown, string | RegExp, ('http:' | 'https:')?]> = [
    ['a URL string: path, query and fragment dropped, default port written out', 'https://api.example.com/v1/pay?token=abc#x', 'https://api.example.com:443'],
    ['host lower-cased, explicit port kept', 'http://API.Example.COM:8080/', 'http://api.example.com:8080'],
    ['credentials dropped', 'http://user:pass@host.example/', 'http://host.example:80'],
    ['IPv6 bracketed', 'http://[::1]:8080/', 'http://[::1]:8080'],
    ['IPv6 canonical', 'http://[0:0::1]/', 'http://[::1]:80'],
    ['IDN in punycode', 'https://bücher.de/', 'https://xn--bcher-kva.de:443'],
    ['a trailing dot dropped', 'https://example.com./', 'https://example.com:443'],
    ['not http(s)', 'ftp://example.com/', 'http://invalid:0'],
    ['not a URL', 'not a url', 'http://invalid:0'],
    ['a URL object', new URL('https://u:p@example.com:8443/a?b'), 'https://example.com:8443'],
    ['options: hostname and port', { hostname: 'example.com', port: 8080, path: '/x?y=1' }, 'http://example.com:8080'],
    ['options: host carrying a port', { host: 'example.com:8080' }, 'http://example.com:8080'],
    ['options: port wins over the port in host', { host: 'example.com:8080', port: 9090 }, 'http://example.com:9090'],
    ['options: hostname wins over host', { hostname: 'a.example', host: 'b.example:1' }, 'http://a.example:80'],
    ['options: [v6]:port in host', { host: '[::1]:3000' }, 'http://[::1]:3000'],
    ['options: bare IPv6 hostname', { hostname: '::1' }, 'http://[::1]:80'],
    ['options: port as a string', { hostname: 'x', port: '8081' }, 'http://x:8081'],
    ['options: https protocol', { protocol: 'https:', hostname: 'x' }, 'https://x:443'],
    ['options: https.request without a protocol', { hostname: 'x' }, 'https://x:443', 'https:'],
    ['options: the agent says https', { hostname: 'x', agent: https.globalAgent }, 'https://x:443'],
    ['options: https.request puts its agent in _defaultAgent', { hostname: 'x', _defaultAgent: https.globalAgent }, 'https://x:443'],
    ['options: defaultPort', { protocol: 'https:', hostname: 'x', defaultPort: 8443 }, 'https://x:8443'],
    ['options: nothing means localhost:80', {}, 'http://localhost:80'],
    ['options: credentials in hostname dropped', { hostname: 'user:pw@host.example' }, 'http://host.example:80'],
    ['options: auth never read', { hostname: 'x', auth: 'user:secret' }, 'http://x:80'],
    ['options: a unix socket', { socketPath: '/var/run/docker.sock', path: '/containers/json' }, SOCKET('http+unix', 'docker.sock')],
    ['options: a unix socket over https', { protocol: 'https:', socketPath: '/tmp/api.sock' }, SOCKET('https+unix', 'api.sock')],
    ['options: a bad hostname', { hostname: 'a b' }, 'http://invalid:0'],
    ['options: a bad port', { hostname: 'x', port: 'abc' }, 'http://invalid:0'],
    ['options: a port out of range', { hostname: 'x', port: 70000 }, 'http://invalid:0'],
    ['options: an unknown protocol', { protocol: 'ftp:', hostname: 'x' }, 'http://invalid:0'],
    ["undici's dispatch options", { origin: 'https://api.example.com', path: '/x?token=1', method: 'GET' }, 'https://api.example.com:443'],
    ["undici's dispatch options with a URL origin", { origin: new URL('http://api.example.com:81') }, 'http://api.example.com:81'],
    ['a fetch Request', new Request('https://a.example/x?q=1'), 'https://a.example:443'],
    ['http.request(url, { hostname }): the hostname wins over the merged href', { href: 'https://a.example/x', protocol: 'https:', hostname: 'b.example' }, 'https://b.example:443'],
    ['an IPv6 URL object', new URL('http://[::1]:8080/'), 'http://[::1]:8080'],
    ['an IDN URL object', new URL('https://bücher.de/'), 'https://xn--bcher-kva.de:443'],
    ['null', null, 'http://invalid:0'],
    ['a number', 42, 'http://invalid:0'],
  ];
  for (const [label, input, expected, defaultProtocol] of cases) {
    it(label, () => {
      const key = httpTargetKey(input, defaultProtocol);
      if (expected instanceof RegExp) expect(key).to.match(expected);
      else expect(key).to.equal(expected);
    });
  }

  it('unix sockets of the same name in different directories get different keys', () => {
    const a = httpTargetKey({ socketPath: '/run/a/app.sock' });
    const b = httpTargetKey({ socketPath: '/run/b/app.sock' });
    expect(a).to.not.equal(b);
    expect(a).to.not.include('/run');
    expect(httpTargetKey({ socketPath: '/run/a/app.sock' })).to.equal(a);
  });
});

describe('pgTargetKey', () => {
  const env = {};
  const cases: Array<[string, unknown, string | RegExp, Record<string, string>?]> = [
    ['a connection string', 'postgresql://user:secret@db.example.com:5433/app?sslmode=require', 'postgresql://db.example.com:5433/app'],
    ['postgres:// and the default port', 'postgres://u@db/app', 'postgresql://db:5432/app'],
    ['no database: no /db (never the user name)', 'postgresql://alice:pw@db', 'postgresql://db:5432'],
    ['a socket directory in the host parameter', 'postgresql:///app?host=/var/run/postgresql', SOCKET('postgresql+unix', 'postgresql', ':5432/app')],
    ['a URL-encoded socket directory', 'postgresql://%2Fvar%2Frun%2Fpostgresql/app', SOCKET('postgresql+unix', 'postgresql', ':5432/app')],
    ['the "/dir db" form', '/var/run/postgresql app', SOCKET('postgresql+unix', 'postgresql', ':5432/app')],
    ['the socket: form', 'socket:/var/run/postgresql?db=app', SOCKET('postgresql+unix', 'postgresql', ':5432/app')],
    ['a port parameter wins', 'postgresql://db:1/app?port=6543', 'postgresql://db:6543/app'],
    ['IPv6', 'postgresql://[::1]:5432/app', 'postgresql://[::1]:5432/app'],
    ['a database name that needs encoding', 'postgresql://db/my%20app', 'postgresql://db:5432/my%20app'],
    ['a config object (user and password never read)', { host: 'DB', port: 6432, database: 'app', user: 'alice', password: 'x' }, 'postgresql://db:6432/app'],
    ['connectionString wins over the object, as in pg', { connectionString: 'postgresql://h/app', host: 'other', port: 7000 }, 'postgresql://h:5432/app'],
    ['a socket directory as host', { host: '/tmp', database: 'app' }, SOCKET('postgresql+unix', 'tmp', ':5432/app')],
    ['env fallbacks', {}, 'postgresql://envhost:6000/envdb', { PGHOST: 'envhost', PGPORT: '6000', PGDATABASE: 'envdb' }],
    ['config beats env', { host: 'h', port: 1, database: 'd' }, 'postgresql://h:1/d', { PGHOST: 'envhost', PGPORT: '6000', PGDATABASE: 'envdb' }],
    ["pg's defaults", {}, 'postgresql://localhost:5432'],
    ['undefined: the defaults', undefined, 'postgresql://localhost:5432'],
    ['a bad port', { port: 'abc' }, 'postgresql://invalid:0'],
    ['a bad host', { host: 'a b' }, 'postgresql://invalid:0'],
    ['a number', 42, 'postgresql://invalid:0'],
  ];
  for (const [label, input, expected, withEnv] of cases) {
    it(label, () => {
      const key = pgTargetKey(input, withEnv ?? env);
      if (expected instanceof RegExp) expect(key).to.match(expected);
      else expect(key).to.equal(expected);
    });
  }

  it("reads a real pg Client (its resolved host, port and database)", () => {
    expect(pgTargetKey(new pg.Client({ host: 'db', port: 5433, database: 'app', password: 'pw' }), env)).to.equal('postgresql://db:5433/app');
    expect(pgTargetKey(new pg.Client('postgresql://u:secret@h:1/d'), env)).to.equal('postgresql://h:1/d');
    const pool = new pg.Pool({ connectionString: 'postgresql://u:secret@h:2/d' });
    expect(pgTargetKey(pool.options, env)).to.equal('postgresql://h:2/d');
  });

  it('reads process.env by default', () => {
    const saved = process.env['PGHOST'];
    process.env['PGHOST'] = 'fromenv';
    try {
      expect(pgTargetKey({ port: 5432, database: 'x' })).to.equal('postgresql://fromenv:5432/x');
    } finally {
      if (saved === undefined) delete process.env['PGHOST'];
      else process.env['PGHOST'] = saved;
    }
  });
});

describe('redisTargetKey', () => {
  const cases: Array<[string, unknown, string | RegExp]> = [
    ['nothing: the defaults', undefined, 'redis://localhost:6379/0'],
    ['a URL with a password and a db', 'redis://:secret@cache:6380/2', 'redis://cache:6380/2'],
    ['rediss://', 'rediss://user:pw@Cache.Example.com', 'rediss://cache.example.com:6379/0'],
    ['a db parameter', 'redis://cache?db=3', 'redis://cache:6379/3'],
    ['a path that is no db', 'redis://cache/abc', 'redis://invalid:0'],
    ["ioredis's //host:port", '//cache:7000', 'redis://cache:7000/0'],
    ["ioredis's host:port", 'cache:7000', 'redis://cache:7000/0'],
    ['a port number', 6380, 'redis://localhost:6380/0'],
    ['a port string', '6380', 'redis://localhost:6380/0'],
    ['an IPv6 URL', 'redis://[::1]:6379/1', 'redis://[::1]:6379/1'],
    ['a socket path with a db', '/tmp/redis.sock?db=2', SOCKET('redis+unix', 'redis.sock', ':0/2')],
    ["node-redis's unix://", 'unix://user:pw@/tmp/redis.sock?db=1', SOCKET('redis+unix', 'redis.sock', ':0/1')],
    ['another scheme', 'http://cache:6379', 'redis://invalid:0'],
    ['ioredis options', { host: 'cache', port: 6380, db: 4, password: 'x', username: 'u' }, 'redis://cache:6380/4'],
    ['ioredis tls', { host: 'cache', tls: {} }, 'rediss://cache:6379/0'],
    ['ioredis path', { path: '/tmp/redis.sock' }, SOCKET('redis+unix', 'redis.sock', ':0/0')],
    ['node-redis url', { url: 'redis://u:p@cache:6380/5' }, 'redis://cache:6380/5'],
    ['node-redis url without a db, and database', { url: 'redis://cache', database: 3 }, 'redis://cache:6379/3'],
    ['node-redis url wins over socket', { url: 'rediss://cache:7001', socket: { host: 'other', port: 1 } }, 'rediss://cache:7001/0'],
    ['node-redis socket', { socket: { host: 'cache', port: 7000, tls: true }, database: 2 }, 'rediss://cache:7000/2'],
    ['node-redis socket path', { socket: { path: '/tmp/r.sock' } }, SOCKET('redis+unix', 'r.sock', ':0/0')],
    ['a bad db', { host: 'cache', db: 'two' }, 'redis://invalid:0'],
    ['ioredis sentinel', { sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster', db: 1, password: 'x' }, 'redis+sentinel://mymaster:0/1'],
    ['ioredis sentinel, replica reads', { sentinels: [{ host: 's1' }], name: 'mymaster', role: 'slave' }, 'redis+sentinel://mymaster.replica:0/0'],
    ['ioredis sentinel with TLS', { sentinels: [{ host: 's1' }], name: 'mymaster', enableTLSForSentinelMode: true }, 'rediss+sentinel://mymaster:0/0'],
    ['node-redis sentinel', { name: 'mymaster', sentinelRootNodes: [{ host: 's1', port: 26379 }] }, 'redis+sentinel://mymaster:0/0'],
    ['a sentinel name that is not one', { sentinels: [{ host: 's1' }], name: 'a/b' }, 'redis+sentinel://invalid:0/0'],
    ['cluster seeds: the smallest names it', [{ host: 'n2', port: 7001 }, { host: 'n1', port: 7000 }], 'redis+cluster://n1:7000/0'],
    ['cluster seeds as strings', ['n2:7001', 'redis://u:p@n1:7000'], 'redis+cluster://n1:7000/0'],
    ['node-redis cluster', { rootNodes: [{ url: 'redis://u:p@n1:7000' }, { socket: { host: 'n0', port: 7002 } }], defaults: { socket: { tls: true } } }, 'rediss+cluster://n0:7002/0'],
    ['a cluster with no readable seed', [{ host: 'a b' }, 'http://x'], 'redis+cluster://invalid:0/0'],
    ['a boolean', true, 'redis://invalid:0'],
  ];
  for (const [label, input, expected] of cases) {
    it(label, () => {
      const key = redisTargetKey(input);
      if (expected instanceof RegExp) expect(key).to.match(expected);
      else expect(key).to.equal(expected);
    });
  }

  it('the same socket path gives the same key through ioredis and node-redis forms', () => {
    expect(redisTargetKey('/tmp/redis.sock')).to.equal(redisTargetKey('unix:///tmp/redis.sock')).and.to.equal(redisTargetKey({ socket: { path: '/tmp/redis.sock' } }));
  });

  it('reads real ioredis and node-redis clients', async () => {
    const io = new Redis({ lazyConnect: true, host: 'cache', port: 6380, db: 2, password: 'secret' });
    const ios = new Redis('rediss://:secret@cache:6390/1', { lazyConnect: true });
    const cluster = new Cluster([{ host: 'n2', port: 7001 }, { host: 'n1', port: 7000 }], { lazyConnect: true });
    try {
      expect(redisTargetKey(io.options)).to.equal('redis://cache:6380/2');
      expect(redisTargetKey(ios.options)).to.equal('rediss://cache:6390/1');
      expect(redisTargetKey(cluster)).to.equal('redis+cluster://n1:7000/0');
    } finally {
      io.disconnect();
      ios.disconnect();
      cluster.disconnect();
    }
    const client = createClient({ url: 'redis://u:secret@cache:6380/3' });
    expect(redisTargetKey(client.options)).to.equal('redis://cache:6380/3');
  });
});

describe('target keys: properties', () => {
  it('never throw, and always have the key shape, whatever they are given', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.string(), fc.webUrl()), (input) => {
        for (const key of [httpTargetKey(input), httpTargetKey(input, 'https:'), pgTargetKey(input, {}), redisTargetKey(input)]) {
          expect(key).to.match(KEY_FORMAT);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throw on hostile objects', () => {
    for (const input of [hostile(), { socketPath: hostile() }, { url: hostile() }, { sentinels: [hostile()], name: 'x' }, [hostile()]]) {
      expect(httpTargetKey(input)).to.match(KEY_FORMAT);
      expect(pgTargetKey(input, {})).to.match(KEY_FORMAT);
      expect(redisTargetKey(input)).to.match(KEY_FORMAT);
    }
  });

  // Secrets carry an upper-case marker: keys are lower-case apart from percent-encoded
  // database names, which the generator keeps to lower-case letters and digits.
  const secret = (marker: string) => fc.string({ minLength: 0, maxLength: 12 }).map((s) => `${marker}${s}`);
  const urls = fc.record({
    scheme: fc.constantFrom('http', 'https', 'postgresql', 'postgres', 'redis', 'rediss'),
    host: fc.domain(),
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    user: secret('USR'),
    password: secret('PWD'),
    db: fc.option(fc.stringMatching(/^[0-9]{1,3}$/), { nil: undefined }),
    path: secret('PTH'),
    queryName: fc.constantFrom('application_name', 'sslmode', 'token', 'options'),
    query: secret('QRY'),
    fragment: secret('FRG'),
  });

  it('a key never holds the user name, password, path, query or fragment of the URL it was made from', () => {
    fc.assert(
      fc.property(urls, (u) => {
        const e = encodeURIComponent;
        const port = u.port === undefined ? '' : `:${u.port}`;
        const path = u.scheme.startsWith('http') ? `/${e(u.path)}` : u.db === undefined ? '' : `/${u.db}`;
        const url = `${u.scheme}://${e(u.user)}:${e(u.password)}@${u.host}${port}${path}?${u.queryName}=${e(u.query)}#${e(u.fragment)}`;
        const key = u.scheme.startsWith('http') ? httpTargetKey(url) : u.scheme.startsWith('postgres') ? pgTargetKey(url, {}) : redisTargetKey(url);
        expect(key).to.match(KEY_FORMAT);
        expect(key, url).to.not.include(INVALID_MARK);
        for (const marker of ['USR', 'PWD', 'PTH', 'QRY', 'FRG']) expect(key, url).to.not.include(marker);
        for (const part of [u.user, u.password, u.path, u.query, u.fragment, e(u.user), e(u.password)]) expect(key, url).to.not.include(part);
      }),
      { numRuns: 500 },
    );
  });

  it('the same holds for node:http options, pg configs and Redis options', () => {
    fc.assert(
      fc.property(urls, (u) => {
        const keys = [
          httpTargetKey({ hostname: u.host, port: u.port, path: `/${u.path}?${u.query}`, auth: `${u.user}:${u.password}`, headers: { authorization: u.password } }),
          pgTargetKey({ host: u.host, port: u.port, user: u.user, password: u.password, database: u.db }, {}),
          redisTargetKey({ host: u.host, port: u.port, username: u.user, password: u.password, db: u.db }),
          redisTargetKey({ url: `redis://${encodeURIComponent(u.user)}:${encodeURIComponent(u.password)}@${u.host}`, password: u.password }),
        ];
        for (const key of keys) {
          expect(key).to.match(KEY_FORMAT);
          expect(key).to.not.include(INVALID_MARK);
          for (const marker of ['USR', 'PWD', 'PTH', 'QRY']) expect(key).to.not.include(marker);
        }
      }),
      { numRuns: 300 },
    );
  });
});

const INVALID_MARK = '://invalid:';
