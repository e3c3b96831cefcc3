// breakwater next to the official @opentelemetry/instrumentation-ioredis, patched before
// and after breakwater: one CLIENT span per attempt (breakwater outermost) or per call
// (official outermost: breakwater's attempts are INTERNAL), spans in the caller's trace.
import { context, SpanKind, trace } from '@opentelemetry/api';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type { Redis as RedisClient } from 'ioredis';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import type { FaultProxy } from '../../helpers/fault-proxy.js';
import { OtelHarness } from '../../helpers/otel.js';
import { client, enableIoredis, IOREDIS_VERSIONS, testRuntime, uniqueKey, waitReady, type IoredisModule, type IoredisVersion } from '../../helpers/ioredis-setup.js';
import { clientWithFirstConnectionFault, measureHandshake, newProxy, type Handshake } from '../../helpers/ioredis-faults.js';


/**
 * Enables the official instrumentation on the ioredis this process already loaded
 * (require-in-the-middle would not call its hook again for a cached module).
 */
function enableOfficial(version: IoredisVersion): IORedisInstrumentation {
  const official = new IORedisInstrumentation();
  const ioredis = version.load();
  const definition = (official as unknown as { _modules: Array<{ moduleExports?: unknown; patch(m: unknown, v?: string): unknown }> })._modules[0]!;
  if (definition.moduleExports === undefined) {
    definition.moduleExports = ioredis;
    definition.patch(ioredis, version.version);
  }
  return official;
}

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

    for (const order of ['official patched first, breakwater outermost', 'breakwater patched first, official outermost'] as const) {
      describe(order, () => {
        let adapter: Adapter;
        let official: IORedisInstrumentation;
        let ioredis: IoredisModule;
        const breakwaterOutermost = order.startsWith('official');

        before(async () => {
          if (breakwaterOutermost) {
            official = enableOfficial(version);
            ({ adapter, ioredis } = enableIoredis(testRuntime(), version));
          } else {
            ({ adapter, ioredis } = enableIoredis(testRuntime(), version));
            official = enableOfficial(version);
          }
          direct = client(ioredis.Redis, { host: server.host, port: server.port, password: server.password });
          await waitReady(direct);
          handshake = await measureHandshake(ioredis.Redis, proxy, server);
        });

        after(() => {
          direct.disconnect();
          // Unpatch outermost first, so each restores what it wrapped.
          if (breakwaterOutermost) {
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
          expect(clients).to.have.length(1);
          expect(clients[0]!.instrumentationScope.name).to.equal(breakwaterOutermost ? 'breakwater' : '@opentelemetry/instrumentation-ioredis');
          expect(spans.filter((s) => s.name !== 'request').every((s) => s.spanContext().traceId === callerTrace)).to.equal(true);
          // breakwater's only span is the attempt, a child of the caller's span (the official span is never made active).
          const ours = spans.filter((s) => s.instrumentationScope.name === 'breakwater');
          expect(ours.map((s) => s.name)).to.deep.equal(['GET']);
          expect(ours[0]!.parentSpanContext?.spanId).to.equal(callerSpanId);
          expect(ours[0]!.kind).to.equal(breakwaterOutermost ? SpanKind.CLIENT : SpanKind.INTERNAL);
        });

        it(`a GET retried after a cut: ${breakwaterOutermost ? 'one CLIENT span per attempt (breakwater\'s)' : 'the official CLIENT span for the call, breakwater\'s two attempts INTERNAL'}`, async () => {
          const key = uniqueKey('official-retry');
          await direct.set(key, 'y');
          const redis = await clientWithFirstConnectionFault(ioredis.Redis, proxy, server, { kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
          try {
            otel.reset();
            const { result } = await underCaller(() => redis.get(key));
            expect(result).to.equal('y');
            const spans = otel.spans();
            const attempts = spans.filter((s) => s.instrumentationScope.name === 'breakwater' && s.name === 'GET');
            expect(attempts).to.have.length(2);
            const clients = clientSpans(spans);
            if (breakwaterOutermost) {
              expect(clients).to.have.length(2);
              expect(clients.every((s) => s.instrumentationScope.name === 'breakwater')).to.equal(true);
            } else {
              expect(clients).to.have.length(1);
              expect(clients[0]!.instrumentationScope.name).to.equal('@opentelemetry/instrumentation-ioredis');
              expect(attempts.every((s) => s.kind === SpanKind.INTERNAL)).to.equal(true);
            }
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
