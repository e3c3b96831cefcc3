// A pg query breakwater gave up on (attempt timeout) is cancelled on the server: the
// Client is usable again at once, the pooled connection's backend stops, and the cancel
// connection is neither a call nor a retry. Real PostgreSQL (test/integration/servers.ts).
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { expect } from 'chai';
import { postgres, type PgServer } from '../../integration/servers.js';
import { attemptSpans, lastAttempts, rejectionOf, startPgAdapter, type PgAdapterHarness } from './harness.js';

const MARKER = `bw_cancel_${process.pid}`;
const TABLE = `bw_cancel_rows_${process.pid}`;
const SEQ = `bw_cancel_seq_${process.pid}`;

describe('pg adapter: a timed-out query is cancelled on the server', function () {
  let server: PgServer;
  let h: PgAdapterHarness;
  // Without breakwater: reads pg_stat_activity and the table.
  let admin: import('pg').Client;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async function () {
    this.timeout(15 * 60_000);
    server = await postgres();
    const pg = (await import('pg')).default;
    admin = new pg.Client({ host: server.host, port: server.port, user: server.admin.user, password: server.admin.password, database: server.database });
    await admin.connect();
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (tag text); GRANT ALL ON ${TABLE} TO ${server.user};
      DROP SEQUENCE IF EXISTS ${SEQ}; CREATE SEQUENCE ${SEQ}; GRANT ALL ON SEQUENCE ${SEQ} TO ${server.user};`);
  });

  after(async () => {
    await admin?.end();
  });

  beforeEach(() => {
    h = startPgAdapter({ BREAKWATER_TIMEOUT_MS: '100' });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await h.stop();
  });

  /** breakwater's attempt spans of the code under test (the admin's own queries are wrapped too, and left out). */
  function callerAttempts() {
    return attemptSpans(h.otel.spans()).filter((s) => !/pg_stat_activity|count\(|setval/.test(String(s.attributes['db.query.text'])));
  }

  /** Statements of this file still running on the server (the marker is in their text). */
  async function runningSleeps(): Promise<number> {
    const res = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep%' AND query LIKE '%${MARKER}%'`,
    );
    return res.rows[0].n as number;
  }

  /** Polls until no marked statement runs, for at most `withinMs` (the cancel is asynchronous). */
  async function sleepsAfter(withinMs: number): Promise<number> {
    const deadline = Date.now() + withinMs;
    let running = await runningSleeps();
    while (running > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      running = await runningSleeps();
    }
    return running;
  }

  async function connectedClient() {
    const client = new h.pg.Client({ connectionString: server.url });
    client.on('error', () => undefined);
    await client.connect();
    cleanups.push(() => client.end());
    return client;
  }

  it('Client: pg_sleep(10) times out, the next query on the same client succeeds within 500 ms, no pg_sleep left running', async function () {
    this.timeout(20_000);
    const client = await connectedClient();
    h.otel.reset();
    const error = await rejectionOf(client.query(`SELECT pg_sleep(10) AS ${MARKER}`));
    expect(error.code).to.equal('BREAKWATER_TIMEOUT');

    const started = process.hrtime.bigint();
    const next = await Promise.race([
      client.query('SELECT 1 AS one').then((res) => res.rows),
      new Promise((resolve) => setTimeout(() => resolve('still queued after 500 ms'), 500)),
    ]);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(next, `next query after ${elapsedMs.toFixed(0)} ms`).to.deep.equal([{ one: 1 }]);
    expect(await runningSleeps()).to.equal(0);

    // The cancel connection is not a call: two calls, one attempt each, nothing else.
    const spans = callerAttempts();
    expect(spans.map((s) => [s.attributes['db.operation.name'], s.attributes['resilience.attempt'], s.attributes['resilience.outcome'], s.attributes['error.type']])).to.deep.equal([
      ['SELECT', 1, 'failure', 'BREAKWATER_TIMEOUT'],
      ['SELECT', 1, 'success', undefined],
    ]);
    const adminQueries = attemptSpans(h.otel.spans()).length - spans.length;
    expect(h.otel.spans().filter((s) => s.instrumentationScope.name === 'breakwater')).to.have.length(2 + adminQueries);
  });

  it('Client: a query still queued behind another when it times out is taken out of the queue and never runs', async function () {
    this.timeout(20_000);
    const client = await connectedClient();
    await admin.query(`TRUNCATE ${TABLE}`);
    // The statement ahead is not breakwater's (sent as a pass-through, with no timeout of
    // ours), so only the queued INSERT times out: it must leave the queue, not run after.
    const ahead = context.with(suppressTracing(context.active()), () => client.query('SELECT pg_sleep(0.5)'));
    const queued = rejectionOf(client.query(`INSERT INTO ${TABLE} (tag) VALUES ('queued')`));
    expect((await queued).code).to.equal('BREAKWATER_TIMEOUT');
    await ahead;
    const res = await client.query('SELECT 2 AS two');
    expect(res.rows).to.deep.equal([{ two: 2 }]);
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${TABLE} WHERE tag = 'queued'`)).rows[0].n).to.equal(0);
  });

  it('Client: a timed-out INSERT is cancelled and not retried (a retry would insert: only the first run sleeps)', async function () {
    this.timeout(20_000);
    const client = await connectedClient();
    await admin.query(`SELECT setval('${SEQ}', 1, false); TRUNCATE ${TABLE}`);
    h.otel.reset();
    // nextval is not rolled back with the cancelled statement: a second run gets n = 2,
    // does not sleep and inserts its row.
    const error = await rejectionOf(
      client.query(
        `INSERT INTO ${TABLE} (tag) SELECT '${MARKER}' || s.n FROM (SELECT nextval('${SEQ}') AS n) s, LATERAL (SELECT pg_sleep(CASE WHEN s.n = 1 THEN 10 ELSE 0 END)) z`,
      ),
    );
    expect(error.code).to.equal('BREAKWATER_TIMEOUT');
    await client.query('SELECT 1'); // the client is usable again: the INSERT was cancelled
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${TABLE}`)).rows[0].n).to.equal(0);
    const inserts = callerAttempts().filter((s) => s.attributes['db.operation.name'] === 'INSERT');
    expect(inserts).to.have.length(1);
    expect(lastAttempts(inserts)[0]!.attributes).to.include({ 'resilience.attempt': 1, 'resilience.retry.suppressed': 'not_idempotent', 'resilience.outcome': 'failure', 'error.type': 'BREAKWATER_TIMEOUT' });
  });

  it('Pool: the checked-out client\'s statement is cancelled, the pool serves the next query', async function () {
    this.timeout(20_000);
    const pool = new h.pg.Pool({ connectionString: server.url, max: 1 });
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    // A connection in the pool first: a checkout that outlasted the 100 ms would be an
    // attempt of its own (retried: nothing was sent), not the case under test.
    await pool.query('SELECT 1');
    h.otel.reset();
    const error = await rejectionOf(pool.query(`SELECT pg_sleep(10) AS ${MARKER}`));
    expect(error.code).to.equal('BREAKWATER_TIMEOUT');
    expect(await sleepsAfter(500)).to.equal(0);
    const res = await pool.query('SELECT 3 AS three');
    expect(res.rows).to.deep.equal([{ three: 3 }]);
    expect(callerAttempts().map((s) => [s.attributes['resilience.attempt'], s.attributes['resilience.outcome'], s.attributes['error.type']])).to.deep.equal([
      [1, 'failure', 'BREAKWATER_TIMEOUT'],
      [1, 'success', undefined],
    ]);
  });
});

describe('pg adapter: cancelledByRequest', () => {
  it('is true only for 57014 with the server\'s words for a cancel request', async () => {
    const { cancelledByRequest } = await import('../../../instrumentations/pg/cancel.js');
    expect(cancelledByRequest(Object.assign(new Error('canceling statement due to user request'), { code: '57014' }))).to.equal(true);
    // a statement timeout has the same SQLSTATE: the request may still be pending
    expect(cancelledByRequest(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }))).to.equal(false);
    // a server in another language: not known, so not spent
    expect(cancelledByRequest(Object.assign(new Error('Abbruch der Anweisung wegen Benutzeranforderung'), { code: '57014' }))).to.equal(false);
    expect(cancelledByRequest(Object.assign(new Error('canceling statement due to user request'), { code: '57P01' }))).to.equal(false);
    for (const other of [undefined, null, 'text', 57014, { code: '57014' }, { code: '57014', message: 42 }]) expect(cancelledByRequest(other)).to.equal(false);
  });
});
