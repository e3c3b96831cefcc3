// Proves the fault proxy produces the failures the fault matrix relies on, as real
// clients see them: node:http against a real node:http server, pg against the real
// PostgreSQL, ioredis against the real Redis (see test/integration/servers.ts).
import { expect } from 'chai';
import http from 'node:http';
import { createHook } from 'node:async_hooks';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Redis, type RedisOptions } from 'ioredis';
import { startFaultProxy, type Fault, type FaultProxy } from './fault-proxy.js';
import { httpServer, type HttpTestServer } from '../integration/http-server.js';
import { postgres, redis, type PgServer, type RedisServer } from '../integration/servers.js';

type ErrnoError = Error & { code?: string };

interface HttpOutcome {
  status?: number;
  body: string;
  /** Error on the request (no response, or the connection failed). */
  error?: ErrnoError;
  /** Error while reading the body of a response that did start. */
  bodyError?: ErrnoError;
  timedOut: boolean;
  ms: number;
}

function httpGet(port: number, path: string, timeoutMs?: number): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const out: HttpOutcome = { body: '', timedOut: false, ms: 0 };
    const finish = (): void => {
      out.ms = performance.now() - started;
      resolve(out);
    };
    // agent: false: one fresh connection per request, so every request meets the current fault.
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      out.status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (out.body += chunk));
      res.on('end', finish);
      res.on('error', (err: ErrnoError) => {
        out.bodyError = err;
        finish();
      });
    });
    if (timeoutMs !== undefined) {
      req.setTimeout(timeoutMs, () => {
        out.timedOut = true;
        req.destroy(new Error('client timeout'));
      });
    }
    req.on('error', (err: ErrnoError) => {
      if (out.status === undefined) {
        out.error = err;
        finish();
      }
    });
  });
}

function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (err: ErrnoError) => resolve(err.code ?? err.message));
  });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function rejection(promise: Promise<unknown>): Promise<ErrnoError> {
  try {
    await promise;
  } catch (err) {
    return err as ErrnoError;
  }
  throw new Error('expected a rejection');
}

/** Tracks the timers the fault proxy module itself creates (by stack), until they fire or are cleared. */
function trackProxyTimers(): { live: Map<number, string>; stop(): void } {
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 30;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = limit;
      if (/helpers[\\/]fault-proxy\.js:/.test(stack)) live.set(id, stack);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return { live, stop: () => hook.disable() };
}

