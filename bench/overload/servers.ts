// The dependencies the overload benchmark calls, each with a fixed capacity: an HTTP
// server with a worker pool, a PostgreSQL with few connection slots, and an HTTP server
// with a stated rate that answers 429 over it. The HTTP servers run in the harness's
// event loop; the variant process calls them.
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpServer } from '../../test/integration/http-server.js';
import { postgresWith } from '../../test/integration/servers.js';
import { HTTP_SHED_AFTER_MS, HTTP_WORKERS, HTTP_WORK_MS, PG_MAX_CONNECTIONS, PG_RESERVED_CONNECTIONS, RATE_LIMIT_PER_SECOND, type RateMode } from './cases.js';
import type { Arrival } from './summary.js';
import { TokenBucket } from './token-bucket.js';
import { WorkerPool, type WorkerPoolStats } from './worker-pool.js';

/** How often the harness looks whether a dependency has drained before the next variant. */
const DRAIN_POLL_MS = 50;
/** A dependency not drained by then is a bug in the benchmark, not a result. */
const DRAIN_TIMEOUT_MS = 30_000;

async function waitUntil(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`${what} did not drain within ${DRAIN_TIMEOUT_MS} ms`);
    await sleep(DRAIN_POLL_MS);
  }
}

export interface CapacityServer {
  url: string;
  /** What the server did since the last call. */
  takeStats(): WorkerPoolStats;
  /** Resolves once no request waits or is worked on. */
  drained(): Promise<void>;
  close(): Promise<void>;
}

/** The worker-pool HTTP server: HTTP_WORKERS workers, HTTP_WORK_MS each request, 503 past HTTP_SHED_AFTER_MS in the queue. */
export async function capacityHttpServer(): Promise<CapacityServer> {
  const pool = new WorkerPool({
    workers: HTTP_WORKERS,
    workMs: HTTP_WORK_MS,
    shedAfterMs: HTTP_SHED_AFTER_MS,
    now: () => performance.now(),
    setTimer: (fn, ms) => void setTimeout(fn, Math.max(0, ms)),
  });
  const server = await httpServer((req, res) => {
    req.resume();
    pool.submit({
      arrivedAt: performance.now(),
      done: () => res.end('ok'),
      shed: () => {
        res.statusCode = 503;
        res.end('overloaded');
      },
    });
  });
  return {
    url: server.url + '/',
    takeStats: () => pool.takeStats(),
    drained: () => waitUntil('the HTTP server', () => pool.idle),
    close: () => server.close(),
  };
}

export interface LimitedPg {
  url: string;
  /** Resolves once the benchmark's role has no session left: the last variant's pool has gone. */
  drained(): Promise<void>;
}

/**
 * A PostgreSQL of its own with max_connections PG_MAX_CONNECTIONS. The harness holds no
 * session while a variant runs: a superuser's session takes a slot, and the role's
 * sessions may only fill the slots beyond the reserved ones that are free.
 */
export async function limitedPgServer(): Promise<LimitedPg> {
  const server = await postgresWith({ max_connections: PG_MAX_CONNECTIONS, superuser_reserved_connections: PG_RESERVED_CONNECTIONS });
  const sessions = async (): Promise<number> => {
    const admin = new pg.Client({ connectionString: server.admin.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ count: string }>('SELECT count(*) AS count FROM pg_stat_activity WHERE usename = $1', [server.user]);
      return Number(rows[0]!.count);
    } finally {
      await admin.end();
    }
  };
  return { url: server.url, drained: () => waitUntil('PostgreSQL', async () => (await sessions()) === 0) };
}

export interface RateLimitedServer {
  url: string;
  /** Starts a run: a full bucket, no arrivals, and the headers `mode` says. */
  reset(mode: RateMode): void;
  /** The requests of this run so far. */
  arrivals(): readonly Arrival[];
  close(): Promise<void>;
}

/**
 * An HTTP server with a stated rate of RATE_LIMIT_PER_SECOND (a token bucket holding one
 * second's tokens): over it, 429 with Retry-After; in the `headers` mode every answer
 * also carries RateLimit-Limit, -Remaining and -Reset (seconds to a full bucket).
 */
export async function rateLimitedServer(): Promise<RateLimitedServer> {
  let bucket = new TokenBucket(RATE_LIMIT_PER_SECOND, RATE_LIMIT_PER_SECOND);
  let mode: RateMode = 'retry-after';
  let arrivals: Arrival[] = [];
  const server = await httpServer((req, res) => {
    req.resume();
    const at = performance.now();
    const answer = bucket.take(at);
    if (mode === 'headers') {
      res.setHeader('RateLimit-Limit', String(RATE_LIMIT_PER_SECOND));
      res.setHeader('RateLimit-Remaining', String(answer.remaining));
      res.setHeader('RateLimit-Reset', String(answer.resetSeconds));
    }
    if (!answer.ok) {
      res.statusCode = 429;
      res.setHeader('Retry-After', String(answer.retryAfterSeconds));
    }
    arrivals.push({ at, status: res.statusCode });
    res.end(answer.ok ? 'ok' : 'slow down');
  });
  return {
    url: server.url + '/',
    reset: (next) => {
      bucket = new TokenBucket(RATE_LIMIT_PER_SECOND, RATE_LIMIT_PER_SECOND);
      mode = next;
      arrivals = [];
    },
    arrivals: () => arrivals,
    close: () => server.close(),
  };
}
