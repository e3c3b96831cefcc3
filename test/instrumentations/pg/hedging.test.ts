// Hedging on a real PostgreSQL: a read-only SELECT through pg's Pool that the server
// stalls (one in 20) returns the backup's answer, the stalled statement is cancelled on
// the server, and the extra executions stay within the budget; writes, a SELECT that
// writes, a Client's query and a transaction's statements are never hedged.
import { expect } from 'chai';
import { postgres, type PgServer } from '../../integration/servers.js';
import { startPgAdapter, type PgAdapterHarness } from './harness.js';
import { pointValue } from '../../helpers/otel.js';

const ID = process.pid;
const COUNTER = `bw_hedge_calls_${ID}`;
const TABLE = `bw_hedge_rows_${ID}`;
const STALL_S = 3;

describe('pg adapter: hedging on a real PostgreSQL', function () {
  this.timeout(60_000);
  let server: PgServer;
  let h: PgAdapterHarness;
  let admin: import('pg').Client;

  before(async function () {
    this.timeout(15 * 60_000);
    server = await postgres();
    const pg = (await import('pg')).default;
    admin = new pg.Client({ host: server.host, port: server.port, user: server.admin.user, password: server.admin.password, database: server.database });
    await admin.connect();
    // Every execution takes a number from a sequence (not rolled back by a cancel): the
    // server's own count of executions. probe() stalls the 15th, 35th, ... of them;
    // slow() always takes 300 ms.
    await admin.query(`
      DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (n bigint); GRANT ALL ON ${TABLE} TO ${server.user};
      DROP SEQUENCE IF EXISTS ${COUNTER}; CREATE SEQUENCE ${COUNTER}; GRANT ALL ON SEQUENCE ${COUNTER} TO ${server.user};
      CREATE OR REPLACE FUNCTION bw_probe_${ID}() RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE n bigint := nextval('${COUNTER}');
        BEGIN IF n % 20 = 15 THEN PERFORM pg_sleep(${STALL_S}); END IF; RETURN n; END $$;
      CREATE OR REPLACE FUNCTION bw_slow_${ID}() RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE n bigint := nextval('${COUNTER}');
        BEGIN PERFORM pg_sleep(0.3); RETURN n; END $$;`);
  });

  after(async () => {
    await admin?.query(`DROP TABLE IF EXISTS ${TABLE}; DROP FUNCTION IF EXISTS bw_probe_${ID}(); DROP FUNCTION IF EXISTS bw_slow_${ID}(); DROP SEQUENCE IF EXISTS ${COUNTER};`).catch(() => undefined);
    await admin?.end();
  });

  beforeEach(async () => {
    await admin.query(`ALTER SEQUENCE ${COUNTER} RESTART WITH 1`);
    h = startPgAdapter({ BREAKWATER_HEDGE: 'true', BREAKWATER_HEDGE_DELAY_MS: '50', BREAKWATER_TIMEOUT_MS: '10000', BREAKWATER_BREAKER: 'off' });
  });

  afterEach(async () => {
    await h.stop();
  });

  const executions = async (): Promise<number> => Number((await admin.query(`SELECT last_value, is_called FROM ${COUNTER}`)).rows.map((r) => (r.is_called ? r.last_value : 0))[0]);

  async function stalledStillRunning(withinMs: number): Promise<number> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const res = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%bw_probe_${ID}%'`);
      const n = res.rows[0].n as number;
      if (n === 0 || Date.now() > deadline) return n;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a SELECT the server stalls returns the backup\'s answer; the stalled statement is cancelled; extra executions within 10%', async () => {
    const pool = new h.pg.Pool({ connectionString: server.url, max: 4 });
    let opened = 0;
    pool.on('connect', () => opened++);
    try {
      const calls = 100;
      let slowest = 0;
      for (let i = 0; i < calls; i++) {
        const started = Date.now();
        const res = await pool.query(`SELECT bw_probe_${ID}() AS n`);
        slowest = Math.max(slowest, Date.now() - started);
        expect(Number(res.rows[0].n) % 20).to.not.equal(15); // never the stalled execution's answer
      }
      const extra = (await executions()) - calls;
      expect(extra, 'backup executions').to.be.within(4, 0.1 * calls);
      expect(slowest).to.be.below((STALL_S * 1000) / 2);
      expect(await stalledStillRunning(2000), 'stalled statements still running').to.equal(0);
      // The losers' connections went back to the pool once their statements were cancelled:
      // a new connection per hedge would be at least one per stall.
      expect(opened, 'connections the pool opened').to.be.at.most(3);
      expect(pool.totalCount).to.be.at.most(3);
      const m = await h.otel.collect();
      expect(pointValue(m.get('resilience.hedges'), { 'resilience.hedge.result': 'won' })).to.equal(extra);
      const hedgeSpans = h.otel.spans().filter((s) => s.attributes['resilience.hedge'] === true);
      expect(hedgeSpans).to.have.length(extra);
      for (const span of hedgeSpans) expect(span.attributes).to.include({ 'db.system.name': 'postgresql', 'resilience.hedge.result': 'won' });
    } finally {
      await pool.end();
    }
  });

  it('never hedges an INSERT, a SELECT that writes, a Client\'s query or a transaction; a plain pooled SELECT beside them is', async () => {
    const pool = new h.pg.Pool({ connectionString: server.url, max: 8 });
    const client = new h.pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      // Fill the budget with quick first attempts, so a hedge would be allowed.
      for (let i = 0; i < 40; i++) await pool.query('SELECT 1');
      const before = await executions();
      const tx = await pool.connect();
      await Promise.all([
        pool.query(`INSERT INTO ${TABLE} SELECT bw_slow_${ID}()`),
        pool.query(`SELECT bw_slow_${ID}() AS n, nextval('${COUNTER}')`),
        client.query(`SELECT bw_slow_${ID}()`),
        (async () => {
          await tx.query('BEGIN');
          await tx.query(`SELECT bw_slow_${ID}()`);
          await tx.query('COMMIT');
        })(),
      ]);
      tx.release();
      // the INSERT, the writing SELECT (its own nextval too), the Client and the transaction's SELECT: one run each.
      expect((await executions()) - before).to.equal(5);
      expect(h.otel.spans().filter((s) => s.attributes['resilience.hedge'] === true)).to.have.length(0);
      // The control: a plain SELECT under the same budget is hedged.
      const control = await executions();
      await pool.query(`SELECT bw_slow_${ID}()`);
      expect((await executions()) - control).to.equal(2);
      expect(h.otel.spans().filter((s) => s.attributes['resilience.hedge'] === true)).to.have.length(1);
    } finally {
      await client.end();
      await pool.end();
    }
  });
});
