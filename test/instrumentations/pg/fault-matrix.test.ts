// The fault matrix row for pg (issue 5): a fault-injecting TCP proxy between a pg Pool
// and a real PostgreSQL, one cell per fault. Every call inserts a row tagged with its own
// call id into a table without a unique constraint, so a duplicate write would show as two
// rows with the same id; every call must either succeed once or fail to the caller with
// the original error. Spans and metrics are read from the SDK's in-memory exporters.
import { context, SpanKind } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { expect } from 'chai';
import { idempotent } from '../../../src/runtime/idempotency.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { pointValue } from '../../helpers/otel.js';
import { postgres, type PgServer } from '../../integration/servers.js';
import { attemptSpans, internalCallSpans, logicalCalls, rejectionOf, startPgAdapter, suppressions, type PgAdapterHarness } from './harness.js';

const TABLE = `bw_pg_matrix_${process.pid}`;
const UNIQUE_TABLE = `bw_pg_matrix_unique_${process.pid}`;

describe('pg fault matrix: Pool.query through a fault proxy, side effects counted on the server', function () {
  let server: PgServer;
  let proxy: FaultProxy;
  /** Client bytes of a connection's start-up and authentication, and the server's answer to them. */
  let handshake: { toServer: number; toClient: number };
  let h: PgAdapterHarness | undefined;
  let callSeq = 0;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async function () {
    this.timeout(15 * 60_000);
    server = await postgres();
    proxy = await startFaultProxy({ host: server.host, port: server.port });
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (call text NOT NULL);
                       DROP TABLE IF EXISTS ${UNIQUE_TABLE}; CREATE TABLE ${UNIQUE_TABLE} (call text PRIMARY KEY);`);
    await admin.end();
    const before = proxy.stats();
    const probe = new pg.Client({ host: proxy.host, port: proxy.port, user: server.user, password: server.password, database: server.database });
    await probe.connect();
    const after = proxy.stats();
    handshake = { toServer: after.bytesToUpstream - before.bytesToUpstream, toClient: after.bytesToClient - before.bytesToClient };
    await probe.end();
  });

  after(async () => {
    await proxy?.close();
  });

  afterEach(async function () {
    this.timeout(30_000);
    await proxy.setFault({ kind: 'none' });
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await h?.stop();
    h = undefined;
  });

  function adapter(env: Record<string, string> = {}): PgAdapterHarness {
    h = startPgAdapter(env);
    return h;
  }

  function poolThroughProxy(extra: Record<string, unknown> = {}) {
    const pool = new h!.pg.Pool({ host: proxy.host, port: proxy.port, user: server.user, password: server.password, database: server.database, ...extra });
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    return pool;
  }

  function directPool() {
    const pool = new h!.pg.Pool({ connectionString: server.url });
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    return pool;
  }

  /**
   * Rows written for a call id, counted on a connection that bypasses the proxy, with
   * tracing suppressed so breakwater passes it through (it records no span of its own).
   */
  async function rowsFor(call: string, table = TABLE): Promise<number> {
    const pg = (await import('pg')).default;
    return context.with(suppressTracing(context.active()), async () => {
      const direct = new pg.Client({ connectionString: server.url });
      await direct.connect();
      try {
        return (await direct.query(`SELECT count(*)::int AS n FROM ${table} WHERE call = $1`, [call])).rows[0].n as number;
      } finally {
        await direct.end();
      }
    });
  }

  function nextCall(): string {
    return `call-${process.pid}-${++callSeq}`;
  }

  /** Runs `fn` once, at the first retry the engine schedules (a fault that clears while the call waits). */
  function onFirstRetry(fn: () => unknown): void {
    let fired = false;
    const target = `postgresql://${proxy.host}:${proxy.port}/${server.database}`;
    h!.runtime.policyFor(target).on('retry', () => {
      if (fired) return;
      fired = true;
      void fn();
    });
  }

  /** One call, as its attempt spans: numbered 1..attempts, CLIENT, children of the caller's context (none here), no call span. */
  function expectOneLogicalCall(attempts: number): void {
    const spans = h!.otel.spans();
    const tries = attemptSpans(spans);
    expect(logicalCalls(spans).map((call) => call.length), 'one logical call').to.deep.equal([attempts]);
    expect(internalCallSpans(spans), 'no INTERNAL call span by default').to.have.length(0);
    expect(tries, 'attempt spans').to.have.length(attempts);
    expect(tries.map((s) => s.attributes['resilience.attempt'])).to.deep.equal(Array.from({ length: attempts }, (_, i) => i + 1));
    for (const attempt of tries) {
      expect(attempt.kind).to.equal(SpanKind.CLIENT);
      expect(attempt.parentSpanContext, 'a root like the caller, who has no span').to.equal(undefined);
    }
    // Every attempt but the last was followed by a retry; the last says how the call ended.
    for (const attempt of tries.slice(0, -1)) expect(attempt.events.map((e) => e.name)).to.deep.equal(['resilience.retry.scheduled']);
    expect(tries.at(-1)!.events.map((e) => e.name)).to.deep.equal([]);
  }

  it('refused (for good): every checkout is an attempt, 0 rows, the caller gets ECONNREFUSED', async () => {
    adapter();
    await proxy.setFault({ kind: 'refuse' });
    const call = nextCall();
    const err = await rejectionOf(poolThroughProxy().query(`INSERT INTO ${TABLE} VALUES ($1)`, [call]));
    expect(err.code).to.equal('ECONNREFUSED');
    expect(await rowsFor(call)).to.equal(0);
    expectOneLogicalCall(3);
    const metrics = await h!.otel.collect();
    expect(pointValue(metrics.get('resilience.attempts'), { 'resilience.outcome': 'failure', 'resilience.error.category': 'network' })).to.equal(3);
    expect(pointValue(metrics.get('resilience.retries.suppressed'), { 'resilience.retry.suppressed': 'max_attempts' })).to.equal(1);
  });

  it('refused, then the dependency comes back: retried, written exactly once', async () => {
    adapter();
    await proxy.setFault({ kind: 'refuse' });
    onFirstRetry(() => proxy.setFault({ kind: 'none' }));
    const call = nextCall();
    await poolThroughProxy().query(`INSERT INTO ${TABLE} VALUES ($1)`, [call]);
    expect(await rowsFor(call)).to.equal(1);
    expectOneLogicalCall(2);
    const metrics = await h!.otel.collect();
    expect(pointValue(metrics.get('resilience.attempts'), { 'resilience.outcome': 'success' })).to.equal(1);
    expect(pointValue(metrics.get('resilience.attempts'), { 'resilience.outcome': 'failure' })).to.equal(1);
  });

  it('reset before the request (RST at connect): the INSERT was never written, retried, written once', async () => {
    adapter();
    await proxy.setFault({ kind: 'reset_on_connect' });
    onFirstRetry(() => proxy.setFault({ kind: 'none' }));
    const call = nextCall();
    await poolThroughProxy().query(`INSERT INTO ${TABLE} VALUES ($1)`, [call]);
    expect(await rowsFor(call)).to.equal(1);
    expectOneLogicalCall(2);
  });

  it('reset after the request was sent: ambiguous, not replayed (not_idempotent), 1 row, the caller gets ECONNRESET', async () => {
    adapter();
    await proxy.setFault({ kind: 'reset_after_request', afterBytes: handshake.toServer + 1 });
    const call = nextCall();
    const err = await rejectionOf(poolThroughProxy().query(`INSERT INTO ${TABLE} VALUES ($1)`, [call]));
    expect(err.code).to.equal('ECONNRESET');
    expect(await rowsFor(call)).to.equal(1); // it committed: a replay would have written it twice
    expectOneLogicalCall(1);
    expect(suppressions(h!.otel.spans())).to.deep.equal(['not_idempotent']);
    const metrics = await h!.otel.collect();
    expect(pointValue(metrics.get('resilience.retries.suppressed'), { 'resilience.retry.suppressed': 'not_idempotent' })).to.equal(1);
  });

  it('reset after the request, statement marked idempotent(): replayed after the cut, and still one row', async () => {
    adapter();
    await proxy.setFault({ kind: 'reset_after_request', afterBytes: handshake.toServer + 1 });
    onFirstRetry(() => proxy.setFault({ kind: 'none' }));
    const call = nextCall();
    const pool = poolThroughProxy();
    const res = await idempotent(() => pool.query(`INSERT INTO ${UNIQUE_TABLE} VALUES ($1) ON CONFLICT DO NOTHING`, [call]));
    expect(res.rowCount).to.equal(0); // the first, cut attempt had written it
    expect(await rowsFor(call, UNIQUE_TABLE)).to.equal(1);
    expectOneLogicalCall(2);
  });

  it('reset after the request, a SELECT marked idempotent(): retried and succeeds', async () => {
    adapter();
    await proxy.setFault({ kind: 'reset_after_request', afterBytes: handshake.toServer + 1 });
    onFirstRetry(() => proxy.setFault({ kind: 'none' }));
    const pool = poolThroughProxy();
    const res = await idempotent(() => pool.query('SELECT 42 AS answer'));
    expect(res.rows).to.deep.equal([{ answer: 42 }]);
    expectOneLogicalCall(2);
  });

  it('cut mid-response: the INSERT committed, not replayed, 1 row, the caller gets the connection error', async () => {
    adapter();
    await proxy.setFault({ kind: 'cut_mid_response', afterBytes: handshake.toClient + 5 });
    const call = nextCall();
    const err = await rejectionOf(poolThroughProxy().query(`INSERT INTO ${TABLE} VALUES ($1)`, [call]));
    expect(err.code === 'ECONNRESET' || /Connection terminated/.test(err.message), err.message).to.equal(true);
    expect(await rowsFor(call)).to.equal(1);
    expectOneLogicalCall(1);
    expect(suppressions(h!.otel.spans())).to.deep.equal(['not_idempotent']);
  });

  it('delay past the timeout while connecting: each attempt times out before the INSERT is written, 0 rows', async function () {
    this.timeout(30_000);
    adapter({ BREAKWATER_TIMEOUT_MS: '300' });
    await proxy.setFault({ kind: 'delay', ms: 400 });
    const call = nextCall();
    const pool = poolThroughProxy();
    const err = await rejectionOf(pool.query(`INSERT INTO ${TABLE} VALUES ($1)`, [call]));
    expect(err.code).to.equal('BREAKWATER_TIMEOUT');
    expectOneLogicalCall(3);
    // The late connections arrive and go back to the pool unused.
    await waitFor(() => pool.totalCount === pool.idleCount && pool.waitingCount === 0, 15_000);
    expect(await rowsFor(call)).to.equal(0);
  });

  it('delay past the timeout after the query was sent: not replayed, the busy connection is discarded, never two rows', async function () {
    this.timeout(30_000);
    adapter({ BREAKWATER_TIMEOUT_MS: '300' });
    const call = nextCall();
    const pool = poolThroughProxy();
    await pool.query('SELECT 1'); // a warm connection
    h!.otel.reset();
    // Two statements in one simple-protocol query (no parameters there; the id is ours).
    const err = await rejectionOf(pool.query(`INSERT INTO ${TABLE} VALUES ('${call}'); SELECT pg_sleep(1)`));
    expect(err.code).to.equal('BREAKWATER_TIMEOUT');
    expectOneLogicalCall(1);
    expect(suppressions(h!.otel.spans())).to.deep.equal(['not_idempotent']);
    await waitFor(() => pool.totalCount === 0, 5_000); // released with an error: closed, not lent to the next caller
    await new Promise((r) => setTimeout(r, 1_500)); // the server finishes or abandons the statement
    expect(await rowsFor(call)).to.be.at.most(1);
  });

  it('blackhole: every checkout times out, 0 rows, the caller gets the timeout', async function () {
    this.timeout(30_000);
    adapter({ BREAKWATER_TIMEOUT_MS: '300' });
    await proxy.setFault({ kind: 'blackhole' });
    const call = nextCall();
    const err = await rejectionOf(poolThroughProxy().query(`INSERT INTO ${TABLE} VALUES ($1)`, [call]));
    expect(err.code).to.equal('BREAKWATER_TIMEOUT');
    expectOneLogicalCall(3);
    proxy.resetAll();
    expect(await rowsFor(call)).to.equal(0);
  });

  it('server restart: calls made while it is down are retried until it is back, written once', async function () {
    this.timeout(60_000);
    adapter({ BREAKWATER_RETRY_MAX_ATTEMPTS: '40', BREAKWATER_RETRY_BASE_DELAY_MS: '50', BREAKWATER_RETRY_MAX_DELAY_MS: '250' });
    const pool = directPool();
    await pool.query('SELECT 1');
    let restarted: Promise<void> | undefined;
    try {
      await server.stop();
      const target = `postgresql://${server.host}:${server.port}/${server.database}`;
      h!.runtime.policyFor(target).on('retry', () => {
        restarted ??= server.start();
      });
      h!.otel.reset();
      const call = nextCall();
      await pool.query(`INSERT INTO ${TABLE} VALUES ($1)`, [call]);
      expect(await rowsFor(call)).to.equal(1);
      const tries = attemptSpans(h!.otel.spans());
      expect(tries.length).to.be.greaterThan(1);
      expect(tries.at(-1)!.attributes['resilience.outcome']).to.equal('success');
    } finally {
      await (restarted ?? server.start());
    }
  });

  it('server restart mid-statement: 57P01 after the INSERT was sent is ambiguous, not replayed, nothing committed', async function () {
    this.timeout(60_000);
    adapter();
    const pool = directPool();
    await pool.query('SELECT 1');
    h!.otel.reset();
    const call = nextCall();
    const pending = rejectionOf(pool.query(`INSERT INTO ${TABLE} VALUES ('${call}'); SELECT pg_sleep(5)`));
    try {
      await new Promise((r) => setTimeout(r, 300));
      await server.restart();
      const err = await pending;
      expect(err.code === '57P01' || /terminat/i.test(err.message), err.message).to.equal(true);
    } finally {
      await server.start();
    }
    // (The server helper's own readiness probe is a pg call too: only the batch is ours.)
    const batch = attemptSpans(h!.otel.spans()).filter((s) => s.attributes['db.operation.name'] === 'BATCH');
    expect(batch).to.have.length(1);
    // A single attempt, so the call's last span: it says why the statement was not replayed.
    expect(batch[0]!.attributes['resilience.attempt']).to.equal(1);
    expect(batch[0]!.attributes['resilience.retry.suppressed']).to.equal('not_idempotent');
    expect(batch[0]!.attributes['resilience.outcome']).to.equal('failure');
    expect(await rowsFor(call)).to.equal(0); // the implicit transaction never committed
  });

  it('recovery after an outage: the breaker opens, rejects without dialling, probes and closes; rows = successes', async function () {
    this.timeout(30_000);
    adapter({ BREAKWATER_RETRY_MAX_ATTEMPTS: '1', BREAKWATER_BREAKER: 'consecutive', BREAKWATER_BREAKER_THRESHOLD: '3', BREAKWATER_BREAKER_OPEN_MS: '200' });
    const pool = poolThroughProxy();
    await proxy.setFault({ kind: 'reset_on_connect' });
    const calls: string[] = [];
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const call = nextCall();
      calls.push(call);
      try {
        await pool.query(`INSERT INTO ${TABLE} VALUES ($1)`, [call]);
        outcomes.push('ok');
      } catch (error) {
        outcomes.push((error as { code?: string }).code ?? (error as Error).message);
      }
    }
    expect(outcomes.slice(3)).to.deep.equal(['BREAKWATER_CIRCUIT_OPEN']);
    const dialled = proxy.stats().connections;
    await proxy.setFault({ kind: 'none' });
    await new Promise((r) => setTimeout(r, 250));
    const recovered = nextCall();
    calls.push(recovered);
    await pool.query(`INSERT INTO ${TABLE} VALUES ($1)`, [recovered]);
    expect(proxy.stats().connections).to.equal(dialled + 1); // the rejected call never dialled; the probe did
    for (const call of calls) expect(await rowsFor(call)).to.equal(call === recovered ? 1 : 0);
    const metrics = await h!.otel.collect();
    const transitions = metrics.get('resilience.circuit.transitions');
    expect(pointValue(transitions, { 'resilience.circuit.from': 'closed', 'resilience.circuit.to': 'open' })).to.equal(1);
    expect(pointValue(transitions, { 'resilience.circuit.from': 'half_open', 'resilience.circuit.to': 'closed' })).to.equal(1);
    expect(pointValue(metrics.get('resilience.circuit.rejections'), {})).to.equal(1);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
