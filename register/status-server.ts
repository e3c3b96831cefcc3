import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { CircuitStatus } from '../src/runtime/runtime.js';

/** What the status endpoint reads and acts on (the runtime, in register). */
export interface StatusSource {
  circuits(): CircuitStatus[];
  /** Forces a target's breaker open, or closes it; false when the target has no breaker yet. */
  isolate(target: string): boolean;
  reset(target: string): boolean;
}

export interface StatusServerOptions {
  port: number;
  host: string;
  /** Bearer token for isolate/reset; undefined = read-only. */
  token: string | undefined;
}

const MAX_BODY_BYTES = 4096;

/**
 * A small HTTP endpoint for operators:
 * - `GET /breakers`: every breaker's state and stats, as JSON;
 * - `POST /breakers/isolate` and `POST /breakers/reset` with `{"target": "<key>"}`:
 *   only with `Authorization: Bearer <BREAKWATER_STATUS_TOKEN>`; without a configured
 *   token they answer 403, so the endpoint is read-only.
 * It never keeps the process alive (the server is unref'd) and answers nothing else.
 */
export async function startStatusServer(source: StatusSource, options: StatusServerOptions): Promise<Server> {
  const expected = options.token === undefined ? undefined : digest(options.token);
  const server = createServer((req, res) => {
    handle(req, res, source, expected).catch(() => send(res, 500, { error: 'internal error' }));
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

// Comparing digests keeps the comparison constant-time whatever the presented token's length.
function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(header.slice('Bearer '.length).trim()), expected);
}

async function handle(req: IncomingMessage, res: ServerResponse, source: StatusSource, expected: Buffer | undefined): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/breakers' && (req.method === 'GET' || req.method === 'HEAD')) {
    send(res, 200, { breakers: source.circuits() });
    return;
  }
  const action = path === '/breakers/isolate' ? 'isolate' : path === '/breakers/reset' ? 'reset' : undefined;
  if (action === undefined) {
    send(res, 404, { error: 'not found: GET /breakers, POST /breakers/isolate, POST /breakers/reset' });
    return;
  }
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    send(res, 405, { error: `${action} takes POST` });
    return;
  }
  if (expected === undefined) {
    send(res, 403, { error: 'read-only: set BREAKWATER_STATUS_TOKEN to allow isolate and reset' });
    return;
  }
  if (!authorized(req, expected)) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    send(res, 401, { error: 'a valid bearer token is required' });
    return;
  }
  const target = await readTarget(req);
  if (target === undefined) {
    send(res, 400, { error: 'expected a JSON body {"target": "<target key>"}' });
    return;
  }
  const done = action === 'isolate' ? source.isolate(target) : source.reset(target);
  if (!done) {
    send(res, 404, { error: 'no breaker for that target' });
    return;
  }
  send(res, 200, { target, action, breakers: source.circuits().filter((c) => c.target === target) });
}

async function readTarget(req: IncomingMessage): Promise<string | undefined> {
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
    return typeof target === 'string' && target.length > 0 ? target : undefined;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
