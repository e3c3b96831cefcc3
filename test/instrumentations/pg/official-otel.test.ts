// breakwater beside the official @opentelemetry/instrumentation-pg, enabled before and
// after it: either way breakwater ends up outside (kit/outermost.ts re-layers over an
// official wrapper put on top of it), so a trace holds exactly one CLIENT span per
// attempt, breakwater's, and the official one records nothing inside them; neither may
// silently remove the other.
import { SpanKind, trace } from '@opentelemetry/api';
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
});
