// breakwater's http adapter together with the official @opentelemetry/instrumentation-http,
// patched before and after it. Either way: no attempt has two CLIENT spans, each
// attempt sends exactly one traceparent, and it names that attempt's span.
import { context, createContextKey, SpanKind } from '@opentelemetry/api';
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

  it('breakwater first, official around it: one CLIENT span (the official one) over breakwater\'s per-attempt spans; one traceparent per attempt', async () => {
    enableBreakwater();
    enableOfficial({ disableIncomingRequestInstrumentation: true });
    const http = requireHttp();
    expect((http.request as { __wrapped?: boolean }).__wrapped).to.equal(true);
    server.script(status(503), ok('two'));
    const out = await outcomeOf(http.get(`${server.url}/b`));
    expect([out.status, out.body]).to.deep.equal([200, 'two']);
    await new Promise((resolve) => setImmediate(resolve));

    const spans = otel.spans();
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(clients).to.have.length(1);
    expect(isOfficial(clients[0]!)).to.equal(true);
    const attempts = spans.filter((s) => s.instrumentationScope.name === 'breakwater' && s.attributes['resilience.attempt'] !== undefined && s.attributes['http.request.method'] === 'GET');
    expect(attempts.map((s) => s.kind)).to.deep.equal([SpanKind.INTERNAL, SpanKind.INTERNAL]);
    // The attempts sit under breakwater's parent, itself under the official CLIENT span.
    const parent = spans.find((s) => s.name.startsWith('default '))!;
    expect(parent.parentSpanContext?.spanId).to.equal(clients[0]!.spanContext().spanId);
    for (const a of attempts) expect(a.parentSpanContext?.spanId).to.equal(parent.spanContext().spanId);
    // The official instrumentation's traceparent was replaced by each attempt's own.
    expect(traceparentSpanIds()).to.deep.equal(attempts.map((s) => s.spanContext().spanId));
    expect(clients[0]!.attributes['http.response.status_code']).to.equal(200);
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
