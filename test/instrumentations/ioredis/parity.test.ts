// Nothing an official-instrumentation user had is lost: the same commands once with only
// @opentelemetry/instrumentation-ioredis, then once with only breakwater. breakwater's
// attempt span carries every attribute of the official CLIENT span with the same value
// (the name is upper-cased, as the Redis conventions' operation names are). Like the
// official instrumentation, breakwater records no db.client.operation.duration for Redis
// unless asked (BREAKWATER_REDIS_DURATION_METRIC): then one point per attempt.
import { context, SpanKind, trace, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import { OtelHarness } from '../../helpers/otel.js';
import { configureTelemetry } from '../../../src/telemetry/settings.js';
import { client, enableIoredis, enableOfficialIoredis, IOREDIS_VERSIONS, testRuntime, uniqueKey, waitReady } from '../../helpers/ioredis-setup.js';

async function underCaller<T>(fn: () => Promise<T>): Promise<T> {
  const caller = trace.getTracer('test').startSpan('request');
  try {
    return await context.with(trace.setSpan(context.active(), caller), fn);
  } finally {
    caller.end();
  }
}

const commandSpans = (spans: ReadableSpan[]) => spans.filter((s) => s.kind === SpanKind.CLIENT && s.name.toLowerCase() !== 'connect');

for (const version of IOREDIS_VERSIONS) {
  describe(`ioredis parity with the official instrumentation (${version.name})`, function () {
    this.timeout(30_000);
    let server: RedisServer;
    let otel: OtelHarness;

    before(async function () {
      this.timeout(600_000);
      server = await redisServer();
    });

    beforeEach(() => {
      otel = new OtelHarness().install();
    });

    afterEach(async () => {
      await otel.uninstall();
    });

    /** SET then GET on a fresh client, under a caller span; the command spans and every db.client.operation.duration point. */
    async function run(key: string): Promise<{ spans: ReadableSpan[]; points: Array<{ attributes: Attributes; count: number }> }> {
      const redis = client(version.load().Redis, { host: server.host, port: server.port, password: server.password });
      try {
        await waitReady(redis);
        otel.reset();
        await underCaller(async () => {
          await redis.set(key, 'parity-value');
          expect(await redis.get(key)).to.equal('parity-value');
        });
        const metrics = await otel.collect();
        const duration = metrics.get('db.client.operation.duration');
        const points = (duration?.dataPoints ?? []).map((p) => ({ attributes: p.attributes, count: duration!.dataPointType === DataPointType.HISTOGRAM ? (p.value as { count: number }).count : 0 }));
        return { spans: commandSpans(otel.spans()), points };
      } finally {
        redis.disconnect();
      }
    }

    it('SET and GET: every attribute of the official CLIENT span is on breakwater\'s, with the same value; no duration metric, as the official records none', async () => {
      const key = uniqueKey('parity');
      const official = enableOfficialIoredis(version, { requireParentSpan: false });
      let theirs: Awaited<ReturnType<typeof run>>;
      try {
        theirs = await run(key);
      } finally {
        official.disable();
      }
      const { adapter } = enableIoredis(testRuntime(), version);
      let ours: Awaited<ReturnType<typeof run>>;
      try {
        ours = await run(key);
      } finally {
        adapter.disable();
      }
      expect(theirs.spans.map((s) => s.instrumentationScope.name)).to.deep.equal(['@opentelemetry/instrumentation-ioredis', '@opentelemetry/instrumentation-ioredis']);
      expect(ours.spans.map((s) => [s.instrumentationScope.name, s.name])).to.deep.equal([
        ['breakwater', 'SET'],
        ['breakwater', 'GET'],
      ]);
      for (const [index, official] of theirs.spans.entries()) {
        const mine = ours.spans[index]!;
        expect(mine.name.toLowerCase()).to.equal(official.name.toLowerCase());
        for (const [name, value] of Object.entries(official.attributes)) {
          expect(mine.attributes[name], `${official.name}: ${name}`).to.deep.equal(value);
        }
        const extra = Object.keys(mine.attributes).filter((k) => !(k in official.attributes) && !k.startsWith('resilience.'));
        // Only the conventions' db.namespace (the database index), which the official omits.
        expect(extra, `${official.name}: attributes beyond the official ones and resilience.*`).to.deep.equal(['db.namespace']);
      }
      // The value never reaches db.query.text (the official serializer masks it, and so do we).
      expect(JSON.stringify(ours.spans.map((s) => s.attributes))).not.to.include('parity-value');
      expect(theirs.points, 'the official ioredis instrumentation records no duration metric').to.deep.equal([]);
      expect(ours.points, 'nor does breakwater by default').to.deep.equal([]);
    });

    it('BREAKWATER_REDIS_DURATION_METRIC=true: db.client.operation.duration, one point per attempt, with the conventions\' Redis attributes', async () => {
      const { adapter } = enableIoredis(testRuntime({ BREAKWATER_REDIS_DURATION_METRIC: 'true' }), version);
      let ours: Awaited<ReturnType<typeof run>>;
      try {
        ours = await run(uniqueKey('parity'));
      } finally {
        adapter.disable();
        configureTelemetry({ redisDurationMetric: false }); // process-wide: the next tests start from the default
      }
      const base = { 'db.system.name': 'redis', 'server.address': server.host, 'server.port': server.port };
      expect(ours.points.map((p) => [p.attributes['db.operation.name'], p.count]).sort()).to.deep.equal([
        ['get', 1],
        ['set', 1],
      ]);
      for (const p of ours.points) expect(p.attributes).to.deep.include(base);
    });
  });
}
