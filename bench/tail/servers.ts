// The dependencies the tail benchmark calls, each drawing every request's latency on its
// own from the mix in cases.ts (so a backup request draws again), and each counting the
// measured requests it received: the extra load hedging puts on them.
import pg from 'pg';
import { httpServer, type HttpTestServer } from '../../test/integration/http-server.js';
import { postgres } from '../../test/integration/servers.js';
import { FAST_MS, SLOW_MS, SLOW_SHARE, type Phase } from './cases.js';

/** A dependency as the harness sees it: where to call, and how many measured requests it has had. */
export interface TailServer {
  url: string;
  /** Measured requests received so far (a request the client later abandoned counts). */
  measuredRequests(): Promise<number>;
  close(): Promise<void>;
}

/** The path a request of each phase goes to. */
export const HTTP_PATHS: Readonly<Record<Phase, string>> = { warmup: '/warmup', measured: '/measured' };

/** An HTTP server answering every GET after FAST_MS, or SLOW_MS for SLOW_SHARE of them. */
export async function tailHttpServer(): Promise<TailServer> {
  let measured = 0;
  const server: HttpTestServer = await httpServer((req, res) => {
    // Counted on arrival: a request the client aborts while it waits was still received.
    if (req.url === HTTP_PATHS.measured) measured++;
    req.resume();
    const timer = setTimeout(() => res.end('ok'), Math.random() < SLOW_SHARE ? SLOW_MS : FAST_MS);
    res.on('close', () => clearTimeout(timer));
  });
  return { url: server.url, measuredRequests: async () => measured, close: () => server.close() };
}

/**
 * The statement each phase runs. One read-only SELECT of a function that sleeps like
 * `pg_sleep(CASE WHEN random() < 0.02 THEN 0.2 ELSE 0.002 END)`; the measured one also
 * takes a number from a sequence as it starts. A sequence is never rolled back, so an
 * execution counts even when a hedge's cancel request then stops it, which neither
 * pg_stat_statements nor pg_stat_user_functions would count (both record a call when
 * it ends), and the count is exact at once, unlike pg_stat_database's, which backends
 * report only every second or so.
 */
export const PG_STATEMENTS: Readonly<Record<Phase, string>> = {
  warmup: 'SELECT tail_sleep(false)',
  measured: 'SELECT tail_sleep(true)',
};

const SETUP_SQL = `
CREATE SEQUENCE IF NOT EXISTS tail_requests;
CREATE OR REPLACE FUNCTION tail_sleep(measured boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF measured THEN PERFORM nextval('tail_requests'); END IF;
  PERFORM pg_sleep(CASE WHEN random() < ${SLOW_SHARE} THEN ${SLOW_MS / 1000} ELSE ${FAST_MS / 1000} END);
END $$;`;

/** The shared PostgreSQL of the integration tests, with tail_sleep() and its counter. */
export async function tailPgServer(): Promise<TailServer> {
  const server = await postgres();
  // A plain client: the harness loads no breakwater adapter, and its reads must not count.
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(SETUP_SQL);
  return {
    url: server.url,
    measuredRequests: async () => {
      const { rows } = await admin.query<{ count: string }>('SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS count FROM tail_requests');
      return Number(rows[0]!.count);
    },
    close: () => admin.end(),
  };
}
