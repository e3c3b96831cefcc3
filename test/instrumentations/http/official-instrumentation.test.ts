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
import { enableAdapter, ok, outcomeOf, scriptedServer, status } from './support.js';
import type { ScriptedServer } from './support.js';

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
});
