// breakwater next to the official @opentelemetry/instrumentation-ioredis, patched before
// and after breakwater: either way breakwater ends up outermost (kit/outermost.ts
// re-layers over an official wrapper put on top of it), so there is one CLIENT span per
// attempt, breakwater's, directly under the caller's span.
import { context, SpanKind, trace } from '@opentelemetry/api';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type { Redis as RedisClient } from 'ioredis';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { relayerOvertaken } from '../../../instrumentations/kit/outermost.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import type { FaultProxy } from '../../helpers/fault-proxy.js';
import { OtelHarness } from '../../helpers/otel.js';
import { client, enableIoredis, enableOfficialIoredis, IOREDIS_VERSIONS, testRuntime, uniqueKey, waitReady, type IoredisModule } from '../../helpers/ioredis-setup.js';
import { clientWithFirstConnectionFault, measureHandshake, newProxy, type Handshake } from '../../helpers/ioredis-faults.js';


function clientSpans(spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.kind === SpanKind.CLIENT && s.name !== 'connect');
}

for (const version of IOREDIS_VERSIONS) {
  describe(`ioredis adapter with the official OpenTelemetry ioredis instrumentation (${version.name})`, function () {
    this.timeout(30_000);
    let server: RedisServer;
    let otel: OtelHarness;
    let proxy: FaultProxy;
    let handshake: Handshake;
    let direct: RedisClient;

    before(async function () {
      this.timeout(600_000);
      server = await redisServer();
      otel = new OtelHarness().install();
      proxy = await newProxy(server);
    });

    after(async () => {
      await proxy.close();
      await otel.uninstall();
    });

    async function underCaller<T>(fn: () => Promise<T>): Promise<{ result: T; callerTrace: string; callerSpanId: string }> {
      const caller = trace.getTracer('test').startSpan('request');
      try {
        const result = await context.with(trace.setSpan(context.active(), caller), fn);
        return { result, callerTrace: caller.spanContext().traceId, callerSpanId: caller.spanContext().spanId };
      } finally {
        caller.end();
      }
    }

    for (const order of ['official patched first, breakwater around it', 'breakwater patched first, official wrapping it'] as const) {
      describe(order, () => {
        let adapter: Adapter;
        let official: IORedisInstrumentation;
        let ioredis: IoredisModule;
        const officialFirst = order.startsWith('official');

        before(async () => {
          if (officialFirst) {
            official = enableOfficialIoredis(version);
            ({ adapter, ioredis } = enableIoredis(testRuntime(), version));
          } else {
            ({ adapter, ioredis } = enableIoredis(testRuntime(), version));
            official = enableOfficialIoredis(version);
            // What the microtask after the module load does (the official one is patched by hand here).
            relayerOvertaken();
          }
          direct = client(ioredis.Redis, { host: server.host, port: server.port, password: server.password });
          await waitReady(direct);
          handshake = await measureHandshake(ioredis.Redis, proxy, server);
        });

        after(() => {
          direct.disconnect();
          // Unpatch outermost first, so each restores what it wrapped.
          if (officialFirst) {
            adapter.disable();
            official.disable();
          } else {
            official.disable();
            adapter.disable();
          }
        });

        beforeEach(() => otel.reset());

        it('the official instrumentation is active: a command breakwater passes through (BLPOP) is recorded by it alone', async () => {
          await underCaller(() => direct.blpop(uniqueKey('official-blpop'), 0.01));
          const clients = clientSpans(otel.spans());
          expect(clients.map((s) => [s.name, s.instrumentationScope.name])).to.deep.equal([['blpop', '@opentelemetry/instrumentation-ioredis']]);
        });

        it('a successful GET: exactly one CLIENT span, in the caller\'s trace', async () => {
          const key = uniqueKey('official');
          await direct.set(key, 'x');
          otel.reset();
          const { result, callerTrace, callerSpanId } = await underCaller(() => direct.get(key));
          expect(result).to.equal('x');
          const spans = otel.spans();
          const clients = clientSpans(spans);
          expect(clients.map((s) => [s.instrumentationScope.name, s.name, s.attributes['resilience.attempt']])).to.deep.equal([['breakwater', 'GET', 1]]);
          expect(clients[0]!.spanContext().traceId).to.equal(callerTrace);
          expect(clients[0]!.parentSpanContext?.spanId, 'directly under the caller').to.equal(callerSpanId);
          expect(spans.filter((s) => s.name !== 'request' && s.kind !== SpanKind.CLIENT).map((s) => s.name), 'no other span (no call span by default)').to.deep.equal([]);
        });

        it('a GET retried after a cut: one CLIENT span per attempt (breakwater\'s), under the caller', async () => {
          const key = uniqueKey('official-retry');
          await direct.set(key, 'y');
          const redis = await clientWithFirstConnectionFault(ioredis.Redis, proxy, server, { kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
          try {
            otel.reset();
            const { result, callerSpanId } = await underCaller(() => redis.get(key));
            expect(result).to.equal('y');
            const clients = clientSpans(otel.spans());
            expect(clients.map((s) => [s.instrumentationScope.name, s.name, s.attributes['resilience.attempt']])).to.deep.equal([
              ['breakwater', 'GET', 1],
              ['breakwater', 'GET', 2],
            ]);
            for (const c of clients) expect(c.parentSpanContext?.spanId).to.equal(callerSpanId);
          } finally {
            redis.disconnect();
          }
        });

        it('a pipeline: one CLIENT span per attempt (breakwater\'s PIPELINE), none from the official one for its commands', async () => {
          const key = uniqueKey('official-pipe');
          otel.reset();
          const { result } = await underCaller(() => direct.pipeline().set(key, '1').get(key).exec());
          expect(result).to.deep.equal([
            [null, 'OK'],
            [null, '1'],
          ]);
          const clients = clientSpans(otel.spans());
          expect(clients.map((s) => s.name)).to.deep.equal(['PIPELINE']);
        });
      });
    }
  });
}
