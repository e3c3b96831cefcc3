// breakwater's http adapter together with the official @opentelemetry/instrumentation-http,
// patched before and after it. Either way breakwater ends up outermost: one CLIENT span per
// attempt (breakwater's), each attempt sends exactly one traceparent, naming that span.
import { context, createContextKey, SpanKind, trace } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { OtelHarness } from '../../helpers/otel.js';
import { redactPathAndQuery } from '../../../instrumentations/http/attributes.js';
import { enableAdapter, metricPoints, ok, outcomeOf, scriptedServer, status } from './support.js';
import type { Reply, ScriptedServer } from './support.js';

type Point = Awaited<ReturnType<typeof metricPoints>>[number];

function bucketsOf(point: Point): number[] {
  const dataPoint = point.metric.dataPoints.find((p) => p.attributes === point.attributes) ?? point.metric.dataPoints[0]!;
  return (dataPoint.value as { buckets: { boundaries: number[] } }).buckets.boundaries;
}

const require = createRequire(import.meta.url);
type Http = typeof import('node:http');

/** Requiring the builtin is what lets require-in-the-middle hand it to the official instrumentation. */
function requireHttp(): Http {
  return require('http') as Http;
}

function isOfficial(span: ReadableSpan): boolean {
  return span.instrumentationScope.name === '@opentelemetry/instrumentation-http';
}

