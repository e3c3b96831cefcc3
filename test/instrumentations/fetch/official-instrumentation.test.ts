import { SpanKind } from '@opentelemetry/api';
import { expect } from 'chai';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { metricPoints } from '../http/support.js';
import { attemptSpans, clientSpans, recordingServer, setUp, spanIdOf, statuses, tearDown, UNDICI_VERSIONS, type RecordingServer, type Setup } from './support.js';

type Point = Awaited<ReturnType<typeof metricPoints>>[number];

function bucketsOf(point: Point): number[] {
  const dataPoint = point.metric.dataPoints.find((p) => p.attributes === point.attributes) ?? point.metric.dataPoints[0]!;
  return (dataPoint.value as { buckets: { boundaries: number[] } }).buckets.boundaries;
}

/**
 * @opentelemetry/instrumentation-undici listens on undici's diagnostics channels, so it
 * sees every real request, ours included, whichever was enabled first. It does not check
 * for suppressed tracing itself; the SDK's tracer does (a non-recording span under a
 * suppressed context) and so does the W3C propagator (it injects nothing for it).
 */
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
        // Its duration metric is not suppressed: one point per real request (per attempt),
        // and breakwater, seeing it listen, records none of its own: one per attempt in all.
        const points = await metricPoints(s.otel, 'http.client.request.duration');
        expect(points.map((p) => [p.scope, p.attributes['http.response.status_code'], p.count])).to.have.deep.members([
          ['@opentelemetry/instrumentation-undici', 503, 1],
          ['@opentelemetry/instrumentation-undici', 200, 1],
        ]);
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

  describe('parity: what the official instrumentation records, breakwater records too', () => {
    const OFFICIAL = '@opentelemetry/instrumentation-undici';
    /** One call with only the official instrumentation (breakwater off), then the same with only breakwater. */
    async function sameCallTwice(call: (url: string) => Promise<number>, path: string): Promise<{ official: ReadableSpan; ours: ReadableSpan; officialPoints: Point[]; ourPoints: Point[] }> {
      s = setUp();
      s.adapter.disable();
      official = new UndiciInstrumentation();
      await call(`${server.url}${path}`);
      official.disable();
      official = undefined;
      s.adapter.enable();
      await call(`${server.url}${path}`);
      const clients = clientSpans(s.otel.spans());
      expect(clients.map((c) => c.instrumentationScope.name)).to.deep.equal([OFFICIAL, 'breakwater']);
      const points = await metricPoints(s.otel, 'http.client.request.duration');
      return {
        official: clients[0]!,
        ours: clients[1]!,
        officialPoints: points.filter((p) => p.scope === OFFICIAL),
        ourPoints: points.filter((p) => p.scope === 'breakwater'),
      };
    }

    const parityCalls: Array<[string, (url: string) => Promise<number>]> = [
      ['global fetch', async (url) => {
        const r = await fetch(url, { headers: { 'user-agent': 'parity/1', authorization: 'Bearer nope' } });
        await r.text();
        return r.status;
      }],
      ...UNDICI_VERSIONS.flatMap(({ name, load }): Array<[string, (url: string) => Promise<number>]> => [
        [`${name} fetch (its default User-Agent)`, async (url) => {
          const r = await load().fetch(url, { method: 'get' });
          await r.text();
          return r.status;
        }],
        [`${name} request`, async (url) => {
          const r = await load().request(url, { headers: { 'user-agent': 'parity/2', cookie: 'no=pe' } });
          await r.body.dump();
          return r.statusCode;
        }],
      ]),
    ];

    for (const [name, call] of parityCalls) {
      for (const [label, path, code] of [['200', '/parity/items?x=1&y=2', 200], ['404', '/missing', 404]] as const) {
        it(`${name}, a ${label}: every attribute of the official CLIENT span is on breakwater\'s attempt span, same values but the redacted query`, async () => {
          server.respond = (_req, res) => {
            res.statusCode = code;
            res.end('body');
          };
          const { official: theirs, ours } = await sameCallTwice(call, path);
          expect(ours.name).to.equal(theirs.name);
          const officialKeys = Object.keys(theirs.attributes);
          expect(officialKeys).to.include.members(['http.request.method', 'http.request.method_original', 'url.full', 'url.path', 'url.query', 'url.scheme', 'server.address', 'server.port', 'network.peer.address', 'network.peer.port', 'network.protocol.version', 'http.response.status_code']);
          expect(Object.keys(ours.attributes)).to.include.members(officialKeys);
          const redacted: Record<string, unknown> = {
            'url.full': String(theirs.attributes['url.full']).replace('x=1&y=2', 'x=REDACTED&y=REDACTED'),
            'url.query': String(theirs.attributes['url.query']).replace('x=1&y=2', 'x=REDACTED&y=REDACTED'),
          };
          for (const key of officialKeys) expect(ours.attributes[key], key).to.deep.equal(key in redacted ? redacted[key] : theirs.attributes[key]);
          expect(ours.attributes['http.response.status_code']).to.equal(code);
          if (code === 404) expect([theirs.attributes['error.type'], ours.attributes['error.type']]).to.deep.equal(['404', '404']);
          if (path.includes('?')) expect(ours.attributes['url.full']).to.equal(`${server.url}/parity/items?x=REDACTED&y=REDACTED`);
          const extra = Object.keys(ours.attributes).filter((k) => !officialKeys.includes(k));
          expect(extra.every((k) => k.startsWith('resilience.')), extra.join()).to.equal(true);
        });

        it(`${name}, a ${label}: the same http.client.request.duration point (name, unit, buckets, attribute set)`, async () => {
          server.respond = (_req, res) => {
            res.statusCode = code;
            res.end('body');
          };
          const { officialPoints, ourPoints } = await sameCallTwice(call, path);
          expect(officialPoints).to.have.length(1);
          expect(ourPoints).to.have.length(1);
          const [theirs, mine] = [officialPoints[0]!, ourPoints[0]!];
          expect(mine.attributes).to.deep.equal(theirs.attributes);
          expect(mine.attributes['http.response.status_code']).to.equal(code);
          expect([mine.count, theirs.count]).to.deep.equal([1, 1]);
          expect(mine.metric.descriptor.unit).to.equal(theirs.metric.descriptor.unit);
          expect(bucketsOf(mine)).to.deep.equal(bucketsOf(theirs));
        });
      }
    }

    it('breakwater alone: a retried request gives two points, one per attempt', async () => {
      s = setUp();
      server.respond = statuses(503);
      const r = await fetch(`${server.url}/retried`);
      await r.text();
      const points = await metricPoints(s.otel, 'http.client.request.duration');
      expect(points.map((p) => [p.scope, p.attributes['http.response.status_code'], p.attributes['error.type'], p.count])).to.have.deep.members([
        ['breakwater', 503, '503', 1],
        ['breakwater', 200, undefined, 1],
      ]);
    });
  });
});
