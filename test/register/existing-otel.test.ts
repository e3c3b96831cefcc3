// breakwater/register beside an application's own OpenTelemetry set-up (a NodeSDK with the
// auto-instrumentations, started from the team's otel.mjs / otel.cjs), in both orders of
// the preload flags, as real child processes against real servers.
import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { compatDir } from '../compat/modules.js';
import { REPO_ROOT, startChild, type ChildResult } from '../helpers/child.js';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { httpServer, type HttpTestServer } from '../integration/http-server.js';
import { postgres, redis, type PgServer, type RedisServer } from '../integration/servers.js';

const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
const IITM_WARNING = "The 'import-in-the-middle' hook has already been initialized";

type SdkSet = 'otel-sdk2' | 'otel-sdk3';

/** SDK 3 (sdk-node 0.30x, auto-instrumentations 0.82) declares `engines: node >= 22.15`: its cases exist only where Node can run it. */
const SDK3_RUNS_HERE = (() => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 15);
})();
const SDK_SETS: readonly SdkSet[] = SDK3_RUNS_HERE ? ['otel-sdk2', 'otel-sdk3'] : ['otel-sdk2'];

/**
 * An application directory as npm would lay it out: the fixture files, and a node_modules
 * holding the SDK packages of the compatibility set (whose import-in-the-middle is the
 * project's, as npm dedupes it) and the project's pg, ioredis and redis.
 */
function appDir(set: SdkSet): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `breakwater-existing-otel-${set}-`));
  const fixtures = path.join(REPO_ROOT, 'test', 'fixtures', 'existing-otel');
  for (const file of fs.readdirSync(fixtures)) fs.copyFileSync(path.join(fixtures, file), path.join(dir, file));
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules);
  const setModules = path.join(compatDir(set), 'node_modules');
  if (!fs.existsSync(path.join(setModules, '@opentelemetry', 'sdk-node'))) {
    throw new Error(`test/compat/${set} is not installed: run \`npm ci --prefix test/compat/${set}\` (scripts/test.sh does)`);
  }
  fs.symlinkSync(path.join(setModules, '@opentelemetry'), path.join(modules, '@opentelemetry'));
  for (const client of ['pg', 'ioredis', 'redis']) fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', client), path.join(modules, client));
  return dir;
}

/**
 * The app's HTTP dependency: records each request's traceparent headers; the first GET
 * /flaky gets a 503; the first GET /slow stalls until the client gives up on it (the
 * app's configuration hedges it after 50 ms).
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
    // Hedging for the HTTP upstream only (budget 1: the app makes few calls).
    fs.writeFileSync(hedgeConfig, 'targets:\n  - match: "http://127.0.0.1:*"\n    policy:\n      hedge: { enabled: true, delayMs: 50, budgetRatio: 1 }\n');
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
            expect(JSON.parse(response.body)).to.deep.equal({ httpStatus: 200, fetchStatus: 200, slowStatus: 200, pg: 1, ioredis: null, nodeRedis: 0 });
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
      { what: 'fetch GET /slow (stalled, then hedged)', attempts: 2, matches: (s) => port(s) === upstreamPort && requestPath(s, upstream) === '/slow' },
      { what: 'pg SELECT', attempts: 1, matches: (s) => port(s) === pg.port && operation(s).includes('SELECT') },
      { what: 'ioredis GET', attempts: 1, matches: (s) => port(s) === redisServer.port && operation(s) === 'GET' },
      { what: 'node-redis EXISTS', attempts: 1, matches: (s) => port(s) === redisServer.port && /(^|-)EXISTS$/.test(operation(s)) },
    ];
    expect(upstream.requests.map((r) => r.path).sort(), 'what reached the upstream').to.deep.equal(['/fetch', '/flaky', '/flaky', '/slow', '/slow']);
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

/** One data point of a metric the app exported over OTLP/HTTP JSON, with the scope that recorded it. */
interface MetricPoint {
  scope: string;
  metric: string;
  attributes: Record<string, unknown>;
  /** A histogram's count, or a sum's value. */
  value: number;
}

function attributeValue(value: Record<string, unknown>): unknown {
  if ('intValue' in value) return Number(value.intValue);
  for (const key of ['stringValue', 'boolValue', 'doubleValue']) if (key in value) return value[key];
  return value;
}

/**
 * Every data point in the metric exports received. Points are cumulative (the SDK's
 * default), so a series exported twice (a periodic export, then the one at shutdown)
 * counts once, with its latest value: the largest.
 */
function metricPoints(rawBodies: readonly string[]): MetricPoint[] {
  const latest = new Map<string, MetricPoint>();
  for (const body of rawBodies) {
    const json = JSON.parse(body) as { resourceMetrics?: Array<Record<string, any>> };
    for (const rm of json.resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const points = (m.histogram?.dataPoints ?? m.sum?.dataPoints ?? m.gauge?.dataPoints ?? []) as Array<Record<string, any>>;
          for (const p of points) {
            const attributes: Record<string, unknown> = {};
            for (const a of (p.attributes ?? []) as Array<{ key: string; value: Record<string, unknown> }>) attributes[a.key] = attributeValue(a.value);
            const value = Number(m.histogram !== undefined ? p.count : (p.asInt ?? p.asDouble));
            const point: MetricPoint = { scope: String(sm.scope?.name), metric: String(m.name), attributes, value };
            const key = JSON.stringify([point.scope, point.metric, Object.entries(attributes).sort()]);
            if (!(value <= (latest.get(key)?.value ?? -1))) latest.set(key, point);
          }
        }
      }
    }
  }
  return [...latest.values()];
}

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
