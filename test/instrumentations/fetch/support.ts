import { createRequire } from 'node:module';
import type http from 'node:http';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../../src/config/index.js';
import { Runtime } from '../../../src/runtime/runtime.js';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { createFetchAdapter } from '../../../instrumentations/fetch/index.js';
import { httpServer, type HttpTestServer } from '../../integration/http-server.js';
import { OtelHarness } from '../../helpers/otel.js';
import { compatVersion, requireCompat } from '../../compat/modules.js';

export const require = createRequire(import.meta.url);
export type Undici = typeof import('undici');

/** Small delays so retries happen fast; a short attempt timeout for the delay/blackhole cells. */
export const TEST_ENV: Record<string, string> = {
  BREAKWATER_RETRY_BASE_DELAY_MS: '1',
  BREAKWATER_RETRY_MAX_DELAY_MS: '5',
  BREAKWATER_TIMEOUT_MS: '300',
  BREAKWATER_DEADLINE_MS: '5000',
  BREAKWATER_BREAKER: 'off',
  BREAKWATER_RETRY_BUDGET_RATIO: '1',
};

/** One received request, as the server saw it. */
export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A test server that records every request and answers with `respond`. */
export interface RecordingServer extends HttpTestServer {
  received: Received[];
  respond: (req: Received, res: http.ServerResponse) => void;
}

export async function recordingServer(): Promise<RecordingServer> {
  const received: Received[] = [];
  let respond: RecordingServer['respond'] = (_req, res) => res.end('ok');
  const server = await httpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      received.push(r);
      holder.respond(r, res);
    });
  });
  const holder = Object.assign(server, {
    received,
    get respond() {
      return respond;
    },
    set respond(fn: RecordingServer['respond']) {
      respond = fn;
    },
  });
  return holder;
}

/** Answers the listed statuses in turn, then 200 "ok". */
export function statuses(...codes: number[]): RecordingServer['respond'] {
  let i = 0;
  return (_req, res) => {
    const code = codes[i++] ?? 200;
    res.statusCode = code;
    res.end(code === 200 ? 'ok' : `status ${code}`);
  };
}

export interface Setup {
  otel: OtelHarness;
  runtime: Runtime;
  adapter: Adapter;
}

export function setUp(env: Record<string, string> = {}): Setup {
  const otel = new OtelHarness().install();
  const runtime = new Runtime(loadConfig({ ...TEST_ENV, ...env }));
  const adapter = createFetchAdapter(runtime);
  adapter.enable();
  return { otel, runtime, adapter };
}

export async function tearDown(setup: Setup | undefined): Promise<void> {
  if (setup === undefined) return;
  setup.adapter.disable();
  await setup.otel.uninstall();
}

/** The patched undici module (required after enable(): require-in-the-middle patches it then). */
export function undici(): Undici {
  return require('undici') as Undici;
}

/** A major of undici the adapter supports, and how to load it (after enable(), like undici()). */
export interface UndiciVersion {
  readonly name: string;
  load(): Undici;
}

/** undici 8 declares `engines: node >= 22.19`: it is tested on the Node versions that can run it. */
export const UNDICI_8_RUNS_HERE = (() => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 19);
})();

/** undici 7 (the project's dependency), 6 (test/compat/older) and, where Node can run it, 8 (test/compat/newer). */
export const UNDICI_VERSIONS: readonly UndiciVersion[] = [
  { name: `undici ${(require('undici/package.json') as { version: string }).version}`, load: undici },
  { name: `undici ${compatVersion('older', 'undici')}`, load: () => requireCompat<Undici>('older', 'undici') },
  ...(UNDICI_8_RUNS_HERE ? [{ name: `undici ${compatVersion('newer', 'undici')}`, load: () => requireCompat<Undici>('newer', 'undici') }] : []),
];

const byStart = (a: ReadableSpan, b: ReadableSpan): number => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1];

/** breakwater's spans that stand for an attempt or a rejection (they number it: `resilience.attempt`), in the order they started. */
function numberedSpans(spans: readonly ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.instrumentationScope.name === 'breakwater' && s.attributes['resilience.attempt'] !== undefined).sort(byStart);
}

/** The attempt spans of every call (not rejections), in the order they started. */
export function attemptSpans(spans: readonly ReadableSpan[]): ReadableSpan[] {
  return numberedSpans(spans).filter((s) => !s.name.startsWith('resilience.'));
}

/**
 * The spans of calls made one after another (as the tests here make them): each call
 * is a run of spans starting at `resilience.attempt` 1, in order.
 */
export function sequentialCalls(spans: readonly ReadableSpan[]): ReadableSpan[][] {
  const calls: ReadableSpan[][] = [];
  for (const span of numberedSpans(spans)) {
    if (span.attributes['resilience.attempt'] === 1 || calls.length === 0) calls.push([]);
    calls.at(-1)!.push(span);
  }
  return calls;
}

/** The span that tells what came of each call (its last one: outcome, suppression), calls made one after another. */
export function callEndSpans(spans: readonly ReadableSpan[]): ReadableSpan[] {
  return sequentialCalls(spans).map((call) => call.at(-1)!);
}

export function clientSpans(spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.kind === SpanKind.CLIENT);
}

/** The span id a traceparent header carries. */
export function spanIdOf(traceparent: unknown): string | undefined {
  return typeof traceparent === 'string' ? traceparent.split('-')[2] : undefined;
}
