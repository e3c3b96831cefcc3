// The real-error corpus: failures provoked for real, from real clients talking to real
// servers on loopback (node:http, https, fetch, undici; pg against PostgreSQL; ioredis
// and node-redis against redis-server), never error objects built by hand. The
// classifier's unit tests pin the tables; this corpus proves the tables meet the
// errors the libraries actually throw, with the shapes, names and causes they really
// have in the versions installed. The benchmark measures classify() on it too.
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { Redis, type RedisOptions } from 'ioredis';
import { createClient } from 'redis';
import { Agent, interceptors, fetch as undiciFetch, request as undiciRequest } from 'undici';
import type { ClassifyHints, ErrorCategory } from '../../src/classify/types.js';
import { httpServer, type HttpTestServer } from './http-server.js';
import { postgres, redis } from './servers.js';

export interface CorpusEntry {
  label: string;
  /** The client that failed: http, https, fetch, undici, pg, ioredis, redis. */
  client: string;
  /** What the client threw, rejected with, emitted as 'error', or answered (a failed response). */
  failure: unknown;
  expected: {
    category: ErrorCategory;
    transient?: boolean;
    code?: string;
    /**
     * The Retry-After delay the classification must carry, at most: an HTTP-date counts
     * down from the moment the response was made, so a later classification sees less
     * (up to 10 minutes less is accepted).
     */
    retryAfterMs?: number;
  };
  /** Hints an adapter would pass (only the caller-signal cases need them). */
  hints?: ClassifyHints;
}

const HOST = '127.0.0.1';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `provoke`, which must fail, and returns what it failed with. */
async function failureOf(label: string, provoke: () => Promise<unknown>): Promise<unknown> {
  try {
    await provoke();
  } catch (error) {
    return error;
  }
  throw new Error(`error corpus: "${label}" was expected to fail but succeeded`);
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A raw TCP server; close() destroys every connection. */
async function tcpServer(onConnection: (socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** node:http / node:https request; resolves with the IncomingMessage once its body is consumed. */
function nodeRequest(url: string, options: https.RequestOptions = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, { agent: false, ...options }, (res) => {
      res.on('error', reject);
      res.on('end', () => resolve(res));
      res.resume();
    });
    req.on('error', reject);
    req.end();
  });
}

async function resolveFetchResponse(url: string): Promise<Response> {
  const response = await fetch(url);
  await response.arrayBuffer();
  return response;
}

// ---------------------------------------------------------------------------
// HTTP: node:http, node:https, global fetch, undici

