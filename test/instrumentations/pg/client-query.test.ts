// The pg adapter on real PostgreSQL: Client.query and Pool.query in every form pg
// accepts, replay decisions driven by real SQLSTATEs (40001 raised on purpose, 23505),
// transactions, Submittables, and what is (not) recorded.
import { context, createContextKey, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { expect } from 'chai';
import { getClassification } from '../../../src/errors.js';
import { pointValue } from '../../helpers/otel.js';
import { postgres, type PgServer } from '../../integration/servers.js';
import { attemptSpans, internalCallSpans, lastAttempts, logicalCalls, rejectionOf, startPgAdapter, suppressions, type PgAdapterHarness } from './harness.js';

const TABLE = `bw_pg_behaviour_${process.pid}`;
const SEQ = `bw_pg_behaviour_seq_${process.pid}`;
const FAIL_FN = `bw_fail_40001_${process.pid}`;

describe('pg adapter: Client and Pool queries on a real PostgreSQL', function () {
  let server: PgServer;
  let h: PgAdapterHarness;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async function () {
    this.timeout(15 * 60_000);
    server = await postgres();
    // Schema, created without breakwater.
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`
      DROP TABLE IF EXISTS ${TABLE};
      CREATE TABLE ${TABLE} (id serial PRIMARY KEY, tag text UNIQUE);
      DROP SEQUENCE IF EXISTS ${SEQ};
      CREATE SEQUENCE ${SEQ};
      -- Raises serialization_failure (40001) while nextval(seq) <= failures. nextval is not
      -- rolled back with the failed statement, so the n-th run of the same statement passes.
      CREATE OR REPLACE FUNCTION ${FAIL_FN}(failures int) RETURNS int LANGUAGE plpgsql AS $$
      DECLARE n bigint := nextval('${SEQ}');
      BEGIN
        IF n <= failures THEN
          RAISE EXCEPTION 'could not serialize access due to concurrent update' USING ERRCODE = '40001';
        END IF;
        RETURN n;
      END $$;`);
    await admin.end();
  });

  beforeEach(() => {
    h = startPgAdapter();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await h.stop();
  });

  async function connectedClient() {
    const client = new h.pg.Client({ connectionString: server.url });
    await client.connect();
    cleanups.push(() => client.end());
    return client;
  }

  function newPool(extra: Record<string, unknown> = {}) {
    const pool = new h.pg.Pool({ connectionString: server.url, ...extra });
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    return pool;
  }

  async function resetSequence(): Promise<void> {
    const client = await connectedClient();
    await client.query(`SELECT setval('${SEQ}', 1, false)`);
    await client.query(`TRUNCATE ${TABLE}`);
    h.otel.reset();
  }

  it('promise form: the result, one CLIENT attempt span named "<operation> <database>", child of the caller\'s span, no call span', async () => {
    const client = await connectedClient();
    h.otel.reset();
    const { res, callerSpanId } = await trace.getTracer('test').startActiveSpan('caller', async (caller) => {
      try {
        return { res: await client.query('SELECT 1 AS one'), callerSpanId: caller.spanContext().spanId };
      } finally {
        caller.end();
      }
    });
    expect(res.rows).to.deep.equal([{ one: 1 }]);
    const spans = h.otel.spans();
    const [attempt] = attemptSpans(spans);
    expect(internalCallSpans(spans)).to.have.length(0);
    expect(attemptSpans(spans)).to.have.length(1);
    expect(attempt!.name).to.equal(`SELECT ${server.database}`);
    expect(attempt!.kind).to.equal(SpanKind.CLIENT);
    expect(attempt!.parentSpanContext?.spanId).to.equal(callerSpanId);
    expect(attempt!.attributes).to.include({
      'db.system.name': 'postgresql',
      'db.namespace': server.database,
      'db.operation.name': 'SELECT',
      'db.query.text': 'SELECT ? AS one', // the literal sanitised
      'server.address': server.host,
      'server.port': server.port,
      'resilience.target': `postgresql://${server.host}:${server.port}/${server.database}`,
      'resilience.attempt': 1,
      'resilience.outcome': 'success',
    });
    expect(JSON.stringify(attempt!.attributes)).not.to.include('1 AS one');
  });

  it('callback form: returns undefined like pg, the callback gets the result in the caller\'s context', async () => {
    const client = await connectedClient();
    const key = createContextKey('caller');
    const callerContext = context.active().setValue(key, 'the caller');
    const seen = await new Promise<{ returned: unknown; rows: unknown; value: unknown }>((resolve, reject) => {
      context.with(callerContext, () => {
        const returned = client.query('SELECT $1::int AS n', [5], (err: Error | null, res: { rows: unknown }) => {
          if (err) reject(err);
          else resolve({ returned, rows: res.rows, value: context.active().getValue(key) });
        });
      });
    });
    expect(seen).to.deep.equal({ returned: undefined, rows: [{ n: 5 }], value: 'the caller' });
    expect(attemptSpans(h.otel.spans())).to.have.length(1);
  });

  it('callback in place of the values, and a callback inside a query config', async () => {
    const client = await connectedClient();
    const first = await new Promise((resolve, reject) => {
      const returned = client.query('SELECT 2 AS two', (err: Error | null, res: { rows: unknown }) => (err ? reject(err) : resolve([returned, res.rows])));
    });
    expect(first).to.deep.equal([undefined, [{ two: 2 }]]);
    const second = await new Promise((resolve, reject) => {
      const returned = client.query({ text: 'SELECT 3 AS three', callback: (err: Error | null, res: { rows: unknown }) => (err ? reject(err) : resolve([returned, res.rows])) } as never);
      void returned;
    });
    expect(second).to.deep.equal([undefined, [{ three: 3 }]]);
  });

  it('query config object: text, values and rowMode are honoured', async () => {
    const client = await connectedClient();
    const res = await client.query({ text: 'SELECT $1::text AS a, $2::int AS b', values: ['x', 7], rowMode: 'array' });
    expect(res.rows).to.deep.equal([['x', 7]]);
  });

  it('Pool.query, promise and callback: each call is a checkout, a query and a release', async () => {
    const pool = newPool();
    const res = await pool.query('SELECT 1 AS one');
    expect(res.rows).to.deep.equal([{ one: 1 }]);
    const viaCallback = await new Promise((resolve, reject) => {
      const returned = pool.query('SELECT $1::int AS n', [4], (err: Error, r: { rows: unknown }) => (err ? reject(err) : resolve([returned, r.rows])));
    });
    expect(viaCallback).to.deep.equal([undefined, [{ n: 4 }]]);
    expect(pool.idleCount).to.equal(pool.totalCount); // released
    const attempts = attemptSpans(h.otel.spans());
    expect(attempts.map((s) => s.name)).to.deep.equal([`SELECT ${server.database}`, `SELECT ${server.database}`]);
    expect(attempts.every((s) => s.kind === SpanKind.CLIENT)).to.equal(true);
    // The attempt's own client.query passed through the Client wrapper: no nested breakwater call.
    expect(logicalCalls(h.otel.spans()).map((call) => call.length)).to.deep.equal([1, 1]);
    expect(internalCallSpans(h.otel.spans())).to.have.length(0);
  });

  it('40001 on an autocommit statement is retried (the server rolled it back) and the row is written once', async () => {
    await resetSequence();
    const pool = newPool();
    const res = await pool.query(`INSERT INTO ${TABLE} (tag) SELECT 'serializable-' || ${FAIL_FN}(2) RETURNING tag`);
    expect(res.rows).to.deep.equal([{ tag: 'serializable-3' }]);
    const count = await pool.query(`SELECT count(*)::int AS n FROM ${TABLE}`);
    expect(count.rows[0].n).to.equal(1);
    const attempts = attemptSpans(h.otel.spans()).filter((s) => s.attributes['db.operation.name'] === 'INSERT');
    expect(attempts.map((s) => s.attributes['resilience.outcome'])).to.deep.equal(['failure', 'failure', 'success']);
    expect(attempts[0]!.attributes['resilience.error.category']).to.equal('concurrency');
    expect(attempts[0]!.attributes['db.response.status_code']).to.equal('40001');
    expect(attempts[0]!.attributes['error.type']).to.equal('40001');
    expect(attempts[0]!.events.map((e) => e.name)).to.deep.equal(['resilience.retry.scheduled']);
    expect(attempts[0]!.status.code).to.equal(SpanStatusCode.ERROR);
    expect(attempts[2]!.attributes['db.response.status_code']).to.equal(undefined);
  });

  it('40001 on a Client (autocommit) is retried on the same connection', async () => {
    await resetSequence();
    const client = await connectedClient();
    const res = await client.query(`SELECT ${FAIL_FN}(1) AS n`);
    expect(res.rows).to.deep.equal([{ n: 2 }]);
    expect(attemptSpans(h.otel.spans()).map((s) => s.attributes['resilience.outcome'])).to.deep.equal(['failure', 'success']);
  });

  it('40001 in a DO block (not atomic: it may commit part of its work) is not retried', async () => {
    await resetSequence();
    const client = await connectedClient();
    const err = await rejectionOf(client.query(`DO $$ BEGIN PERFORM ${FAIL_FN}(5); END $$`));
    expect(err.code).to.equal('40001');
    const [last] = lastAttempts(h.otel.spans());
    expect(last!.attributes['resilience.retry.suppressed']).to.equal('not_idempotent');
    expect(last!.attributes['resilience.outcome']).to.equal('failure');
    expect(attemptSpans(h.otel.spans())).to.have.length(1);
  });

  it('23505 unique violation is not retried; the caller gets pg\'s own error, classified', async () => {
    const pool = newPool();
    await pool.query(`INSERT INTO ${TABLE} (tag) VALUES ('dup') ON CONFLICT DO NOTHING`);
    h.otel.reset();
    const err = await rejectionOf(pool.query(`INSERT INTO ${TABLE} (tag) VALUES ('dup')`));
    expect(err).to.be.instanceOf(h.pg.DatabaseError);
    expect(err.code).to.equal('23505');
    expect(getClassification(err)?.category).to.equal('data_integrity');
    expect(attemptSpans(h.otel.spans())).to.have.length(1);
    expect(lastAttempts(h.otel.spans())[0]!.attributes['resilience.retry.suppressed']).to.equal('not_transient');
    expect(attemptSpans(h.otel.spans())[0]!.attributes['db.response.status_code']).to.equal('23505');
  });

  it('pool.connect() + client.query in a transaction: a failure inside is never retried (in_transaction), outside it is', async () => {
    await resetSequence();
    const pool = newPool();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${TABLE} (tag) VALUES ('in-tx')`);
      const err = await rejectionOf(client.query(`SELECT ${FAIL_FN}(1)`));
      expect(err.code).to.equal('40001');
      await client.query('ROLLBACK');
      // The same statement once the transaction is over: replayed.
      const res = await client.query(`SELECT ${FAIL_FN}(2) AS n`);
      expect(res.rows).to.deep.equal([{ n: 3 }]);
    } finally {
      client.release();
    }
    const spans = h.otel.spans();
    const inTx = lastAttempts(spans).filter((s) => s.attributes['resilience.retry.suppressed'] === 'in_transaction');
    expect(inTx).to.have.length(1);
    const metrics = await h.otel.collect();
    expect(pointValue(metrics.get('resilience.retries.suppressed'), { 'resilience.retry.suppressed': 'in_transaction' })).to.equal(1);
    const count = await pool.query(`SELECT count(*)::int AS n FROM ${TABLE}`);
    expect(count.rows[0].n).to.equal(0); // rolled back, never replayed outside its transaction
  });

  it('a BEGIN sent as a Submittable (passed through unchanged) still counts: the failure inside is not retried', async () => {
    await resetSequence();
    const client = await connectedClient();
    const begin = new h.pg.Query('BEGIN');
    const returned = client.query(begin);
    expect(returned).to.equal(begin); // pg returns the Submittable itself
    await new Promise((resolve, reject) => {
      begin.on('end', resolve);
      begin.on('error', reject);
    });
    expect(attemptSpans(h.otel.spans())).to.have.length(0);
    const err = await rejectionOf(client.query(`SELECT ${FAIL_FN}(1)`));
    expect(err.code).to.equal('40001');
    expect(suppressions(h.otel.spans())).to.deep.equal(['in_transaction']);
    await client.query('ROLLBACK');
  });

  it('connection refused under Pool.query: every failed checkout is an attempt with its own span, then the original error', async () => {
    const pool = newPool({ connectionString: `postgresql://u:p@127.0.0.1:1/${server.database}` });
    const err = await rejectionOf(pool.query('SELECT 1'));
    expect(err.code).to.equal('ECONNREFUSED');
    const attempts = attemptSpans(h.otel.spans());
    expect(attempts).to.have.length(3);
    expect(attempts.every((s) => s.attributes['resilience.error.category'] === 'network')).to.equal(true);
    expect(attempts.map((s) => s.attributes['resilience.attempt'])).to.deep.equal([1, 2, 3]);
    expect(lastAttempts(h.otel.spans()).map((s) => s.attributes['resilience.retry.suppressed'])).to.deep.equal(['max_attempts']);
  });

  it('a Client whose connection died is not retried on (pg Clients never reconnect): the caller gets the real error', async () => {
    const client = await connectedClient();
    client.on('error', () => undefined);
    const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const admin = new h.pg.Client({ connectionString: server.admin.url });
    await admin.connect();
    cleanups.push(() => admin.end());
    h.otel.reset();
    const pending = client.query('SELECT pg_sleep(5)');
    await new Promise((r) => setTimeout(r, 100));
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const err = await rejectionOf(pending);
    expect(err.message).to.match(/terminat/i);
    expect(attemptSpans(h.otel.spans()).filter((s) => s.attributes['db.operation.name'] === 'SELECT' && s.attributes['db.namespace'] === server.database)).to.have.length(1);
  });

  it('a Client query past the attempt timeout: the caller gets BREAKWATER_TIMEOUT, no replay, the Client works after it', async () => {
    await h.stop();
    h = startPgAdapter({ BREAKWATER_TIMEOUT_MS: '300' });
    const client = await connectedClient();
    h.otel.reset();
    const err = await rejectionOf(client.query('SELECT pg_sleep(0.45)'));
    expect(err.code).to.equal('BREAKWATER_TIMEOUT');
    expect(suppressions(h.otel.spans())).to.deep.equal(['not_idempotent']);
    // The statement kept the connection busy; the next query waits for it, then runs.
    const res = await client.query('SELECT 1 AS one');
    expect(res.rows).to.deep.equal([{ one: 1 }]);
  });

  it('pipeline mode: queries sent behind a pending BEGIN count as in the transaction', async () => {
    await resetSequence();
    const client = new h.pg.Client({ connectionString: server.url, pipeline: true } as never);
    await client.connect();
    cleanups.push(() => client.end());
    h.otel.reset();
    const begin = client.query('BEGIN');
    const failing = rejectionOf(client.query(`SELECT ${FAIL_FN}(1)`));
    await begin;
    expect((await failing).code).to.equal('40001');
    await client.query('ROLLBACK');
    // Calls made side by side: each call here is a single attempt, so each span is a call's last.
    const spans = attemptSpans(h.otel.spans());
    expect(spans.map((s) => s.attributes['resilience.attempt'])).to.deep.equal([1, 1, 1]);
    const suppressed = spans.map((s) => s.attributes['resilience.retry.suppressed']).filter((r) => r !== undefined);
    expect(suppressed).to.deep.equal(['in_transaction']);
  });

  it('what pg throws synchronously reaches the caller as pg throws it', async () => {
    const client = await connectedClient();
    h.otel.reset();
    expect(() => client.query(null as never)).to.throw(TypeError, 'Client was passed a null or undefined query');
    expect(() => client.query('SELECT 1', [], 'not a function' as never)).to.throw(TypeError, 'callback is not a function');
    expect(h.otel.spans()).to.have.length(0);
    expect((await client.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]); // the Client is unharmed
  });

  it('disable() puts pg\'s own methods back', async () => {
    const before = h.pg.Client.prototype.query;
    h.adapter.disable();
    expect(h.pg.Client.prototype.query).not.to.equal(before);
    const client = await connectedClient();
    h.otel.reset();
    await client.query('SELECT 1');
    expect(h.otel.spans()).to.have.length(0);
    h.adapter.enable();
    expect(h.pg.Client.prototype.query).not.to.equal(before); // a fresh wrapper
  });
});
