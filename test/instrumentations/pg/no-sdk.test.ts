// With no OpenTelemetry SDK registered there is no context manager, so suppressed
// tracing cannot mark a nested call: a Pool.query attempt's own client.query must still
// not be wrapped a second time (an execute inside each attempt would add its own
// retries, breaker counts and, for a hedge's losing attempt, a failure of its own).
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { expect } from 'chai';
import { postgres, type PgServer } from '../../integration/servers.js';
import { startPgAdapter, type PgAdapterHarness } from './harness.js';

describe('pg adapter with no OpenTelemetry SDK registered', function () {
  this.timeout(60_000);
  let server: PgServer;
  let h: PgAdapterHarness;

  before(async function () {
    this.timeout(15 * 60_000);
    server = await postgres();
  });

  beforeEach(() => {
    context.disable(); // whatever an earlier test registered
    h = startPgAdapter({}, { otel: false });
  });

  afterEach(async () => {
    await h.stop();
  });

  function countExecutes(): { readonly count: number } {
    const counter = { count: 0 };
    const execute = h.runtime.execute.bind(h.runtime);
    h.runtime.execute = ((...args: Parameters<typeof execute>) => {
      counter.count++;
      return execute(...args);
    }) as typeof execute;
    return counter;
  }

  it('has no context manager: a value set with context.with is not seen inside it', () => {
    const key = createContextKey('probe');
    expect(context.with(ROOT_CONTEXT.setValue(key, 1), () => context.active().getValue(key))).to.equal(undefined);
  });

  it('one execute per Pool.query, its own client.query passed through; one per Client.query', async () => {
    const pool = new h.pg.Pool({ connectionString: server.url, max: 2 });
    const client = new h.pg.Client({ connectionString: server.url });
    try {
      await pool.query('SELECT 1'); // the pool's first connect
      await client.connect();
      const executes = countExecutes();
      for (let i = 0; i < 5; i++) expect((await pool.query('SELECT $1::int AS n', [i])).rows[0].n).to.equal(i);
      expect(executes.count, 'executes for 5 Pool.query calls').to.equal(5);
      await client.query('SELECT 1');
      expect(executes.count, 'after one Client.query').to.equal(6);
    } finally {
      await client.end();
      await pool.end();
    }
  });
});