async function collectHttp(out: CorpusEntry[]): Promise<void> {
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    const refused = await closedPort();
    const refusedUrl = `http://${HOST}:${refused}/`;
    const statusServer = await httpServer((req, res) => {
      const status = Number((req.url ?? '/').slice(1).split('?')[0]);
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain' };
      if (status === 429) headers['retry-after'] = '3';
      if (status === 503) headers['retry-after'] = new Date(Date.now() + 3_600_000).toUTCString();
      res.writeHead(status, headers);
      res.end(`status ${status}`);
    });
    cleanups.push(() => statusServer.close());
    const silent = await httpServer(() => undefined); // never answers
    cleanups.push(() => silent.close());
    const resetter = await httpServer((req) => req.socket.destroy()); // drops the connection
    cleanups.push(() => resetter.close());
    const stallBody = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('the first bytes, then nothing'); // headers sent, body stalls
    });
    cleanups.push(() => stallBody.close());
    const garbage = await tcpServer((socket) => socket.end('THIS IS NOT HTTP\r\n\r\n'));
    cleanups.push(() => garbage.close());

    const add = (label: string, client: string, failure: unknown, expected: CorpusEntry['expected'], hints?: ClassifyHints): void => {
      out.push(hints ? { label, client, failure, expected, hints } : { label, client, failure, expected });
    };
    const net_ = (code: string): CorpusEntry['expected'] => ({ category: 'network', transient: true, code });

    // Connection refused.
    add('http ECONNREFUSED (closed port)', 'http', await failureOf('http refused', () => nodeRequest(refusedUrl)), net_('ECONNREFUSED'));
    add('http ECONNREFUSED (localhost, every address)', 'http', await failureOf('http localhost refused', () => nodeRequest(`http://localhost:${refused}/`)), net_('ECONNREFUSED'));
    add('fetch ECONNREFUSED (fetch failed + cause)', 'fetch', await failureOf('fetch refused', () => fetch(refusedUrl)), net_('ECONNREFUSED'));
    add('undici.request ECONNREFUSED', 'undici', await failureOf('undici refused', () => undiciRequest(refusedUrl)), net_('ECONNREFUSED'));

    // The server drops the connection after reading the request.
    add('http socket hang up (ECONNRESET)', 'http', await failureOf('http reset', () => nodeRequest(resetter.url)), net_('ECONNRESET'));
    add('fetch other side closed (UND_ERR_SOCKET)', 'fetch', await failureOf('fetch reset', () => fetch(resetter.url)), net_('UND_ERR_SOCKET'));
    add('undici.request other side closed (UND_ERR_SOCKET)', 'undici', await failureOf('undici reset', () => undiciRequest(resetter.url)), net_('UND_ERR_SOCKET'));

    // Timeouts.
    const timeout = (code: string): CorpusEntry['expected'] => ({ category: 'timeout', transient: true, code });
    add('fetch AbortSignal.timeout', 'fetch', await failureOf('fetch timeout', () => fetch(silent.url, { signal: AbortSignal.timeout(50) })), timeout('timeout'));
    add('http AbortSignal.timeout (AbortError caused by TimeoutError)', 'http', await failureOf('http timeout', () => nodeRequest(silent.url, { signal: AbortSignal.timeout(50) })), timeout('timeout'));
    add('undici.request AbortSignal.timeout', 'undici', await failureOf('undici timeout', () => undiciRequest(silent.url, { signal: AbortSignal.timeout(50) })), timeout('timeout'));
    add('undici.request headersTimeout', 'undici', await failureOf('undici headersTimeout', () => undiciRequest(silent.url, { headersTimeout: 100 })), timeout('UND_ERR_HEADERS_TIMEOUT'));
    add(
      'undici.request bodyTimeout',
      'undici',
      await failureOf('undici bodyTimeout', async () => {
        const { body } = await undiciRequest(stallBody.url, { bodyTimeout: 100 });
        await body.text();
      }),
      timeout('UND_ERR_BODY_TIMEOUT'),
    );
    const impatient = new Agent({ headersTimeout: 100 });
    cleanups.push(() => impatient.close());
    add('undici fetch headersTimeout (fetch failed + cause)', 'fetch', await failureOf('undici fetch headersTimeout', () => undiciFetch(silent.url, { dispatcher: impatient })), timeout('UND_ERR_HEADERS_TIMEOUT'));

    // The caller aborts.
    const cancelled = { category: 'cancelled', transient: false } as const;
    const abortSoon = (): AbortSignal => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 30);
      return controller.signal;
    };
    let signal = abortSoon();
    add('fetch caller abort', 'fetch', await failureOf('fetch abort', () => fetch(silent.url, { signal })), { ...cancelled, code: 'AbortError' });
    add('fetch caller abort (with callerSignal hint)', 'fetch', await failureOf('fetch abort hinted', () => fetch(silent.url, { signal })), { ...cancelled, code: 'AbortError' }, { callerSignal: signal });
    signal = abortSoon();
    add('http caller abort (ABORT_ERR)', 'http', await failureOf('http abort', () => nodeRequest(silent.url, { signal })), { ...cancelled, code: 'ABORT_ERR' });
    signal = abortSoon();
    add('undici.request caller abort', 'undici', await failureOf('undici abort', () => undiciRequest(silent.url, { signal })), { ...cancelled, code: 'AbortError' });
    // The caller's own deadline is the caller's decision, not the dependency's slowness.
    const callerDeadline = AbortSignal.timeout(50);
    add(
      "fetch with the caller's own AbortSignal.timeout (callerSignal hint)",
      'fetch',
      await failureOf('fetch caller deadline', () => fetch(silent.url, { signal: callerDeadline })),
      { ...cancelled, code: 'TimeoutError' },
      { callerSignal: callerDeadline },
    );

    // Failed responses: the Response / IncomingMessage / undici response data themselves.
    const statuses: Array<[number, ErrorCategory, boolean]> = [
      [400, 'validation', false],
      [401, 'authentication', false],
      [403, 'authorization', false],
      [404, 'not_found', false],
      [409, 'concurrency', false],
      [422, 'validation', false],
      [429, 'rate_limit', true],
      [500, 'external_service', true],
      [501, 'external_service', false],
      [503, 'external_service', true],
      [504, 'timeout', true],
    ];
    for (const [status, category, transient] of statuses) {
      const retryAfterMs = status === 429 ? 3000 : status === 503 ? 3_600_000 : undefined;
      const expected = { category, transient, code: String(status), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
      add(`fetch Response ${status}`, 'fetch', await resolveFetchResponse(`${statusServer.url}/${status}`), expected);
      add(`http IncomingMessage ${status}`, 'http', await nodeRequest(`${statusServer.url}/${status}`), expected);
      if (status === 429 || status === 503 || status === 404) {
        const data = await undiciRequest(`${statusServer.url}/${status}`);
        await data.body.dump();
        add(`undici.request response ${status}`, 'undici', data, expected);
      }
    }
    const throwing = new Agent().compose(interceptors.responseError());
    cleanups.push(() => (throwing as unknown as Agent).close());
    add('undici responseError interceptor 503 (ResponseError)', 'undici', await failureOf('undici responseError', () => undiciRequest(`${statusServer.url}/503`, { dispatcher: throwing })), {
      category: 'external_service',
      code: '503',
      retryAfterMs: 3_600_000,
    });

    // The setup is wrong: names that do not resolve, URLs that are not URLs, no HTTP at all.
    const config = (code: string): CorpusEntry['expected'] => ({ category: 'configuration', transient: false, code });
    // `.invalid` never resolves (RFC 6761), so no network is needed: the resolver answers
    // ENOTFOUND at once. A machine whose resolver cannot be reached at all answers
    // EAI_AGAIN instead, which is a network failure and expected as such.
    const notFound = async (label: string, client: string, provoke: () => Promise<unknown>): Promise<void> => {
      const failure = await failureOf(label, provoke);
      const f = failure as { code?: unknown; cause?: { code?: unknown } };
      const dnsDown = f.code === 'EAI_AGAIN' || f.cause?.code === 'EAI_AGAIN';
      add(`${label} (.invalid)`, client, failure, dnsDown ? net_('EAI_AGAIN') : config('ENOTFOUND'));
    };
    await notFound('http ENOTFOUND', 'http', () => nodeRequest('http://breakwater-corpus.invalid/'));
    await notFound('fetch ENOTFOUND', 'fetch', () => fetch('http://breakwater-corpus.invalid/'));
    await notFound('undici.request ENOTFOUND', 'undici', () => undiciRequest('http://breakwater-corpus.invalid/'));
    add('fetch invalid URL', 'fetch', await failureOf('fetch invalid url', () => fetch('http//missing-colon')), config('ERR_INVALID_URL'));
    add('http invalid URL', 'http', await failureOf('http invalid url', () => nodeRequest('not a url')), config('ERR_INVALID_URL'));
    add('fetch bad port (blocked by the fetch spec)', 'fetch', await failureOf('fetch bad port', () => fetch(`http://${HOST}:6000/`)), { category: 'configuration', transient: false });
    add('http garbage response (HPE_*)', 'http', await failureOf('http parse error', () => nodeRequest(`http://${HOST}:${garbage.port}/`)), {
      category: 'external_service',
      transient: false,
    });
    add('fetch garbage response', 'fetch', await failureOf('fetch parse error', () => fetch(`http://${HOST}:${garbage.port}/`)), { category: 'external_service', transient: false });

    await collectTls(out, statusServer, cleanups);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

/**
 * A self-signed certificate for `localhost` from the openssl CLI. Without one the TLS
 * cases cannot be provoked: the corpus fails instead of quietly shrinking.
 */
async function selfSignedCert(): Promise<{ key: string; cert: string }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'breakwater-tls-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    await promisify(execFile)(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
      { timeout: 30_000 },
    );
    return { key: await fsp.readFile(keyFile, 'utf8'), cert: await fsp.readFile(certFile, 'utf8') };
  } catch (error) {
    throw new Error(
      `error corpus: could not make a self-signed certificate with the openssl CLI (${(error as Error).message}); the TLS cases need it: install openssl (apt-get install openssl)`,
    );
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

async function collectTls(out: CorpusEntry[], plain: HttpTestServer, cleanups: Array<() => Promise<void> | void>): Promise<void> {
  const tls = await selfSignedCert();
  const server = https.createServer(tls, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as net.AddressInfo;
  const critical = (code?: string): CorpusEntry['expected'] => ({ category: 'configuration', transient: false, ...(code ? { code } : {}) });
  out.push(
    { label: 'https self-signed certificate', client: 'http', failure: await failureOf('https self-signed', () => nodeRequest(`https://${HOST}:${port}/`)), expected: critical('DEPTH_ZERO_SELF_SIGNED_CERT') },
    {
      label: 'https certificate for another host',
      client: 'http',
      failure: await failureOf('https altname', () => nodeRequest(`https://${HOST}:${port}/`, { ca: tls.cert })),
      expected: critical('ERR_TLS_CERT_ALTNAME_INVALID'),
    },
    { label: 'fetch self-signed certificate', client: 'fetch', failure: await failureOf('fetch self-signed', () => fetch(`https://${HOST}:${port}/`)), expected: critical('DEPTH_ZERO_SELF_SIGNED_CERT') },
    { label: 'https to a plain-HTTP port', client: 'http', failure: await failureOf('https to http', () => nodeRequest(`https://${HOST}:${plain.port}/`)), expected: critical() },
  );
}

// ---------------------------------------------------------------------------
// PostgreSQL (pg) against a real server

async function collectPg(out: CorpusEntry[]): Promise<void> {
  const server = await postgres();
  const base: pg.ClientConfig = { host: server.host, port: server.port, user: server.user, password: server.password, database: server.database };
  const adminConfig: pg.ClientConfig = { ...base, user: server.admin.user, password: server.admin.password };
  const clients: pg.Client[] = [];
  const cleanups: Array<() => Promise<unknown> | void> = [];
  /** A connected client whose 'error' events are kept (an unhandled one would crash the process). */
  const connect = async (config: pg.ClientConfig = base): Promise<pg.Client & { errors: Error[] }> => {
    const client = Object.assign(new pg.Client(config), { errors: [] as Error[] });
    client.on('error', (error) => client.errors.push(error));
    clients.push(client);
    await client.connect();
    return client;
  };
  const add = (label: string, failure: unknown, expected: CorpusEntry['expected']): void => {
    out.push({ label, client: 'pg', failure, expected });
  };
  const sqlstate = (code: string, category: ErrorCategory, transient: boolean): CorpusEntry['expected'] => ({ category, transient, code });
  const table = 'breakwater_corpus';
  const limitedRole = 'breakwater_corpus_limited';

  try {
    const admin = await connect(adminConfig);
    const a = await connect();
    const b = await connect();
    await a.query(`drop table if exists ${table}`);
    await a.query(`create table ${table} (id int primary key, v int not null check (v >= 0))`);
    cleanups.push(() => admin.query(`drop table if exists ${table}`).catch(() => undefined));
    await a.query(`insert into ${table} values (1, 0), (2, 0)`);

    add('pg wrong password (28P01)', await failureOf('pg 28P01', () => connect({ ...base, password: 'not-the-password' })), sqlstate('28P01', 'authentication', false));
    add('pg unknown database (3D000)', await failureOf('pg 3D000', () => connect({ ...base, database: 'breakwater_no_such_db' })), sqlstate('3D000', 'configuration', false));
    add('pg syntax error (42601)', await failureOf('pg 42601', () => a.query('SELEC 1')), sqlstate('42601', 'validation', false));
    add('pg missing table (42P01)', await failureOf('pg 42P01', () => a.query('select * from breakwater_no_such_table')), sqlstate('42P01', 'configuration', false));
    add('pg missing column (42703)', await failureOf('pg 42703', () => a.query(`select no_such_column from ${table}`)), sqlstate('42703', 'configuration', false));
    add('pg unique violation (23505)', await failureOf('pg 23505', () => a.query(`insert into ${table} values (1, 0)`)), sqlstate('23505', 'data_integrity', false));
    add('pg not-null violation (23502)', await failureOf('pg 23502', () => a.query(`insert into ${table} values (3, null)`)), sqlstate('23502', 'data_integrity', false));
    add('pg check violation (23514)', await failureOf('pg 23514', () => a.query(`insert into ${table} values (4, -1)`)), sqlstate('23514', 'data_integrity', false));
    add('pg division by zero (22012)', await failureOf('pg 22012', () => a.query('select 1/0')), sqlstate('22012', 'validation', false));
    add('pg invalid input syntax (22P02)', await failureOf('pg 22P02', () => a.query("select 'abc'::int")), sqlstate('22P02', 'validation', false));
    add('pg RAISE EXCEPTION (P0001)', await failureOf('pg P0001', () => a.query("do $$ begin raise exception 'corpus business rule'; end $$")), sqlstate('P0001', 'business_logic', false));
    add('pg permission denied (42501)', await failureOf('pg 42501', () => a.query('select * from pg_authid')), sqlstate('42501', 'authorization', false));

    // 40001: a REPEATABLE READ transaction updates a row another session changed since its snapshot.
    await a.query('begin isolation level repeatable read');
    await a.query(`select v from ${table} where id = 1`);
    await b.query(`update ${table} set v = v + 1 where id = 1`);
    add('pg serialization failure (40001)', await failureOf('pg 40001', () => a.query(`update ${table} set v = v + 1 where id = 1`)), sqlstate('40001', 'concurrency', true));
    await a.query('rollback');

    // 55P03: FOR UPDATE NOWAIT on a row another transaction holds.
    await a.query('begin');
    await a.query(`select * from ${table} where id = 1 for update`);
    add('pg lock not available (55P03)', await failureOf('pg 55P03', () => b.query(`select * from ${table} where id = 1 for update nowait`)), sqlstate('55P03', 'concurrency', true));
    await a.query('rollback');

    // 40P01: two transactions take two row locks in opposite orders (detected after deadlock_timeout, 1 s).
    await a.query('begin');
    await b.query('begin');
    await a.query(`update ${table} set v = v + 1 where id = 1`);
    await b.query(`update ${table} set v = v + 1 where id = 2`);
    const settled = await Promise.allSettled([a.query(`update ${table} set v = v + 1 where id = 2`), b.query(`update ${table} set v = v + 1 where id = 1`)]);
    const deadlock = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (deadlock === undefined) throw new Error('error corpus: the deadlock did not happen');
    add('pg deadlock (40P01)', deadlock.reason, sqlstate('40P01', 'concurrency', true));
    await a.query('rollback');
    await b.query('rollback');

    // 57014: statement_timeout.
    await a.query('set statement_timeout = 50');
    add('pg statement timeout (57014)', await failureOf('pg 57014', () => a.query('select pg_sleep(2)')), sqlstate('57014', 'timeout', true));
    await a.query('reset statement_timeout');

    // 53300: more connections than a role is allowed.
    await admin.query(`drop role if exists ${limitedRole}`);
    await admin.query(`create role ${limitedRole} login password 'limited' connection limit 1`);
    cleanups.push(() => admin.query(`drop role if exists ${limitedRole}`).catch(() => undefined));
    const limited = { ...base, user: limitedRole, password: 'limited' };
    const first = await connect(limited);
    add('pg too many connections for role (53300)', await failureOf('pg 53300', () => connect(limited)), sqlstate('53300', 'resource', true));
    await first.end();

    // 57P01, then "Connection terminated unexpectedly": a busy session terminated by the administrator.
    const victim = await connect();
    const pid = (await victim.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const busy = failureOf('pg 57P01', () => victim.query('select pg_sleep(5)'));
    await sleep(200);
    await admin.query('select pg_terminate_backend($1)', [pid]);
    add('pg terminated by administrator (57P01)', await busy, sqlstate('57P01', 'external_service', true));
    add('pg Connection terminated unexpectedly', await failureOf('pg terminated', () => victim.query('select 1')), { category: 'network', transient: true });

    // An idle session terminated: the client reports it is not queryable any more.
    const idle = await connect();
    const idlePid = (await idle.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    await admin.query('select pg_terminate_backend($1)', [idlePid]);
    await sleep(200);
    if (idle.errors[0] !== undefined) add('pg idle session terminated (error event, 57P01)', idle.errors[0], sqlstate('57P01', 'external_service', true));
    add('pg Client has encountered a connection error', await failureOf('pg not queryable', () => idle.query('select 1')), { category: 'network', transient: true });

    // Connection refused, and a server that accepts TCP but never speaks.
    const refused = await closedPort();
    add('pg ECONNREFUSED', await failureOf('pg refused', () => connect({ ...base, port: refused })), { category: 'network', transient: true, code: 'ECONNREFUSED' });
    const blackhole = await tcpServer(() => undefined);
    cleanups.push(() => blackhole.close());
    add('pg Client connectionTimeoutMillis', await failureOf('pg connect timeout', () => connect({ ...base, port: blackhole.port, connectionTimeoutMillis: 100 })), {
      category: 'timeout',
      transient: true,
      code: 'timeout',
    });
    const deadPool = new pg.Pool({ ...base, port: blackhole.port, connectionTimeoutMillis: 100 });
    deadPool.on('error', () => undefined);
    cleanups.push(() => deadPool.end());
    add('pg Pool connection timeout (wrapper with cause)', await failureOf('pg pool connect timeout', () => deadPool.query('select 1')), { category: 'timeout', transient: true, code: 'timeout' });

    // Client-side timeouts.
    const queryTimeout = await connect({ ...base, query_timeout: 50 });
    add('pg query_timeout (Query read timeout)', await failureOf('pg query_timeout', () => queryTimeout.query('select pg_sleep(1)')), { category: 'timeout', transient: true, code: 'timeout' });
    const pool = new pg.Pool({ ...base, max: 1, connectionTimeoutMillis: 100 });
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    const held = await pool.connect();
    add('pg Pool exhausted (timeout exceeded when trying to connect)', await failureOf('pg pool exhausted', () => pool.query('select 1')), { category: 'timeout', transient: true, code: 'timeout' });
    held.release();
  } finally {
    for (const client of clients) await client.end().catch(() => undefined);
    // Sessions still running a statement are gone once their client ended; the cleanups need the admin.
    const admin = new pg.Client(adminConfig);
    admin.on('error', () => undefined);
    try {
      await admin.connect();
      await admin.query(`drop table if exists ${table}`);
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where usename = '${limitedRole}'`);
      await admin.query(`drop role if exists ${limitedRole}`);
    } catch {
      // best effort
    } finally {
      await admin.end().catch(() => undefined);
    }
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------
// Redis: ioredis and node-redis against a real redis-server

async function collectRedis(out: CorpusEntry[]): Promise<void> {
  const server = await redis();
  const ioClients: Redis[] = [];
  type NodeRedis = ReturnType<typeof createClient>;
  const nodeClients: NodeRedis[] = [];
  /** An ioredis client that neither retries nor queues offline, with its 'error' events kept. */
  const io = (options: RedisOptions = {}): Redis & { errors: Error[] } => {
    const merged: RedisOptions = {
      host: server.host,
      port: server.port,
      password: server.password,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      ...options,
    };
    for (const key of Object.keys(merged) as Array<keyof RedisOptions>) if (merged[key] === undefined) delete merged[key];
    const client = Object.assign(new Redis(merged), { errors: [] as Error[] });
    client.on('error', (error: Error) => client.errors.push(error));
    ioClients.push(client);
    return client;
  };
  const nr = (options: Parameters<typeof createClient>[0] = {}): NodeRedis & { errors: Error[] } => {
    const client = Object.assign(createClient({ url: server.url, socket: { reconnectStrategy: false }, ...options }), { errors: [] as Error[] });
    client.on('error', (error: Error) => client.errors.push(error));
    nodeClients.push(client);
    return client;
  };
  const add = (label: string, client: 'ioredis' | 'redis', failure: unknown, expected: CorpusEntry['expected']): void => {
    out.push({ label, client, failure, expected });
  };
  const reply = (code: string, category: ErrorCategory, transient: boolean): CorpusEntry['expected'] => ({ category, transient, code });
  const admin = io();
  await admin.connect();
  const refusedPort = await closedPort();

  try {
    // Authentication.
    const anonymous = io({ password: undefined, protocol: 2 });
    await anonymous.connect();
    add('ioredis NOAUTH (RESP2 command)', 'ioredis', await failureOf('io NOAUTH', () => anonymous.get('k')), reply('NOAUTH', 'authentication', false));
    const anonymous3 = io({ password: undefined });
    await failureOf('io NOAUTH resp3', () => anonymous3.connect());
    const helloNoauth = anonymous3.errors.find((e) => e.message.startsWith('NOAUTH'));
    if (helloNoauth) add("ioredis NOAUTH (HELLO 3, 'error' event)", 'ioredis', helloNoauth, reply('NOAUTH', 'authentication', false));
    const wrong = io({ password: 'not-the-password' });
    const wrongConnect = await failureOf('io WRONGPASS', () => wrong.connect());
    const wrongpass = wrong.errors.find((e) => e.message.startsWith('WRONGPASS'));
    if (wrongpass) add("ioredis WRONGPASS ('error' event)", 'ioredis', wrongpass, reply('WRONGPASS', 'authentication', false));
    // What connect() itself rejects with: ioredis reports only that the connection closed.
    add('ioredis connect() with a wrong password (Connection is closed.)', 'ioredis', wrongConnect, { category: 'network', transient: true });
    add('node-redis NOAUTH (HELLO)', 'redis', await failureOf('nr NOAUTH', () => nr({ url: `redis://${server.host}:${server.port}` }).connect()), reply('NOAUTH', 'authentication', false));
    add('node-redis WRONGPASS', 'redis', await failureOf('nr WRONGPASS', () => nr({ url: `redis://:wrong@${server.host}:${server.port}` }).connect()), reply('WRONGPASS', 'authentication', false));

    // Invalid commands.
    const c = io();
    await c.connect();
    const n = nr();
    await n.connect();
    await c.set('breakwater:corpus:string', 'x');
    add('ioredis WRONGTYPE', 'ioredis', await failureOf('io WRONGTYPE', () => c.lpush('breakwater:corpus:string', 'y')), reply('WRONGTYPE', 'validation', false));
    add('node-redis WRONGTYPE', 'redis', await failureOf('nr WRONGTYPE', () => n.lPush('breakwater:corpus:string', 'y')), reply('WRONGTYPE', 'validation', false));
    add('ioredis ERR syntax error', 'ioredis', await failureOf('io syntax', () => c.call('SET', 'breakwater:corpus:k', 'v', 'XX', 'NX')), reply('ERR', 'validation', false));
    add('node-redis ERR syntax error', 'redis', await failureOf('nr syntax', () => n.sendCommand(['SET', 'breakwater:corpus:k', 'v', 'XX', 'NX'])), reply('ERR', 'validation', false));
    add('ioredis ERR unknown command', 'ioredis', await failureOf('io unknown', () => c.call('BREAKWATERNOSUCHCOMMAND')), reply('ERR', 'validation', false));
    add('node-redis ERR unknown command', 'redis', await failureOf('nr unknown', () => n.sendCommand(['BREAKWATERNOSUCHCOMMAND'])), reply('ERR', 'validation', false));
    add('ioredis ERR wrong number of arguments', 'ioredis', await failureOf('io arity', () => c.call('GET')), reply('ERR', 'validation', false));
    await c.del('breakwater:corpus:string');

    // Connection refused and lost.
    const refused = io({ port: refusedPort });
    add('ioredis connect() to a closed port (Connection is closed.)', 'ioredis', await failureOf('io refused', () => refused.connect()), { category: 'network', transient: true });
    const refusedEvent = refused.errors.find((e) => (e as { code?: string }).code === 'ECONNREFUSED');
    if (refusedEvent) add("ioredis ECONNREFUSED ('error' event)", 'ioredis', refusedEvent, { category: 'network', transient: true, code: 'ECONNREFUSED' });
    add('node-redis ECONNREFUSED', 'redis', await failureOf('nr refused', () => nr({ url: `redis://${server.host}:${refusedPort}` }).connect()), { category: 'network', transient: true, code: 'ECONNREFUSED' });
    const retrying = io({ port: refusedPort, lazyConnect: false, retryStrategy: () => 10, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    add('ioredis MaxRetriesPerRequestError', 'ioredis', await failureOf('io max retries', () => retrying.get('k')), { category: 'network', transient: true });
    retrying.disconnect();

    const killedIo = io();
    await killedIo.connect();
    const ioId = await killedIo.client('ID');
    const ioBlocked = failureOf('io killed', () => killedIo.blpop('breakwater:corpus:never', 5));
    await sleep(100);
    await admin.client('KILL', 'ID', String(ioId));
    add('ioredis Connection is closed. (CLIENT KILL)', 'ioredis', await ioBlocked, { category: 'network', transient: true });
    add("ioredis Stream isn't writeable (after the connection closed)", 'ioredis', await failureOf('io offline', () => killedIo.get('k')), { category: 'network', transient: true });

    const killedNr = nr();
    await killedNr.connect();
    const nrId = await killedNr.clientId();
    const nrBlocked = failureOf('nr killed', () => killedNr.blPop('breakwater:corpus:never', 5));
    await sleep(100);
    await admin.client('KILL', 'ID', String(nrId));
    add('node-redis SocketClosedUnexpectedlyError (CLIENT KILL)', 'redis', await nrBlocked, { category: 'network', transient: true });
    add('node-redis ClientClosedError (after the socket closed)', 'redis', await failureOf('nr closed', () => killedNr.get('k')), { category: 'network', transient: true });

    // Timeouts.
    const slowIo = io({ commandTimeout: 50 });
    await slowIo.connect();
    add('ioredis Command timed out (commandTimeout, BLPOP)', 'ioredis', await failureOf('io command timeout', () => slowIo.blpop('breakwater:corpus:never', 1)), { category: 'timeout', transient: true, code: 'timeout' });
    const socketTimeoutIo = io({ socketTimeout: 100 });
    await socketTimeoutIo.connect();
    await failureOf('io socket timeout', () => socketTimeoutIo.blpop('breakwater:corpus:never', 1));
    const socketTimeoutEvent = socketTimeoutIo.errors.find((e) => e.message.startsWith('Socket timeout'));
    if (socketTimeoutEvent) add("ioredis socketTimeout ('error' event)", 'ioredis', socketTimeoutEvent, { category: 'timeout', transient: true, code: 'timeout' });
    const socketTimeoutNr = nr({ socket: { reconnectStrategy: false, socketTimeout: 100 } });
    await socketTimeoutNr.connect();
    add('node-redis SocketTimeoutError', 'redis', await failureOf('nr socket timeout', () => socketTimeoutNr.blPop('breakwater:corpus:never', 1)), { category: 'timeout', transient: true, code: 'timeout' });

    // The caller aborts a node-redis command (node-redis honours the signal until the command is written).
    const controller = new AbortController();
    const aborting = n.withCommandOptions({ abortSignal: controller.signal }).blPop('breakwater:corpus:never', 2);
    controller.abort();
    add('node-redis AbortError (abortSignal)', 'redis', await failureOf('nr abort', () => aborting), { category: 'cancelled', transient: false, code: 'AbortError' });

    // Out of memory: maxmemory 1 byte, then a write.
    try {
      await admin.config('SET', 'maxmemory', '1');
      add('ioredis OOM', 'ioredis', await failureOf('io OOM', () => c.set('breakwater:corpus:oom', 'x')), reply('OOM', 'resource', true));
      add('node-redis OOM', 'redis', await failureOf('nr OOM', () => n.set('breakwater:corpus:oom', 'x')), reply('OOM', 'resource', true));
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }

    // NOPERM: an ACL user allowed GET only.
    try {
      await admin.call('ACL', 'SETUSER', 'breakwater-corpus', 'on', '>corpus-pw', '~*', '+get', '+hello', '+auth');
      const limited = io({ username: 'breakwater-corpus', password: 'corpus-pw' });
      await limited.connect();
      add('ioredis NOPERM (ACL)', 'ioredis', await failureOf('io NOPERM', () => limited.set('breakwater:corpus:k', 'v')), reply('NOPERM', 'authorization', false));
      const limitedNr = nr({ url: `redis://breakwater-corpus:corpus-pw@${server.host}:${server.port}` });
      await limitedNr.connect();
      add('node-redis NOPERM (ACL)', 'redis', await failureOf('nr NOPERM', () => limitedNr.set('breakwater:corpus:k', 'v')), reply('NOPERM', 'authorization', false));
    } finally {
      await admin.call('ACL', 'DELUSER', 'breakwater-corpus');
    }

    // BUSY: a script that never ends, past busy-reply-threshold; then SCRIPT KILL.
    const scripted = io();
    await scripted.connect();
    try {
      await admin.config('SET', 'busy-reply-threshold', '100');
      const looping = failureOf('io script killed', () => scripted.eval('while true do end', 0));
      await sleep(300);
      add('ioredis BUSY (long script)', 'ioredis', await failureOf('io BUSY', () => c.get('breakwater:corpus:k')), reply('BUSY', 'external_service', true));
      add('node-redis BUSY (long script)', 'redis', await failureOf('nr BUSY', () => n.get('breakwater:corpus:k')), reply('BUSY', 'external_service', true));
      await admin.script('KILL');
      add('ioredis ERR Script killed by user', 'ioredis', await looping, reply('ERR', 'external_service', true));
    } finally {
      await admin.script('KILL').catch(() => undefined);
      await admin.config('SET', 'busy-reply-threshold', '5000');
    }

    // READONLY and MASTERDOWN: the server made a replica of a master that does not exist.
    try {
      await admin.call('REPLICAOF', HOST, String(refusedPort));
      add('ioredis READONLY (replica)', 'ioredis', await failureOf('io READONLY', () => c.set('breakwater:corpus:k', 'v')), reply('READONLY', 'external_service', true));
      add('node-redis READONLY (replica)', 'redis', await failureOf('nr READONLY', () => n.set('breakwater:corpus:k', 'v')), reply('READONLY', 'external_service', true));
      await admin.config('SET', 'replica-serve-stale-data', 'no');
      add('ioredis MASTERDOWN (stale replica)', 'ioredis', await failureOf('io MASTERDOWN', () => c.get('breakwater:corpus:k')), reply('MASTERDOWN', 'external_service', true));
    } finally {
      await admin.config('SET', 'replica-serve-stale-data', 'yes');
      await admin.call('REPLICAOF', 'NO', 'ONE');
    }
  } finally {
    for (const client of ioClients) client.disconnect();
    for (const client of nodeClients) {
      try {
        client.destroy();
      } catch {
        // already closed
      }
    }
  }
}

/**
 * Provokes every failure of the corpus against real servers (started through
 * test/integration/servers.ts) and returns them with the classification expected.
 */
export async function collectRealErrors(): Promise<CorpusEntry[]> {
  const out: CorpusEntry[] = [];
  await collectHttp(out);
  await collectPg(out);
  await collectRedis(out);
  return out;
}
