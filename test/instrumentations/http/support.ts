// Shared pieces of the http adapter's tests: a runtime with small delays, a scripted
// real server that records what reached it, a promise around one request, and a
// self-signed certificate for the https tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { Runtime } from '../../../src/runtime/runtime.js';
import { createHttpAdapter } from '../../../instrumentations/http/index.js';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { httpServer } from '../../integration/http-server.js';
import type { HttpTestServer } from '../../integration/http-server.js';
import { trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { OtelHarness } from '../../helpers/otel.js';

export const FAST_POLICY: Record<string, string> = {
  BREAKWATER_RETRY_BASE_DELAY_MS: '1',
  BREAKWATER_RETRY_MAX_DELAY_MS: '5',
  BREAKWATER_TIMEOUT_MS: '300',
  BREAKWATER_BREAKER: 'consecutive',
  BREAKWATER_BREAKER_THRESHOLD: '50',
  BREAKWATER_RETRY_BUDGET_RATIO: '1',
  BREAKWATER_RETRY_BUDGET_MIN_PER_SECOND: '1000',
};

export function newRuntime(env: Record<string, string> = {}): Runtime {
  return new Runtime(loadConfig({ ...FAST_POLICY, ...env }));
}

/** A runtime and the http adapter enabled on it; call disable() after. */
export function enableAdapter(env: Record<string, string> = {}): { runtime: Runtime; adapter: Adapter } {
  const runtime = newRuntime(env);
  const adapter = createHttpAdapter(runtime);
  adapter.enable();
  return { runtime, adapter };
}

/** What one request reached the server with. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Reply = (req: IncomingMessage, res: http.ServerResponse, received: Received) => void;

/** A real server that records every request and answers with the next scripted reply (the last one repeats). */
export interface ScriptedServer extends HttpTestServer {
  received: Received[];
  script(...replies: Reply[]): void;
}

export const ok =
  (text = 'ok', headers: Record<string, string> = {}): Reply =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', ...headers });
    res.end(text);
  };

export const status =
  (code: number, text = `status ${code}`, headers: Record<string, string> = {}): Reply =>
  (_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain', ...headers });
    res.end(text);
  };

/** Never answers (the socket stays open until the client gives up or the server closes). */
export const hang: Reply = () => undefined;

export async function scriptedServer(...replies: Reply[]): Promise<ScriptedServer> {
  let script = replies.length > 0 ? replies : [ok()];
  let next = 0;
  const received: Received[] = [];
  const server = await httpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(entry);
      const reply = script[Math.min(next++, script.length - 1)]!;
      reply(req, res, entry);
    });
  });
  return Object.assign(server, {
    received,
    script(...more: Reply[]) {
      script = more;
      next = 0;
    },
  });
}

export interface Outcome {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  response: IncomingMessage;
}

/** Reads a response to the end. */
export function readResponse(res: IncomingMessage): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), response: res }));
  });
}

/** Waits for a request's response (read to the end) or its error. */
export function outcomeOf(req: ClientRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => readResponse(res).then(resolve, reject));
    req.on('error', reject);
  });
}

/** Waits for a request's error; fails if a response comes instead. */
export function errorOf(req: ClientRequest): Promise<Error & { code?: string }> {
  return new Promise((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      reject(new Error(`expected an error, got a response ${res.statusCode}`));
    });
    req.on('error', resolve);
  });
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl (installed when missing). */
export function selfSignedCertificate(): { key: string; cert: string } {
  ensureOpenssl();
  const dir = mkdtempSync(join(tmpdir(), 'bw-http-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ensureOpenssl(): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    execFileSync('apt-get', ['install', '-y', 'openssl'], { stdio: 'ignore' });
  }
}

/**
 * An HTTP server behind a listener that resets the first `resets` connections at once
 * (a real RST: the client sees ECONNRESET, the request never reached the server).
 */
export async function serverResettingFirst(resets: number, inner: ScriptedServer): Promise<{ port: number; url: string; connections: () => number; close(): Promise<void> }> {
  const net = await import('node:net');
  let connections = 0;
  const sockets = new Set<import('node:net').Socket>();
  const front = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (connections <= resets) socket.resetAndDestroy();
    else inner.server.emit('connection', socket);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const port = (front.address() as import('node:net').AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        front.close(() => resolve());
      }),
  };
}

// --- the telemetry shape: one span per attempt, children of the caller's span ---------------

/** Runs `fn` inside a span of the test's own (the caller's), ended when `fn` settles: a call's attempt spans are its children. */
export function inCallerSpan<T>(name: string, fn: () => Promise<T>): Promise<T> {
  return trace.getTracer('test-caller').startActiveSpan(name, (span) =>
    fn().finally(() => span.end()),
  );
}

/** One logical call as recorded: its attempt spans (and rejection span) under the caller's span, in attempt order. */
export interface RecordedCall {
  caller: ReadableSpan;
  attempts: ReadableSpan[];
  /** The span that tells what happened to the call: the one with the highest `resilience.attempt`. */
  last: ReadableSpan;
}

/** The calls made inside caller spans named `name` (inCallerSpan), in the order the callers ended. */
export function recordedCalls(spans: readonly ReadableSpan[], name: string | RegExp): RecordedCall[] {
  const matches = (s: ReadableSpan) => (typeof name === 'string' ? s.name === name : name.test(s.name));
  return spans
    .filter((s) => matches(s) && s.instrumentationScope.name === 'test-caller')
    .map((caller) => {
      const attempts = spans
        .filter((s) => s.parentSpanContext?.spanId === caller.spanContext().spanId && s.attributes['resilience.attempt'] !== undefined)
        .sort((a, b) => Number(a.attributes['resilience.attempt']) - Number(b.attributes['resilience.attempt']));
      return { caller, attempts, last: attempts.at(-1)! };
    });
}

/** The span events' names of a span. */
export function eventNames(span: ReadableSpan): string[] {
  return span.events.map((e) => e.name);
}

/** Every point of a metric across all scopes that recorded it (the harness's collect() keeps one scope per name). */
export async function metricPoints(otel: OtelHarness, name: string): Promise<Array<{ scope: string; metric: MetricData; attributes: Record<string, unknown>; count: number }>> {
  const out: Array<{ scope: string; metric: MetricData; attributes: Record<string, unknown>; count: number }> = [];
  await otel.collect(); // exports once; the exporter keeps that export, every scope of it
  for (const resourceMetrics of otel.metricExporter.getMetrics()) {
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (metric.descriptor.name !== name) continue;
        for (const point of metric.dataPoints) {
          const count = metric.dataPointType === DataPointType.HISTOGRAM ? (point.value as { count: number }).count : Number(point.value);
          out.push({ scope: scope.scope.name, metric, attributes: point.attributes as Record<string, unknown>, count });
        }
      }
    }
  }
  return out;
}