describe('http adapter with the official OpenTelemetry http instrumentation', () => {
  let otel: OtelHarness;
  let server: ScriptedServer;
  let undo: Array<() => void>;
  let nodeRequest: Http['request'];

  before(() => {
    nodeRequest = requireHttp().request;
  });
  beforeEach(async () => {
    otel = new OtelHarness().install();
    server = await scriptedServer();
    undo = [];
  });
  afterEach(async () => {
    // Undo in the reverse order of patching, whichever it was.
    for (const step of undo.reverse()) step();
    expect(requireHttp().request).to.equal(nodeRequest);
    await server.close();
    await otel.uninstall();
  });

  function enableOfficial(config: ConstructorParameters<typeof HttpInstrumentation>[0] = {}): void {
    const official = new HttpInstrumentation(config);
    undo.push(() => official.disable());
  }

  function enableBreakwater(): void {
    const { adapter } = enableAdapter();
    undo.push(() => adapter.disable());
  }

  function traceparentSpanIds(): string[] {
    return server.received.map((r) => String(r.headers.traceparent).split('-')[2]!);
  }

  it('official first, breakwater around it: breakwater\'s attempts are the CLIENT spans; the official one records nothing', async () => {
    enableOfficial({ disableIncomingRequestInstrumentation: true });
    const http = requireHttp();
    expect((http.request as { __wrapped?: boolean }).__wrapped).to.equal(true);
    enableBreakwater();
    server.script(status(503), ok('two'));
    const out = await outcomeOf(http.get(`${server.url}/a`));
    expect([out.status, out.body]).to.deep.equal([200, 'two']);

    const clients = otel.spans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(clients.map((s) => [s.instrumentationScope.name, s.name])).to.deep.equal([
      ['breakwater', 'GET'],
      ['breakwater', 'GET'],
    ]);
    expect(otel.spans().filter(isOfficial)).to.have.length(0);
    expect(traceparentSpanIds()).to.deep.equal(clients.map((s) => s.spanContext().spanId));
  });

  it('breakwater first, official wrapping it: breakwater re-layers over it, its attempts are the CLIENT spans; the official one records nothing', async () => {
    enableBreakwater();
    enableOfficial({ disableIncomingRequestInstrumentation: true });
    const http = requireHttp(); // the official instrumentation wraps breakwater's request here
    await Promise.resolve(); // breakwater's check after that require
    const wrappedByOfficial = (http.request as { __original?: { __original?: unknown } }).__original;
    expect(wrappedByOfficial?.__original, 'breakwater, then the official wrapper, then breakwater\'s first wrapper').to.be.a('function');
    server.script(status(503), ok('two'));
    const out = await outcomeOf(http.get(`${server.url}/b`));
    expect([out.status, out.body]).to.deep.equal([200, 'two']);

    const spans = otel.spans();
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(clients.map((s) => [s.instrumentationScope.name, s.name, s.attributes['resilience.attempt']])).to.deep.equal([
      ['breakwater', 'GET', 1],
      ['breakwater', 'GET', 2],
    ]);
    expect(spans.filter(isOfficial)).to.have.length(0);
    expect(spans.filter((s) => s.kind === SpanKind.INTERNAL), 'no INTERNAL span (no call span by default)').to.have.length(0);
    for (const c of clients) expect(c.parentSpanContext, 'under the caller (no span active here)').to.equal(undefined);
    expect(traceparentSpanIds()).to.deep.equal(clients.map((s) => s.spanContext().spanId));
  });

  it('a wrapper put over breakwater with no require after it: its first call gets INTERNAL attempts under that CLIENT span, the next calls are re-layered', async () => {
    enableBreakwater();
    const http = requireHttp();
    const below = http.request;
    const tracer = trace.getTracer('other-instrumentation');
    // Like an instrumentation patching at call time: its CLIENT span is active inside.
    const other = function request(this: unknown, ...args: unknown[]) {
      return tracer.startActiveSpan('other', { kind: SpanKind.CLIENT }, (span) => {
        const req = (below as (...a: unknown[]) => import('node:http').ClientRequest).apply(this, args);
        req.on('close', () => span.end());
        return req;
      });
    };
    Object.defineProperty(other, '__original', { value: below });
    http.request = other as unknown as Http['request'];
    undo.push(() => (http.request = below));
    server.script(status(503), ok('one'), status(503), ok('two'));
    const call = (path: string) => {
      const req = http.request(`${server.url}${path}`);
      req.end();
      return outcomeOf(req);
    };
    expect((await call('/first')).status).to.equal(200);
    const firstSpans = otel.spans();
    expect(firstSpans.filter((s) => s.kind === SpanKind.CLIENT).map((s) => s.name), 'first call: the other CLIENT span').to.deep.equal(['other']);
    expect(firstSpans.filter((s) => s.attributes['resilience.attempt'] !== undefined).map((s) => s.kind)).to.deep.equal([SpanKind.INTERNAL, SpanKind.INTERNAL]);
    otel.reset();
    expect((await call('/second')).status).to.equal(200);
    const clients = otel.spans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(clients.map((s) => [s.instrumentationScope.name, s.attributes['resilience.attempt']]), 'second call: breakwater outermost').to.deep.equal([
      ['breakwater', 1],
      ['breakwater', 2],
    ]);
  });

  it('official first: the caller\'s response listeners still run in its context (a nested call in them is wrapped)', async () => {
    enableOfficial({ disableIncomingRequestInstrumentation: true });
    const http = requireHttp();
    enableBreakwater();
    server.script(ok('outer'), status(503), ok('inner'));
    const key = createContextKey('caller');
    const seen = await context.with(context.active().setValue(key, 'me'), () => {
      return new Promise<{ suppressed: boolean; value: unknown; inner: number }>((resolve, reject) => {
        http.get(`${server.url}/outer`, (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            const suppressed = isTracingSuppressed(context.active());
            const value = context.active().getValue(key);
            // A call made from the handler is protected like any other: its 503 is retried.
            outcomeOf(http.get(`${server.url}/inner`)).then((inner) => resolve({ suppressed, value, inner: inner.status }), reject);
          });
        }).on('error', reject);
      });
    });
    expect(seen).to.deep.equal({ suppressed: false, value: 'me', inner: 200 });
    expect(server.received.map((r) => r.url)).to.deep.equal(['/outer', '/inner', '/inner']);
  });

  it('with incoming requests instrumented too, the server side continues each attempt\'s trace', async () => {
    enableOfficial();
    const http = requireHttp();
    enableBreakwater();
    server.script(status(503), ok());
    await outcomeOf(http.get(`${server.url}/c`));
    const spans = otel.spans();
    const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT);
    const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
    expect(attempts).to.have.length(2);
    expect(servers.map((s) => s.parentSpanContext?.spanId)).to.deep.equal(attempts.map((s) => s.spanContext().spanId));
  });

  describe('parity: what the official instrumentation records, breakwater records too', () => {
    /** The CLIENT span and duration points of one GET made with only the official instrumentation, then only breakwater. */
    async function sameRequestTwice(path: string, reply: Reply): Promise<{ official: ReadableSpan; ours: ReadableSpan; officialPoints: Point[]; ourPoints: Point[] }> {
      const headers = { 'user-agent': 'parity-test/1.0', authorization: 'Bearer not-recorded' };
      server.script(reply);
      const official = new HttpInstrumentation({ disableIncomingRequestInstrumentation: true });
      await outcomeOf(requireHttp().get(`${server.url}${path}`, { headers }));
      official.disable();
      expect(requireHttp().request).to.equal(nodeRequest);
      enableBreakwater();
      await outcomeOf(requireHttp().get(`${server.url}${path}`, { headers }));
      const clients = otel.spans().filter((s) => s.kind === SpanKind.CLIENT);
      expect(clients.map((s) => s.instrumentationScope.name)).to.deep.equal(['@opentelemetry/instrumentation-http', 'breakwater']);
      const points = await metricPoints(otel, 'http.client.request.duration');
      return {
        official: clients[0]!,
        ours: clients[1]!,
        officialPoints: points.filter((p) => p.scope === '@opentelemetry/instrumentation-http'),
        ourPoints: points.filter((p) => p.scope === 'breakwater'),
      };
    }

    for (const [label, path, reply, code] of [
      ['a 200', '/parity/items?x=1&sig=abc', ok(), 200],
      ['a 404', '/parity/missing', status(404), 404],
    ] as const) {
      it(`${label}: every attribute of the official CLIENT span is on breakwater\'s attempt span, with the same value but for the redacted query`, async () => {
        const { official, ours } = await sameRequestTwice(path, reply);
        expect(official.name).to.equal(ours.name);
        const officialKeys = Object.keys(official.attributes).sort();
        expect(officialKeys).to.include.members(['http.request.method', 'server.address', 'server.port', 'url.full', 'user_agent.original', 'network.peer.address', 'network.peer.port', 'network.protocol.version', 'http.response.status_code']);
        expect(Object.keys(ours.attributes)).to.include.members(officialKeys);
        for (const key of officialKeys) {
          const expected = key === 'url.full' ? redactPathAndQuery(String(official.attributes[key])) : official.attributes[key];
          expect(ours.attributes[key], key).to.deep.equal(expected);
        }
        expect(ours.attributes['http.response.status_code']).to.equal(code);
        // The documented difference: every query value, not only the official's signature keys.
        if (path.includes('?')) {
          expect(official.attributes['url.full']).to.equal(`${server.url}/parity/items?x=1&sig=REDACTED`);
          expect(ours.attributes['url.full']).to.equal(`${server.url}/parity/items?x=REDACTED&sig=REDACTED`);
        }
        const extra = Object.keys(ours.attributes).filter((k) => !officialKeys.includes(k));
        expect(extra.every((k) => k.startsWith('resilience.') || ['url.scheme', 'error.type'].includes(k)), extra.join()).to.equal(true);
      });

      it(`${label}: the same http.client.request.duration point (name, unit, buckets, attribute set)`, async () => {
        const { officialPoints, ourPoints } = await sameRequestTwice(path, reply);
        expect(officialPoints).to.have.length(1);
        expect(ourPoints).to.have.length(1);
        const [theirs, mine] = [officialPoints[0]!, ourPoints[0]!];
        expect(mine.attributes).to.deep.equal(theirs.attributes);
        expect(mine.attributes['http.response.status_code']).to.equal(code);
        expect([mine.count, theirs.count]).to.deep.equal([1, 1]);
        expect(mine.metric.descriptor.unit).to.equal(theirs.metric.descriptor.unit);
        expect(mine.metric.descriptor.unit).to.equal('s');
        expect(bucketsOf(mine)).to.deep.equal(bucketsOf(theirs));
        expect(bucketsOf(mine)).to.deep.equal([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
      });
    }
  });

  describe('http.client.request.duration: one point per attempt, whoever records it', () => {
    it('breakwater alone: a retried request gives two points, one per attempt, with each attempt\'s status', async () => {
      enableBreakwater();
      server.script(status(503), ok());
      await outcomeOf(requireHttp().get(`${server.url}/retried`));
      const points = await metricPoints(otel, 'http.client.request.duration');
      expect(points.map((p) => [p.scope, p.attributes['http.response.status_code'], p.attributes['error.type'], p.count])).to.have.deep.members([
        ['breakwater', 503, '503', 1],
        ['breakwater', 200, undefined, 1],
      ]);
    });

    it('official inside breakwater (patched first): exactly one point per attempt in all, the official\'s; breakwater records none', async () => {
      enableOfficial({ disableIncomingRequestInstrumentation: true });
      const http = requireHttp();
      enableBreakwater();
      server.script(status(503), ok());
      await outcomeOf(http.get(`${server.url}/both`));
      const points = await metricPoints(otel, 'http.client.request.duration');
      expect(points.reduce((n, p) => n + p.count, 0)).to.equal(2);
      expect(points.map((p) => [p.scope, p.attributes['http.response.status_code']])).to.have.deep.members([
        ['@opentelemetry/instrumentation-http', 503],
        ['@opentelemetry/instrumentation-http', 200],
      ]);
    });

    it('official around breakwater (patched after it): the official\'s one point for the call; none of breakwater\'s INTERNAL attempts records one', async () => {
      enableBreakwater();
      enableOfficial({ disableIncomingRequestInstrumentation: true });
      server.script(status(503), ok());
      await outcomeOf(requireHttp().get(`${server.url}/around`));
      await new Promise((resolve) => setImmediate(resolve));
      const points = await metricPoints(otel, 'http.client.request.duration');
      expect(points.map((p) => [p.scope, p.attributes['http.response.status_code'], p.count])).to.deep.equal([['@opentelemetry/instrumentation-http', 200, 1]]);
    });
  });
});