describe('fault proxy (real clients, real servers)', function () {
  let upstream: HttpTestServer;
  const hits = new Map<string, number>();
  let pgServer: PgServer;
  let redisServer: RedisServer;
  const proxies: FaultProxy[] = [];
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  async function proxyTo(target: { host: string; port: number }, fault: Fault = { kind: 'none' }): Promise<FaultProxy> {
    const p = await startFaultProxy(target);
    proxies.push(p);
    await p.setFault(fault);
    return p;
  }
  const httpProxy = (fault?: Fault): Promise<FaultProxy> => proxyTo({ host: '127.0.0.1', port: upstream.port }, fault);

  function pgClient(p: FaultProxy, extra: pg.ClientConfig = {}): pg.Client & { errors: ErrnoError[] } {
    const { user, password, database } = pgServer;
    const client = Object.assign(new pg.Client({ host: p.host, port: p.port, user, password, database, ...extra }), {
      errors: [] as ErrnoError[],
    });
    client.on('error', (err: ErrnoError) => client.errors.push(err));
    cleanups.push(() => client.end().catch(() => undefined));
    return client;
  }

  function redisClient(p: FaultProxy, extra: RedisOptions = {}): Redis & { errors: ErrnoError[] } {
    const client = Object.assign(
      new Redis({
        host: p.host,
        port: p.port,
        password: redisServer.password,
        lazyConnect: true,
        retryStrategy: () => null, // no reconnects: each failure surfaces once
        maxRetriesPerRequest: 0,
        enableReadyCheck: false,
        ...extra,
      }),
      { errors: [] as ErrnoError[] },
    );
    client.on('error', (err: ErrnoError) => client.errors.push(err));
    cleanups.push(() => client.disconnect());
    return client;
  }

  before(async function () {
    this.timeout(15 * 60_000); // a fresh machine installs the Debian packages first
    upstream = await httpServer((req, res) => {
      hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
      if (req.url === '/big') res.end('x'.repeat(64 * 1024));
      else res.end('hello');
    });
    [pgServer, redisServer] = await Promise.all([postgres(), redis()]);
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  after(async () => {
    await upstream?.close();
  });

  it("'none' passes traffic through both ways (http, pg, ioredis) and counts connections and bytes", async () => {
    const p = await httpProxy();
    const res = await httpGet(p.port, '/big');
    expect(res.status).to.equal(200);
    expect(res.body.length).to.equal(64 * 1024);
    await waitFor('the connection to close', () => p.stats().open === 0);
    const stats = p.stats();
    expect(stats.connections).to.equal(1);
    expect(stats.bytesToClient).to.be.greaterThan(64 * 1024);
    expect(stats.bytesToUpstream).to.be.greaterThan(0);

    const pgp = await proxyTo(pgServer);
    const client = pgClient(pgp);
    await client.connect();
    expect((await client.query('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
    expect(pgp.stats()).to.include({ connections: 1, open: 1 });

    const rp = await proxyTo(redisServer);
    const r = redisClient(rp);
    await r.connect();
    expect(await r.ping()).to.equal('PONG');
  });

  it("'refuse' closes the listener (real ECONNREFUSED for http and pg) and clearing it listens again on the same port", async () => {
    const pgp = await proxyTo(pgServer);
    const before = pgClient(pgp);
    await before.connect();

    await pgp.setFault({ kind: 'refuse' });
    expect(await connectOutcome(pgp.port)).to.equal('ECONNREFUSED');
    expect((await rejection(pgClient(pgp).connect())).code).to.equal('ECONNREFUSED');
    // The connection opened before the fault keeps its own fault ('none').
    expect((await before.query('select 2 as two')).rows).to.deep.equal([{ two: 2 }]);

    const port = pgp.port;
    await pgp.setFault({ kind: 'none' });
    expect(pgp.port).to.equal(port);
    const after = pgClient(pgp);
    await after.connect();
    expect((await after.query('select 3 as three')).rows).to.deep.equal([{ three: 3 }]);

    const p = await httpProxy({ kind: 'refuse' });
    const res = await httpGet(p.port, '/hello');
    expect(res.error?.code).to.equal('ECONNREFUSED');
    await p.setFault({ kind: 'none' });
    expect((await httpGet(p.port, '/hello')).body).to.equal('hello');
  });

  it("'reset_on_connect' RSTs before forwarding anything: ECONNRESET (http, pg, ioredis)", async () => {
    const p = await httpProxy({ kind: 'reset_on_connect' });
    const hitsBefore = hits.get('/hello') ?? 0;
    const res = await httpGet(p.port, '/hello');
    expect(res.error?.code).to.equal('ECONNRESET');
    expect(hits.get('/hello') ?? 0).to.equal(hitsBefore);
    expect(p.stats()).to.include({ connections: 1, bytesToUpstream: 0, bytesToClient: 0 });

    const pgp = await proxyTo(pgServer, { kind: 'reset_on_connect' });
    expect((await rejection(pgClient(pgp).connect())).code).to.equal('ECONNRESET');

    const rp = await proxyTo(redisServer, { kind: 'reset_on_connect' });
    const r = redisClient(rp);
    await rejection(r.connect()); // "Connection is closed."; the cause arrives as an 'error' event
    expect(r.errors.map((e) => e.code)).to.include('ECONNRESET');
  });

  it("'reset_after_request' lets the request reach the server, then RSTs without any response (http)", async () => {
    const p = await httpProxy({ kind: 'reset_after_request' });
    const hitsBefore = hits.get('/hello') ?? 0;
    const res = await httpGet(p.port, '/hello');
    expect(res.status).to.equal(undefined);
    expect(res.error?.code).to.equal('ECONNRESET');
    expect(hits.get('/hello')).to.equal(hitsBefore + 1); // the handler ran: an ambiguous failure
    expect(p.stats().bytesToClient).to.equal(0);
  });

  it("'reset_after_request' past the pg handshake: the INSERT commits but the client gets ECONNRESET", async () => {
    const direct = new pg.Client({ connectionString: pgServer.url });
    cleanups.push(() => direct.end().catch(() => undefined));
    await direct.connect();
    await direct.query('drop table if exists fault_proxy_cut; create table fault_proxy_cut (id int)');

    // Measure the client's handshake (startup + SCRAM) on a clean connection.
    const pgp = await proxyTo(pgServer);
    const probe = pgClient(pgp);
    await probe.connect();
    const handshake = pgp.stats().bytesToUpstream;
    await probe.end();

    await pgp.setFault({ kind: 'reset_after_request', afterBytes: handshake + 1 });
    const client = pgClient(pgp);
    await client.connect(); // the handshake passes through untouched
    const err = await rejection(client.query('insert into fault_proxy_cut values (1)'));
    expect(err.code).to.equal('ECONNRESET');
    const { rows } = await direct.query<{ n: number }>('select count(*)::int as n from fault_proxy_cut');
    expect(rows[0]?.n).to.equal(1);
    await direct.query('drop table fault_proxy_cut');
  });

  it("'reset_after_request' past the Redis handshake: INCR is applied once, the client sees ECONNRESET", async () => {
    const key = `fault-proxy:incr:${process.pid}`;
    const direct = new Redis(redisServer.url, { lazyConnect: true });
    cleanups.push(() => direct.disconnect());
    await direct.connect();
    await direct.del(key);

    const rp = await proxyTo(redisServer);
    const probe = redisClient(rp);
    await probe.connect();
    const handshake = rp.stats().bytesToUpstream;
    probe.disconnect();

    await rp.setFault({ kind: 'reset_after_request', afterBytes: handshake + 1 });
    const r = redisClient(rp);
    await r.connect();
    await rejection(r.incr(key));
    expect(r.errors.map((e) => e.code)).to.include('ECONNRESET');
    expect(await direct.get(key)).to.equal('1');
    await direct.del(key);
  });

  it("'cut_mid_response' forwards exactly N response bytes then RSTs (body aborted, 'socket hang up', read ECONNRESET)", async () => {
    // Cut inside the body: the response starts, then the body fails.
    const p = await httpProxy({ kind: 'cut_mid_response', afterBytes: 1000 });
    const res = await httpGet(p.port, '/big');
    expect(res.status).to.equal(200);
    expect(res.bodyError?.code).to.equal('ECONNRESET');
    expect(res.body.length).to.be.greaterThan(0).and.lessThan(1000);
    expect(p.stats().bytesToClient).to.equal(1000);

    // Cut inside the status line: no response; node:http says 'socket hang up' on
    // Node 20 and 22 and 'read ECONNRESET' on Node 24 (same code).
    await p.setFault({ kind: 'cut_mid_response', afterBytes: 10 });
    const partial = await httpGet(p.port, '/big');
    expect(partial.status).to.equal(undefined);
    expect(partial.error?.code).to.equal('ECONNRESET');
    expect(partial.error?.message).to.be.oneOf(['socket hang up', 'read ECONNRESET']);

    // Cut before the first byte.
    await p.setFault({ kind: 'cut_mid_response', afterBytes: 0 });
    const none = await httpGet(p.port, '/big');
    expect(none.status).to.equal(undefined);
    expect(none.error?.code).to.equal('ECONNRESET');
    expect(none.error?.message).to.equal('read ECONNRESET');

    // A response shorter than N passes untouched.
    await p.setFault({ kind: 'cut_mid_response', afterBytes: 100_000 });
    expect((await httpGet(p.port, '/big')).body.length).to.equal(64 * 1024);
  });

  it("'delay' holds every chunk in each direction (http, ioredis)", async () => {
    const ms = 60;
    const p = await httpProxy({ kind: 'delay', ms });
    const res = await httpGet(p.port, '/hello');
    expect(res.body).to.equal('hello');
    expect(res.ms).to.be.at.least(2 * ms - 2); // request held once, response held once

    const rp = await proxyTo(redisServer);
    const r = redisClient(rp);
    await r.connect();
    await rp.setFault({ kind: 'delay', ms }); // r keeps 'none': it connected before
    const fast = performance.now();
    expect(await r.ping()).to.equal('PONG');
    expect(performance.now() - fast).to.be.lessThan(ms);

    const slow = redisClient(rp);
    await slow.connect();
    const started = performance.now();
    expect(await slow.ping()).to.equal('PONG');
    expect(performance.now() - started).to.be.at.least(2 * ms - 2);
  });

  it("'blackhole' accepts and reads but never answers: clients time out (http, pg, ioredis)", async () => {
    const p = await httpProxy({ kind: 'blackhole' });
    const hitsBefore = hits.get('/hello') ?? 0;
    const res = await httpGet(p.port, '/hello', 100);
    expect(res.timedOut).to.equal(true);
    expect(res.error?.message).to.equal('client timeout');
    expect(hits.get('/hello') ?? 0).to.equal(hitsBefore);
    expect(p.stats().bytesToUpstream).to.equal(0);

    const pgp = await proxyTo(pgServer, { kind: 'blackhole' });
    const err = await rejection(pgClient(pgp, { connectionTimeoutMillis: 100 }).connect());
    expect(err.message).to.match(/timeout/i);

    const rp = await proxyTo(redisServer, { kind: 'blackhole' });
    const r = redisClient(rp, { commandTimeout: 100 });
    await rejection(r.connect());
    expect(r.errors.map((e) => e.message)).to.include('Command timed out');
  });

  it('keeps the fault a connection opened with; resetAll() RSTs every open connection', async () => {
    const pgp = await proxyTo(pgServer);
    const a = pgClient(pgp);
    const b = pgClient(pgp);
    await Promise.all([a.connect(), b.connect()]);
    await pgp.setFault({ kind: 'blackhole' });
    expect((await a.query('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
    expect(pgp.stats().open).to.equal(2);

    const pending = rejection(a.query('select pg_sleep(5)'));
    pgp.resetAll();
    expect((await pending).code).to.equal('ECONNRESET');
    await waitFor('b to see the reset', () => b.errors.length > 0);
    expect(b.errors[0]?.code).to.equal('ECONNRESET');
    await waitFor('connections to close', () => pgp.stats().open === 0);
  });

  it('a fault limited to N connections meets the next N, then the proxy is clean again by itself', async () => {
    const p = await httpProxy({ kind: 'reset_on_connect', connections: 2 });
    expect((await httpGet(p.port, '/hello')).error?.code).to.equal('ECONNRESET');
    expect((await httpGet(p.port, '/hello')).error?.code).to.equal('ECONNRESET');
    const third = await httpGet(p.port, '/hello');
    expect(third.error).to.equal(undefined);
    expect(third.status).to.equal(200);
    expect(p.stats().connections).to.equal(3);
    // Setting a fault again starts a fresh count; without one, the fault stays.
    await p.setFault({ kind: 'reset_on_connect' });
    for (let i = 0; i < 3; i++) expect((await httpGet(p.port, '/hello')).error?.code).to.equal('ECONNRESET');
  });

  it('gives the client a RST when the upstream is down', async () => {
    const closed = await httpServer((_req, res) => res.end());
    await closed.close();
    const p = await proxyTo({ host: '127.0.0.1', port: closed.port });
    const res = await httpGet(p.port, '/hello');
    expect(res.error?.code).to.equal('ECONNRESET');
  });

  it('close() destroys every socket, leaves no timer running and nothing listening', async () => {
    const timers = trackProxyTimers();
    try {
      const p = await startFaultProxy({ host: '127.0.0.1', port: upstream.port });
      await p.setFault({ kind: 'delay', ms: 30_000 });
      const inFlight = httpGet(p.port, '/hello');
      await waitFor('the request to be held', () => p.stats().open === 1 && timers.live.size > 0);

      await p.close();
      expect(p.stats().open).to.equal(0);
      await new Promise((r) => setImmediate(r)); // destroy hooks run asynchronously
      expect([...timers.live.values()]).to.deep.equal([]);
      const res = await inFlight;
      expect(res.status).to.equal(undefined);
      expect(res.error?.code).to.equal('ECONNRESET');
      expect(res.error?.message).to.equal('socket hang up'); // closed (FIN) before any answer
      expect(await connectOutcome(p.port)).to.equal('ECONNREFUSED');
      await rejection(p.setFault({ kind: 'none' }));
    } finally {
      timers.stop();
    }
  });

  it('rejects malformed faults', async () => {
    const p = await httpProxy();
    await rejection(p.setFault({ kind: 'delay', ms: -1 }));
    await rejection(p.setFault({ kind: 'cut_mid_response', afterBytes: 1.5 }));
    await rejection(p.setFault({ kind: 'bogus' } as unknown as Fault));
    expect((await rejection(p.setFault({ kind: 'blackhole', connections: 0 }))).message).to.match(/connections must be an integer >= 1/);
    expect((await rejection(p.setFault({ kind: 'refuse', connections: 1 }))).message).to.match(/does not apply to 'refuse'/);
  });
});
