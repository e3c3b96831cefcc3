// breakwater/register beside an application's own OpenTelemetry set-up (a NodeSDK with the
// auto-instrumentations, started from the team's otel.mjs / otel.cjs), in both orders of
// the preload flags, as real child processes against real servers.
import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startChild, type ChildResult } from '../helpers/child.js';
import { appDir, SDK3_RUNS_HERE, type SdkSet } from '../helpers/existing-otel-app.js';
import { metricPoints, OtlpReceiver, type MetricPoint, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { httpServer, type HttpTestServer } from '../integration/http-server.js';
import { postgres, redis, type PgServer, type RedisServer } from '../integration/servers.js';

const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
const IITM_WARNING = "The 'import-in-the-middle' hook has already been initialized";

const SDK_SETS: readonly SdkSet[] = SDK3_RUNS_HERE ? ['otel-sdk2', 'otel-sdk3'] : ['otel-sdk2'];

/**
 * The app's HTTP dependency: records each request's traceparent headers; the first GET
 * /flaky gets a 503; the first GET /slow stalls until the client gives up on it (the
 * app's configuration hedges it after a second: a cold first call can take 50 ms and more); GET /limited answers 429 with a Retry-After
 * of a minute (the configuration follows it).
 */
interface Upstream {
  server: HttpTestServer;
  requests: Array<{ path: string; traceparents: string[] }>;
}

async function startUpstream(): Promise<Upstream> {
  const requests: Upstream['requests'] = [];
  let flakyFailed = false;
  let slowStalled = false;
  const server = await httpServer((req, res) => {
    const traceparents: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'traceparent') traceparents.push(req.rawHeaders[i + 1]!);
    requests.push({ path: req.url ?? '', traceparents });
    req.resume();
    if (req.url === '/flaky' && !flakyFailed) {
      flakyFailed = true;
      res.writeHead(503).end();
      return;
    }
    if (req.url === '/limited') {
      res.writeHead(429, { 'retry-after': '60' }).end();
      return;
    }
    if (req.url === '/slow' && !slowStalled) {
      slowStalled = true;
      const timer = setTimeout(() => res.writeHead(200).end('late'), 10_000);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    res.writeHead(200).end('ok');
  });
  return { server, requests };
}

function getOnce(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/orders', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** A breakwater span for one logical call, named `<policy> <target>` (opt-in: BREAKWATER_CALL_SPANS). */
function isBreakwaterCallSpan(span: ReceivedSpan): boolean {
  return span.kind === SPAN_KIND.INTERNAL && span.attributes['resilience.attempt'] !== undefined && span.attributes['resilience.target'] !== undefined && span.name === `${String(span.attributes['resilience.policy'])} ${String(span.attributes['resilience.target'])}`;
}

/**
 * A span recording an outbound call hangs directly under the span active where the call
 * was made: nothing in between (the call span is off by default, and no official CLIENT
 * span wraps breakwater's attempts).
 */
function expectParentIsCaller(span: ReceivedSpan, caller: ReceivedSpan, spans: ReceivedSpan[], what: string): void {
  const parent = spans.find((s) => s.spanId === span.parentSpanId);
  expect(span.parentSpanId, `${what}: "${span.name}" hangs under the caller's span "${caller.name}", not under ${parent === undefined ? 'a span not received' : `"${parent.name}" (kind ${parent.kind})`}`).to.equal(caller.spanId);
}
interface Call {
  what: string;
  attempts: number;
  /** Recognises the spans recording this call (any instrumentation's, any semantic-convention version). */
  matches(span: ReceivedSpan): boolean;
}

function port(span: ReceivedSpan): unknown {
  return span.attributes['server.port'] ?? span.attributes['net.peer.port'];
}

function operation(span: ReceivedSpan): string {
  return String(span.attributes['db.operation.name'] ?? span.attributes['db.operation'] ?? span.name).toUpperCase();
}

function runCase(args: string[], env: Record<string, string>): { port: Promise<number>; done: Promise<ChildResult> } {
  const running = startChild(args, env, 60_000);
  return { port: running.firstLine.then((line) => (JSON.parse(line) as { port: number }).port), done: running.done };
}

describe('breakwater/register with an existing OpenTelemetry set-up', function () {
  this.timeout(120_000);
  let pg: PgServer;
  let redisServer: RedisServer;
  let hedgeConfig: string;
  const dirs = new Map<SdkSet, string>();

  before(async function () {
    this.timeout(15 * 60_000); // a fresh machine installs PostgreSQL and Redis first
    [pg, redisServer] = await Promise.all([postgres(), redis()]);
    for (const set of SDK_SETS) dirs.set(set, appDir(set));
    hedgeConfig = path.join(dirs.get('otel-sdk2')!, 'breakwater.yaml');
    // Hedging and the dependency's rate limit for the HTTP upstream only (budget 1: the app makes few calls).
    fs.writeFileSync(
      hedgeConfig,
      'targets:\n  - match: "http://127.0.0.1:*"\n    policy:\n      hedge: { enabled: true, delayMs: 1000, budgetRatio: 1 }\n      rateLimit: { fromHeaders: true, maxWaitMs: 50 }\n',
    );
  });
  after(() => {
    for (const dir of dirs.values()) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const set of SDK_SETS) {
    for (const kind of ['esm', 'cjs'] as const) {
      const flag = kind === 'esm' ? '--import' : '--require';
      for (const breakwaterFirst of [true, false]) {
        const order = breakwaterFirst ? `${flag} breakwater/register ${flag} ./otel` : `${flag} ./otel ${flag} breakwater/register`;
        it(`${set}, ${kind.toUpperCase()}: ${order}: one trace per request, one CLIENT span per attempt (breakwater's) under the caller, one traceparent per attempt, HTTP durations counted once`, async () => {
          const dir = dirs.get(set)!;
          const otel = path.join(dir, kind === 'esm' ? 'otel.mjs' : 'otel.cjs');
          const app = path.join(dir, kind === 'esm' ? 'app.mjs' : 'app.cjs');
          const args = breakwaterFirst ? [flag, 'breakwater/register', flag, otel, app] : [flag, otel, flag, 'breakwater/register', app];
          const receiver = await OtlpReceiver.start();
          const upstream = await startUpstream();
          try {
            const child = runCase(args, {
              UPSTREAM_URL: upstream.server.url,
              PG_URL: pg.url,
              REDIS_URL: redisServer.url,
              OTEL_SERVICE_NAME: 'existing-otel',
              OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
              OTEL_METRIC_EXPORT_INTERVAL: '600000',
              BREAKWATER_RETRY_BASE_DELAY_MS: '1',
              BREAKWATER_RETRY_MAX_DELAY_MS: '2',
              BREAKWATER_CONFIG: hedgeConfig,
            });
            const appPort = await Promise.race([child.port, child.done.then((r) => Promise.reject(new Error(`the app ended before listening: ${r.stderr}`)))]);
            const response = await getOnce(appPort);
            const result = await child.done;
            expect(result.code, result.stderr).to.equal(0);
            expect(response.status, response.body).to.equal(200);
            expect(JSON.parse(response.body)).to.deep.equal({ httpStatus: 200, fetchStatus: 200, slowStatus: 200, limited: [429, 'BREAKWATER_LIMITED'], pg: 1, ioredis: null, nodeRedis: 0 });
            assertTelemetry(receiver.spans, upstream, { breakwaterFirst, kind, stderr: result.stderr });
            assertMetrics(metricPoints(receiver.rawBodies), upstream);
          } finally {
            await Promise.all([receiver.close(), upstream.server.close()]);
          }
        });
      }
    }
  }

  function assertTelemetry(spans: ReceivedSpan[], upstream: Upstream, run: { breakwaterFirst: boolean; kind: 'esm' | 'cjs'; stderr: string }): void {
    const servers = spans.filter((s) => s.kind === SPAN_KIND.SERVER && port(s) !== upstream.server.port);
    expect(servers.map((s) => s.name), "the app's SERVER span").to.have.length(1);
    const server = servers[0]!;
    expect(server.parentSpanId, 'the request came with no trace context').to.equal(undefined);
    const upstreamPort = upstream.server.port;
    const calls: Call[] = [
      { what: 'node:http GET /flaky (503, then retried)', attempts: 2, matches: (s) => port(s) === upstreamPort && requestPath(s, upstream) === '/flaky' },
      { what: 'fetch GET /fetch', attempts: 1, matches: (s) => port(s) === upstreamPort && requestPath(s, upstream) === '/fetch' },
      { what: 'fetch GET /limited (429, its retry and the next call turned away by the Retry-After)', attempts: 1, matches: (s) => s.kind === SPAN_KIND.CLIENT && port(s) === upstreamPort && requestPath(s, upstream) === '/limited' },
      { what: 'fetch GET /slow (stalled, then hedged)', attempts: 2, matches: (s) => port(s) === upstreamPort && requestPath(s, upstream) === '/slow' },
      { what: 'pg SELECT', attempts: 1, matches: (s) => port(s) === pg.port && operation(s).includes('SELECT') },
      { what: 'ioredis GET', attempts: 1, matches: (s) => port(s) === redisServer.port && operation(s) === 'GET' },
      { what: 'node-redis EXISTS', attempts: 1, matches: (s) => port(s) === redisServer.port && /(^|-)EXISTS$/.test(operation(s)) },
    ];
    const upstreamSpans = spans
      .filter((s) => port(s) === upstreamPort && s.attributes['resilience.attempt'] !== undefined)
      .map((s) => `${requestPath(s, upstream)} #${String(s.attributes['resilience.attempt'])} ${String(s.attributes['resilience.outcome'])} hedge=${String(s.attributes['resilience.hedge.result'])} ${s.events.map((e) => `${e.name}:${JSON.stringify(e.attributes)}`).join(' ')}`)
      .join('; ');
    expect(upstream.requests.map((r) => r.path).sort(), `what reached the upstream (attempt spans: ${upstreamSpans})`).to.deep.equal(['/fetch', '/flaky', '/flaky', '/limited', '/slow', '/slow']);
    const slow = spans.filter((s) => s.kind === SPAN_KIND.CLIENT && port(s) === upstreamPort && requestPath(s, upstream) === '/slow');
    const results = slow.map((s) => [s.attributes['resilience.attempt'], s.attributes['resilience.hedge'] ?? false, s.attributes['resilience.hedge.result']]).sort();
    expect(results, '/slow: the first attempt cancelled, the backup won').to.deep.equal([
      [1, false, 'cancelled'],
      [2, true, 'won'],
    ]);
    expect(spans.filter(isBreakwaterCallSpan).map((s) => s.name), 'no call spans: BREAKWATER_CALL_SPANS is off by default').to.deep.equal([]);
    for (const call of calls) {
      const recorded = spans.filter((s) => (s.kind === SPAN_KIND.CLIENT || s.attributes['resilience.attempt'] !== undefined) && call.matches(s));
      for (const span of recorded) expect(span.traceId, `${call.what}: "${span.name}" is in the request's trace`).to.equal(server.traceId);
      // In both orders breakwater is outermost: its attempt spans are the CLIENT spans, one
      // per attempt, and no other instrumentation records one (its own is suppressed).
      const describe = recorded.map((s) => `"${s.name}" kind ${s.kind} attempt ${String(s.attributes['resilience.attempt'])}`).join(', ');
      expect(recorded, `${call.what}: one CLIENT span per attempt, breakwater's (got ${describe})`).to.have.length(call.attempts);
      for (const span of recorded) {
        expect(span.kind, `${call.what}: "${span.name}" is a CLIENT span`).to.equal(SPAN_KIND.CLIENT);
        expect(span.attributes['resilience.attempt'], `${call.what}: "${span.name}" is breakwater's attempt span`).to.be.a('number');
        expectParentIsCaller(span, server, spans, call.what);
      }
      const numbers = recorded.map((s) => s.attributes['resilience.attempt'] as number).sort((a, b) => a - b);
      expect(numbers, `${call.what}: attempts numbered from 1`).to.deep.equal(Array.from({ length: call.attempts }, (_, i) => i + 1));
    }
    // Each HTTP attempt sent exactly one traceparent, naming that attempt's span.
    for (const request of upstream.requests) expect(request.traceparents, `traceparent headers of ${request.path}`).to.have.length(1);
    const sentSpanIds = upstream.requests.map((r) => r.traceparents[0]!.split('-'));
    for (const [, traceId] of sentSpanIds) expect(traceId, 'traceparent trace id').to.equal(server.traceId);
    const httpAttemptIds = spans.filter((s) => s.kind === SPAN_KIND.CLIENT && port(s) === upstreamPort).map((s) => s.spanId);
    expect(sentSpanIds.map(([, , spanId]) => spanId).sort(), 'one traceparent per attempt, each naming its attempt span').to.deep.equal(httpAttemptIds.sort());
    // Only the application's own second registration of the loader (breakwater first, an
    // ESM app) can still make import-in-the-middle warn.
    if (!(run.breakwaterFirst && run.kind === 'esm')) expect(run.stderr).not.to.include(IITM_WARNING);
  }
});

/**
 * The conventions' HTTP duration metric counts each attempt once, whoever records it:
 * breakwater (scope `breakwater`) or the official instrumentation it wraps
 * (`@opentelemetry/instrumentation-http`, `-undici`), never both for one attempt.
 */
function assertMetrics(points: MetricPoint[], upstream: Upstream): void {
  const httpDurations = points.filter((p) => p.metric === 'http.client.request.duration' && p.attributes['server.port'] === upstream.server.port);
  const byScope = httpDurations.map((p) => `${p.scope} ${String(p.attributes['http.response.status_code'])}: ${p.value}`).join(', ');
  const total = httpDurations.reduce((sum, p) => sum + p.value, 0);
  expect(total, `http.client.request.duration points for the upstream's ${upstream.requests.length} attempts, all scopes together (${byScope})`).to.equal(upstream.requests.length);
  const limited = points.filter((p) => p.metric === 'resilience.limited');
  expect(limited.map((p) => [p.attributes['resilience.limit.reason'], p.value]), 'resilience.limited: the /limited retry and the second call').to.deep.equal([['rate', 2]]);
  const hedges = points.filter((p) => p.metric === 'resilience.hedges');
  expect(hedges.map((p) => [p.attributes['resilience.hedge.result'], p.value]), 'resilience.hedges').to.deep.equal([['won', 1]]);
  const attempts = points.filter((p) => p.metric === 'resilience.attempts');
  expect(attempts, 'resilience.attempts points').to.not.have.length(0);
  const httpAttempts = attempts.filter((p) => p.attributes['resilience.client'] === 'http').reduce((sum, p) => sum + p.value, 0);
  expect(httpAttempts, 'resilience.attempts for the node:http call (503, then retried)').to.equal(2);
}

/** The upstream path of an HTTP span: read from url attributes when there, else from the attempt's traceparent. */
function requestPath(span: ReceivedSpan, upstream: Upstream): string | undefined {
  const url = span.attributes['url.full'] ?? span.attributes['http.url'] ?? span.attributes['url.path'] ?? span.attributes['http.target'];
  if (typeof url === 'string') return url.startsWith('/') ? url.split('?')[0] : new URL(url).pathname;
  return upstream.requests.find((r) => r.traceparents.some((tp) => tp.split('-')[2] === span.spanId))?.path;
}
