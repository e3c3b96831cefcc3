// breakwater beside the official @opentelemetry/instrumentation-pg, enabled before and
// after it: either way breakwater ends up outside (kit/outermost.ts re-layers over an
// official wrapper put on top of it), so a trace holds exactly one CLIENT span per
// attempt, breakwater's, and the official one records nothing inside them; neither may
// silently remove the other.
import { SpanKind, trace, type Attributes } from '@opentelemetry/api';
import { DataPointType, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { PgInstrumentation as OfficialPgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { expect } from 'chai';
import { createRequire } from 'node:module';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { postgres, type PgServer } from '../../integration/servers.js';
import { attemptSpans, startPgAdapter, type PgAdapterHarness } from './harness.js';

const require = createRequire(import.meta.url);
const SEQ = `bw_pg_official_seq_${process.pid}`;
const FAIL_FN = `bw_pg_official_fail_${process.pid}`;

type Methods = Record<string, unknown>;

describe('pg adapter with the official @opentelemetry/instrumentation-pg', function () {
  let server: PgServer;
  let h: PgAdapterHarness | undefined;
  let official: OfficialPgInstrumentation | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  // The official instrumentation leaves its wrappers in place when breakwater sits on top
  // of them; the prototypes are put back as they were after these tests.
  const saved: Array<[Methods, string, unknown]> = [];

  before(async function () {
    this.timeout(15 * 60_000);
    server = await postgres();
    const pg = require('pg') as typeof import('pg');
    const poolProto = Object.getPrototypeOf(pg.Pool.prototype) as Methods;
    const clientProto = pg.Client.prototype as unknown as Methods;
    for (const [proto, name] of [[clientProto, 'query'], [clientProto, 'connect'], [poolProto, 'query'], [poolProto, 'connect'], [poolProto, 'end']] as const) {
      saved.push([proto, name, proto[name]]);
    }
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`DROP SEQUENCE IF EXISTS ${SEQ}; CREATE SEQUENCE ${SEQ};
      CREATE OR REPLACE FUNCTION ${FAIL_FN}(failures int) RETURNS int LANGUAGE plpgsql AS $$
      DECLARE n bigint := nextval('${SEQ}');
      BEGIN
        IF n <= failures THEN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END IF;
        RETURN n;
      END $$;`);
    await admin.end();
  });

  after(() => {
    for (const [proto, name, original] of saved) proto[name] = original;
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    official?.disable();
    official = undefined;
    await h?.stop();
    h = undefined;
  });

  function enableOfficial(): void {
    official = new OfficialPgInstrumentation({ enabled: false });
    official.enable();
    // pg is already loaded: requiring it again runs the official hooks on it.
    require('pg');
    require('pg-pool');
  }

  function clientSpans(): ReadableSpan[] {
    return h!.otel.spans().filter((s) => s.kind === SpanKind.CLIENT);
  }

  function officialSpans(): ReadableSpan[] {
    return h!.otel.spans().filter((s) => s.instrumentationScope.name.includes('instrumentation-pg'));
  }

  async function freshSequence(): Promise<void> {
    const client = new h!.pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query(`SELECT setval('${SEQ}', 1, false)`);
    await client.end();
  }

  async function connected() {
    const client = new h!.pg.Client({ connectionString: server.url });
    await client.connect();
    cleanups.push(() => client.end());
    return client;
  }

  for (const order of ['official first, breakwater outside', 'breakwater first, official wrapping it'] as const) {
    describe(order, () => {
      beforeEach(() => {
        if (order === 'official first, breakwater outside') {
          const pending = startPgAdapter({}, { otel: true });
          // startPgAdapter enabled breakwater; take it off, enable the official one, put breakwater back on top.
          pending.adapter.disable();
          enableOfficial();
          pending.adapter.enable();
          h = pending;
        } else {
          h = startPgAdapter();
          enableOfficial();
        }
      });

      it('Client.query with a retry (40001): one CLIENT span per attempt, breakwater\'s, under the caller', async () => {
        await freshSequence();
        const client = await connected();
        h!.otel.reset();
        // Inside the caller's own span (a request being served): every span shares its trace.
        let callerSpanId = '';
        const res = await trace.getTracer('test').startActiveSpan('caller', async (caller) => {
          callerSpanId = caller.spanContext().spanId;
          try {
            return await client.query(`SELECT ${FAIL_FN}(1) AS n`);
          } finally {
            caller.end();
          }
        });
        expect(res.rows).to.deep.equal([{ n: 2 }]);
        const attempts = attemptSpans(h!.otel.spans());
        expect(attempts, 'breakwater made two attempts').to.have.length(2);
        expect(clientSpans()).to.deep.equal(attempts);
        expect(attempts.map((s) => [s.instrumentationScope.name, s.attributes['resilience.attempt']])).to.deep.equal([
          ['breakwater', 1],
          ['breakwater', 2],
        ]);
        for (const a of attempts) expect(a.parentSpanContext?.spanId, 'directly under the caller').to.equal(callerSpanId);
        expect(officialSpans()).to.have.length(0);
      });

      it('Pool.query: one CLIENT span per attempt, the checkout and the inner query record nothing', async () => {
        const pool = new h!.pg.Pool({ connectionString: server.url });
        cleanups.push(() => pool.end());
        h!.otel.reset();
        const res = await pool.query('SELECT 1 AS one');
        expect(res.rows).to.deep.equal([{ one: 1 }]);
        const attempts = attemptSpans(h!.otel.spans());
        expect(attempts).to.have.length(1);
        expect(clientSpans()).to.deep.equal(attempts);
        expect(officialSpans()).to.have.length(0);
      });
    });
  }

  describe('parity: the same query with only the official instrumentation, then with only breakwater', () => {
    /** Every db.client.operation.duration metric exported, by instrumentation scope. */
    async function durationMetrics(): Promise<Array<{ scope: string; metric: MetricData }>> {
      await h!.otel.collect();
      const found: Array<{ scope: string; metric: MetricData }> = [];
      for (const resource of h!.otel.metricExporter.getMetrics()) {
        for (const scope of resource.scopeMetrics) {
          for (const metric of scope.metrics) if (metric.descriptor.name === 'db.client.operation.duration') found.push({ scope: scope.scope.name, metric });
        }
      }
      return found;
    }

    const pointsOf = (metric: MetricData) => metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value as Histogram }));
    const totalCount = (found: Array<{ metric: MetricData }>) => found.flatMap(({ metric }) => pointsOf(metric)).reduce((n, p) => n + p.value.count, 0);

    async function underCaller<T>(fn: () => Promise<T>): Promise<T> {
      return trace.getTracer('test').startActiveSpan('caller', async (caller) => {
        try {
          return await fn();
        } finally {
          caller.end();
        }
      });
    }

    const QUERY = 'SELECT $1::int AS n';

    async function officialOnly(): Promise<{ span: ReadableSpan; metrics: Array<{ scope: string; metric: MetricData }> }> {
      h = startPgAdapter();
      h.adapter.disable();
      enableOfficial();
      const client = await connected();
      h.otel.reset();
      await underCaller(() => client.query(QUERY, [7]));
      const span = h.otel.spans().find((s) => s.kind === SpanKind.CLIENT && s.name.startsWith('pg.query'))!;
      expect(span, 'the official CLIENT span').not.to.equal(undefined);
      return { span, metrics: await durationMetrics() };
    }

    async function breakwaterOnly(env: Record<string, string> = {}): Promise<{ spans: ReadableSpan[]; metrics: Array<{ scope: string; metric: MetricData }>; client: import('pg').Client }> {
      h = startPgAdapter(env);
      const client = await connected();
      h.otel.reset();
      await underCaller(() => client.query(QUERY, [7]));
      return { spans: attemptSpans(h.otel.spans()), metrics: await durationMetrics(), client };
    }

    async function restart(): Promise<void> {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
      official?.disable();
      official = undefined;
      await h?.stop();
      h = undefined;
    }

    it('the attempt span carries every attribute of the official CLIENT span, with the same values', async () => {
      const theirs = await officialOnly();
      await restart();
      const ours = await breakwaterOnly();
      expect(ours.spans).to.have.length(1);
      const attempt = ours.spans[0]!;
      expect(attempt.kind).to.equal(SpanKind.CLIENT);
      const officialAttributes: Attributes = theirs.span.attributes;
      expect(Object.keys(officialAttributes)).to.include.members(['db.system.name', 'db.namespace', 'server.address', 'server.port', 'db.query.text']);
      for (const [key, value] of Object.entries(officialAttributes)) {
        expect(attempt.attributes[key], key).to.deep.equal(value);
      }
      // Only documented additions: db.operation.name and resilience.*.
      const extra = Object.keys(attempt.attributes).filter((k) => !(k in officialAttributes) && !k.startsWith('resilience.'));
      expect(extra).to.deep.equal(['db.operation.name']);
    });

    it('db.client.operation.duration: same name, unit, buckets and attribute set as the official one records', async () => {
      const theirs = await officialOnly();
      await restart();
      const ours = await breakwaterOnly();
      expect(theirs.metrics.map((m) => m.scope)).to.deep.equal(['@opentelemetry/instrumentation-pg']);
      expect(ours.metrics.map((m) => m.scope)).to.deep.equal(['breakwater']);
      const [official, breakwater] = [theirs.metrics[0]!.metric, ours.metrics[0]!.metric];
      expect(breakwater.dataPointType).to.equal(DataPointType.HISTOGRAM);
      expect(breakwater.descriptor.unit).to.equal(official.descriptor.unit);
      expect(breakwater.descriptor.unit).to.equal('s');
      expect(breakwater.descriptor.description).to.equal(official.descriptor.description);
      const [theirPoint] = pointsOf(official);
      const [ourPoint] = pointsOf(breakwater);
      expect(pointsOf(breakwater)).to.have.length(1);
      expect(ourPoint!.attributes).to.deep.equal(theirPoint!.attributes);
      expect(ourPoint!.value.buckets.boundaries).to.deep.equal(theirPoint!.value.buckets.boundaries);
      expect(ourPoint!.value.count).to.equal(1);
    });

    it('a retried query: one point per attempt; the failed one with error.type and db.response.status_code (the SQLSTATE)', async () => {
      h = startPgAdapter();
      await freshSequence(); // one SELECT through breakwater already: counted below as a delta
      const client = await connected();
      const before = totalCount(await durationMetrics());
      await underCaller(() => client.query(`SELECT ${FAIL_FN}(1) AS n`));
      const found = await durationMetrics();
      expect(found.map((m) => m.scope)).to.deep.equal(['breakwater']);
      const points = pointsOf(found[0]!.metric);
      expect(totalCount(found) - before).to.equal(2);
      const failed = points.find((p) => p.attributes['error.type'] !== undefined)!;
      expect(failed.value.count).to.equal(1);
      expect(failed.attributes).to.deep.include({ 'error.type': '40001', 'db.response.status_code': '40001', 'db.operation.name': 'SELECT' });
      const succeeded = points.find((p) => p.attributes['error.type'] === undefined)!;
      expect(succeeded.value.count - before).to.equal(1);
      expect(Object.keys(succeeded.attributes).sort()).to.deep.equal(['db.namespace', 'db.operation.name', 'db.system.name', 'server.address', 'server.port']);
    });

    for (const order of ['official inside breakwater', 'official enabled after breakwater'] as const) {
      it(`both active (${order}): a retried Client query and a Pool query give one point per attempt in total`, async () => {
        if (order === 'official inside breakwater') {
          h = startPgAdapter();
          h.adapter.disable();
          enableOfficial();
          h.adapter.enable();
        } else {
          h = startPgAdapter();
          enableOfficial();
        }
        await freshSequence();
        const client = await connected();
        const before = totalCount(await durationMetrics());
        await underCaller(() => client.query(`SELECT ${FAIL_FN}(1) AS n`));
        expect(attemptSpans(h.otel.spans()).filter((s) => s.attributes['db.query.text'] === `SELECT ${FAIL_FN}(?) AS n`)).to.have.length(2);
        const afterClient = await durationMetrics();
        // Either way the official's wrapper ends up inside breakwater (re-layered when it was
        // put on top: kit/outermost.ts) and runs once per attempt; breakwater records none.
        expect(totalCount(afterClient) - before).to.equal(2);
        expect(afterClient.map((m) => m.scope)).to.deep.equal(['@opentelemetry/instrumentation-pg']);
        const pool = new h.pg.Pool({ connectionString: server.url });
        cleanups.push(() => pool.end());
        await underCaller(() => pool.query('SELECT 1 AS one'));
        // The pool's attempt runs the Client's query, which the official wraps either way: one point for the one attempt.
        const afterPool = await durationMetrics();
        expect(totalCount(afterPool) - totalCount(afterClient)).to.equal(1);
        expect(afterPool.map((m) => m.scope)).to.deep.equal(['@opentelemetry/instrumentation-pg']);
      });
    }
  });
});
