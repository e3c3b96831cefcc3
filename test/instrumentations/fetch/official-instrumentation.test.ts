import { SpanKind } from '@opentelemetry/api';
import { expect } from 'chai';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { clientSpans, recordingServer, setUp, spanIdOf, statuses, tearDown, UNDICI_VERSIONS, type RecordingServer, type Setup } from './support.js';

/**
 * @opentelemetry/instrumentation-undici listens on undici's diagnostics channels, so it
 * sees every real request, ours included, whichever was enabled first. It does not check
 * for suppressed tracing itself; the SDK's tracer does (a non-recording span under a
 * suppressed context) and so does the W3C propagator (it injects nothing for it).
 */
/** breakwater's attempt spans (one per attempt, no call span by default), in attempt order. */
function attemptSpans(spans: ReadableSpan[]): ReadableSpan[] {
  return spans
    .filter((s) => s.instrumentationScope.name === 'breakwater' && typeof s.attributes['resilience.attempt'] === 'number')
    .sort((a, b) => (a.attributes['resilience.attempt'] as number) - (b.attributes['resilience.attempt'] as number));
}

describe('fetch adapter with @opentelemetry/instrumentation-undici', () => {
  let server: RecordingServer;
  let s: Setup | undefined;
  let official: UndiciInstrumentation | undefined;

  beforeEach(async () => {
    server = await recordingServer();
  });
  afterEach(async () => {
    official?.disable();
    official = undefined;
    await tearDown(s);
    s = undefined;
    await server.close();
  });

  const calls: Array<[string, (url: string) => Promise<number>]> = [
    // Bodies are read to the end: the official span ends with the response.
    ['global fetch', async (url) => {
      const r = await fetch(url);
      await r.text();
      return r.status;
    }],
    // Every undici version: the official instrumentation hears each on its diagnostics channels.
    ...UNDICI_VERSIONS.flatMap(({ name, load }): Array<[string, (url: string) => Promise<number>]> => [
      [`${name} fetch`, async (url) => {
        const r = await load().fetch(url);
        await r.text();
        return r.status;
      }],
      [`${name} request`, async (url) => {
        const r = await load().request(url);
        await r.body.dump();
        return r.statusCode;
      }],
    ]),
  ];

  for (const order of ['official enabled before breakwater', 'official enabled after breakwater'] as const) {
    for (const [name, call] of calls) {
      it(`${order}, ${name}: one CLIENT span per attempt (ours), one traceparent per attempt equal to it`, async () => {
        s = setUp(); // installs the SDK providers the official instrumentation binds to at construction
        if (order === 'official enabled before breakwater') {
          s.adapter.disable();
          official = new UndiciInstrumentation(); // enabled at construction (with enabled: false it records nothing at all)
          s.adapter.enable();
        } else {
          official = new UndiciInstrumentation();
        }
        server.respond = statuses(503);
        expect(await call(`${server.url}/x`)).to.equal(200);
        const spans = s.otel.spans();
        const clients = clientSpans(spans);
        expect(clients.map((c) => c.instrumentationScope.name)).to.deep.equal(['breakwater', 'breakwater']);
        const attempts = attemptSpans(spans);
        expect(attempts.map((a) => a.attributes['resilience.attempt'])).to.deep.equal([1, 2]);
        expect(clients.map((c) => c.spanContext().spanId).sort()).to.deep.equal(attempts.map((a) => a.spanContext().spanId).sort());
        expect(spans.filter((sp) => sp.kind !== SpanKind.CLIENT).map((sp) => sp.name), 'no call span by default').to.deep.equal([]);
        expect(server.received.map((r) => r.headers.traceparent).every((t) => typeof t === 'string')).to.equal(true);
        expect(server.received.map((r) => spanIdOf(r.headers.traceparent))).to.deep.equal(attempts.map((a) => a.spanContext().spanId));
        // The official duration metric is not suppressed: one point per real request (per
        // attempt). Counted over every scope: breakwater must not add a second point for
        // the same attempt.
        const duration = (await s.otel.collect()).get('http.client.request.duration');
        const counts = (duration?.dataPoints ?? []).map((p) => (p.value as { count: number }).count);
        expect(counts.reduce((a, b) => a + b, 0)).to.equal(2);
      });
    }
  }

  it('without breakwater the same set-up records the official CLIENT span (so the assertions above are not vacuous)', async () => {
    s = setUp();
    official = new UndiciInstrumentation();
    s.adapter.disable(); // breakwater off: the official instrumentation alone records the call
    const r = await fetch(`${server.url}/alone`);
    expect(await r.text()).to.equal('ok');
    const clients = clientSpans(s.otel.spans());
    expect(clients.map((c) => c.instrumentationScope.name)).to.deep.equal(['@opentelemetry/instrumentation-undici']);
    expect(spanIdOf(server.received[0]!.headers.traceparent)).to.equal(clients[0]!.spanContext().spanId);
  });
});
