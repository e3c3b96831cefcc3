import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { hostOfHeader, isIpAddress, isLoopbackHost, normaliseHost } from '../src/config/hosts.js';
import type { CircuitStatus, FleetStatus, OperatorResult } from '../src/runtime/runtime.js';

/** What the status endpoint reads and acts on (the runtime, in register). */
export interface StatusSource {
  circuits(): CircuitStatus[];
  /** Forces a target's breaker open (runtime.ts says when it refuses). */
  isolate(target: string, options?: { create?: boolean }): OperatorResult;
  reset(target: string): OperatorResult;
  /** Fleet mode's state; undefined when no Redis is configured for it. */
  fleetStatus?(): FleetStatus | undefined;
}

export interface StatusServerOptions {
  port: number;
  host: string;
  /** Bearer token for isolate/reset (and for every request off loopback); undefined = read-only, loopback only. */
  token: string | undefined;
  /** Host header names accepted besides the bind address, loopback names and IP addresses. */
  allowedHosts?: readonly string[];
}

const MAX_BODY_BYTES = 4096;

/**
 * A small HTTP endpoint for operators:
 * - `GET /breakers`: every breaker's state and stats, as JSON;
 * - `GET /fleet`: fleet mode (the Redis as redis://host:port/db, never its credentials;
 *   the connection up or down; the policies in fleet mode), `{"fleet": false}` without it;
 * - `POST /breakers/isolate` and `POST /breakers/reset` with `{"target": "<key>"}`
 *   (isolate also takes `"create": true`): only with `Authorization: Bearer
 *   <BREAKWATER_STATUS_TOKEN>`; without a configured token they answer 403, so the
 *   endpoint is read-only.
 * Bound beyond loopback, it needs the token (refused without one) and asks for it on
 * every request, GET included. A request whose Host header names neither this endpoint
 * nor an allowed host gets 421: a web page that rebinds its own DNS name to 127.0.0.1
 * sends its own name, so it cannot read the breakers through the visitor's browser.
 * It never keeps the process alive (the server is unref'd) and answers nothing else.
 */
export async function startStatusServer(source: StatusSource, options: StatusServerOptions): Promise<Server> {
  const bindHost = normaliseHost(options.host);
  if (bindHost === undefined) throw new Error(`${JSON.stringify(options.host)} is not an IP address or a host name`);
  const loopback = isLoopbackHost(bindHost);
  if (!loopback && options.token === undefined) throw new Error(`binding ${bindHost} (beyond loopback) needs BREAKWATER_STATUS_TOKEN`);
  const expected = options.token === undefined ? undefined : digest(options.token);
  const hosts = new Set([bindHost, ...(options.allowedHosts ?? []).map((h) => normaliseHost(h) ?? h)]);
  const server = createServer((req, res) => {
    handle(req, res, source, { expected, hosts, tokenForReads: !loopback }).catch(() => send(res, 500, { error: 'internal error' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  server.unref();
  return server;
}

interface Access {
  /** Digest of the token; undefined = read-only. */
  readonly expected: Buffer | undefined;
  /** Host header names accepted besides loopback names and IP addresses. */
  readonly hosts: ReadonlySet<string>;
  /** Off loopback, reads need the token too. */
  readonly tokenForReads: boolean;
}

// Comparing digests keeps the comparison constant-time whatever the presented token's length.
function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(header.slice('Bearer '.length).trim()), expected);
}

/**
 * A Host the endpoint answers to: its bind address, a loopback name, an IP address (no
 * DNS name is involved, so no rebinding), or one of the allowed hosts.
 */
function hostAccepted(req: IncomingMessage, hosts: ReadonlySet<string>): boolean {
  const header = req.headers.host;
  const host = typeof header === 'string' ? hostOfHeader(header) : undefined;
  if (host === undefined) return false;
  return hosts.has(host) || isLoopbackHost(host) || isIpAddress(host);
}

async function handle(req: IncomingMessage, res: ServerResponse, source: StatusSource, access: Access): Promise<void> {
  if (!hostAccepted(req, access.hosts)) {
    send(res, 421, { error: 'the Host header names neither this endpoint nor an allowed host (BREAKWATER_STATUS_ALLOWED_HOSTS)' });
    return;
  }
  const path = (req.url ?? '/').split('?')[0];
  if ((path === '/breakers' || path === '/fleet') && (req.method === 'GET' || req.method === 'HEAD')) {
    if (access.tokenForReads && !authorized(req, access.expected!)) {
      unauthorized(res);
      return;
    }
    send(res, 200, path === '/breakers' ? { breakers: source.circuits() } : { fleet: source.fleetStatus?.() ?? false });
    return;
  }
  const action = path === '/breakers/isolate' ? 'isolate' : path === '/breakers/reset' ? 'reset' : undefined;
  if (action === undefined) {
    send(res, 404, { error: 'not found: GET /breakers, GET /fleet, POST /breakers/isolate, POST /breakers/reset' });
    return;
  }
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    send(res, 405, { error: `${action} takes POST` });
    return;
  }
  if (access.expected === undefined) {
    send(res, 403, { error: 'read-only: set BREAKWATER_STATUS_TOKEN to allow isolate and reset' });
    return;
  }
  if (!authorized(req, access.expected)) {
    unauthorized(res);
    return;
  }
  const body = await readBody(req);
  if (body === undefined) {
    send(res, 400, { error: `expected a JSON body {"target": "<target key>"${action === 'isolate' ? ', "create": true (optional)' : ''}}` });
    return;
  }
  const result = action === 'isolate' ? source.isolate(body.target, { create: body.create }) : source.reset(body.target);
  if (result.ok) {
    send(res, 200, { target: result.target, action, breakers: source.circuits().filter((c) => c.target === result.target) });
    return;
  }
  switch (result.reason) {
    case 'invalid':
      send(res, 400, { error: 'not a target key: expected <scheme>://<host>:<port>[/<db>] (http, https, postgresql, redis, rediss), as GET /breakers lists them' });
      return;
    case 'unknown': {
      const create = action === 'isolate' ? '; to isolate it before any call, send "create": true' : '';
      const alike = result.similar.length > 0 ? `; known targets that look alike: ${result.similar.join(', ')}` : '; no known target looks alike';
      send(res, 404, { error: `no call has been made to ${result.target}: it has no breaker${alike}${create}`, target: result.target, similar: result.similar });
      return;
    }
  }
}

function unauthorized(res: ServerResponse): void {
  res.setHeader('WWW-Authenticate', 'Bearer');
  send(res, 401, { error: 'a valid bearer token is required' });
}

async function readBody(req: IncomingMessage): Promise<{ target: string; create: boolean } | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const target = (body as { target?: unknown } | null)?.target;
    const create = (body as { create?: unknown } | null)?.create;
    if (typeof target !== 'string' || target.length === 0 || (create !== undefined && typeof create !== 'boolean')) return undefined;
    return { target, create: create === true };
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
