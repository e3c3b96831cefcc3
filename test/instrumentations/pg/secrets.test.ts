// No secret leaks from the pg adapter: a password in the connection string (and in a
// connection string's query), a password literal in SQL text (ALTER ROLE ... PASSWORD),
// secrets in parameter values, in calls that succeed, fail, retry and time out. None may
// appear in any exported span (name, attributes, events, status), metric (names and
// attribute values), anything written to stdout/stderr or the OpenTelemetry diag log, or
// the messages of errors breakwater creates.
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { postgres, type PgServer } from '../../integration/servers.js';
import { rejectionOf, startPgAdapter, type PgAdapterHarness } from './harness.js';

const secret = (label: string): string => `${label}-${randomBytes(9).toString('hex')}`;

describe('pg adapter: no secret leaks', function () {
  let server: PgServer;
  let h: PgAdapterHarness;
  const written: string[] = [];
  const restore: Array<() => void> = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  const SEQ = `bw_pg_secret_seq_${process.pid}`;
  const FAIL_FN = `bw_pg_secret_fail_${process.pid}`;
  const ROLE = `bw_pg_secret_role_${process.pid}`;

  before(async function () {
    this.timeout(15 * 60_000);
    server = await postgres();
  });

  beforeEach(() => {
    h = startPgAdapter({ BREAKWATER_TIMEOUT_MS: '400' });
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        written.push(String(chunk));
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => {
        stream.write = original as typeof stream.write;
      });
    }
    const log = (...args: unknown[]) => written.push(args.map(String).join(' '));
    diag.setLogger({ verbose: log, debug: log, info: log, warn: log, error: log }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
    restore.push(() => diag.disable());
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    for (const undo of restore.splice(0)) undo();
    written.length = 0;
    await h.stop();
  });

  it('plants secrets in every place a pg call can carry them and finds none in telemetry, output or messages', async function () {
    this.timeout(30_000);
    const urlPassword = secret('urlpw');
    const urlToken = secret('urltoken');
    const rolePassword = secret('rolepw');
    const literal = secret('literal');
    const value = secret('value');
    const planted = [urlPassword, urlToken, rolePassword, literal, value, server.password, server.admin.password];
    const breakwaterMessages: string[] = [];

    // 1. Success, with the server's own password in the connection string, and the
    //    admin's, running ALTER ROLE ... PASSWORD with a literal.
    const admin = new h.pg.Client({ connectionString: server.admin.url });
    await admin.connect();
    cleanups.push(() => admin.end());
    await admin.query(`DROP ROLE IF EXISTS ${ROLE}`);
    await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${rolePassword}'`);
    await admin.query(`ALTER ROLE ${ROLE} PASSWORD '${rolePassword}'`);
    const pool = new h.pg.Pool({ connectionString: server.url });
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    await pool.query(`DROP SEQUENCE IF EXISTS ${SEQ}; CREATE SEQUENCE ${SEQ};
      CREATE OR REPLACE FUNCTION ${FAIL_FN}(failures int, payload text) RETURNS text LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('${SEQ}') <= failures THEN RAISE EXCEPTION 'could not serialize %', payload USING ERRCODE = '40001'; END IF;
        RETURN payload;
      END $$;`);
    await pool.query('SELECT $1::text AS v', [value]);

    // 2. A retry (40001 whose message carries the secret), then success.
    await pool.query(`SELECT ${FAIL_FN}(1, '${literal}')`);
    await pool.query(`SELECT ${FAIL_FN}(2, $1)`, [value]);

    // 3. Failures whose pg messages quote the secrets (they go to the caller, never to telemetry).
    const invalidValue = await rejectionOf(pool.query('SELECT $1::int', [value]));
    expect(invalidValue.message).to.include(value); // pg's own message, the caller's to see
    await rejectionOf(pool.query(`SELECT '${literal}'::int`));
    await rejectionOf(admin.query(`ALTER ROLE no_such_role_${process.pid} PASSWORD '${rolePassword}'`));

    // 4. Refused, retried: a password and a token in a connection string to nowhere.
    const refused = new h.pg.Pool({ connectionString: `postgresql://leaky:${urlPassword}@127.0.0.1:1/${server.database}?application_name=${urlToken}` });
    refused.on('error', () => undefined);
    cleanups.push(() => refused.end());
    const refusal = await rejectionOf(refused.query('SELECT 1'));
    expect(refusal.code).to.equal('ECONNREFUSED');

    // 5. breakwater's own errors: an attempt timeout, then an open breaker.
    const timeout = await rejectionOf(pool.query(`SELECT pg_sleep(1), '${literal}'`));
    expect(timeout.code).to.equal('BREAKWATER_TIMEOUT');
    breakwaterMessages.push(timeout.message, String(timeout.stack));
    const target = `postgresql://127.0.0.1:1/${server.database}`;
    h.runtime.circuit(target).isolate();
    const open = await rejectionOf(refused.query(`SELECT '${literal}'`));
    expect(open.code).to.equal('BREAKWATER_CIRCUIT_OPEN');
    breakwaterMessages.push(open.message, String(open.stack));

    const spans = h.otel.spans();
    expect(spans.length).to.be.greaterThan(10);
    const spanText = JSON.stringify(
      spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })), status: s.status, links: s.links })),
    );
    expect(spanText).to.include('"resilience.error.category":"concurrency"'); // the 40001s were retried
    const metrics = await h.otel.collect();
    const metricText = JSON.stringify([...metrics.values()].map((m) => ({ name: m.descriptor.name, points: m.dataPoints.map((p) => p.attributes) })));
    expect(metricText).to.include('resilience.attempts');
    const outputText = written.join('\n');
    const messageText = breakwaterMessages.join('\n');
    for (const s of planted) {
      expect(spanText, 'spans').not.to.include(s);
      expect(metricText, 'metrics').not.to.include(s);
      expect(outputText, 'stdout/stderr/diag').not.to.include(s);
      expect(messageText, "breakwater's error messages").not.to.include(s);
    }
    // The SQL text is recorded (db.query.text, as the official pg instrumentation does),
    // but only with its literals replaced: the password of ALTER ROLE, the string passed
    // to the function, and the numbers.
    const texts = spans.map((s) => s.attributes['db.query.text']).filter((t) => t !== undefined);
    expect(texts).to.include(`ALTER ROLE ${ROLE} PASSWORD ?`);
    expect(texts).to.include(`CREATE ROLE ${ROLE} LOGIN PASSWORD ?`);
    expect(texts).to.include(`SELECT ${FAIL_FN}(?, ?)`);
    expect(texts).to.include(`SELECT ${FAIL_FN}(?, $1)`);
    expect(texts).to.include('SELECT pg_sleep(?), ?');
    expect(texts).to.include('SELECT ?::int');
    await admin.query(`DROP ROLE IF EXISTS ${ROLE}`);
  });
});
