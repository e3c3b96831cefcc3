// breakwater/register hooks pg in an application that was not changed at all: a
// CommonJS app under `--require` and an ES module app (`import pg from 'pg'`) under
// `--import`, each in its own process against the real PostgreSQL. Their statements
// fail once or twice with 40001; they succeed only if breakwater retried them. The
// processes must also exit by themselves (no stray timers).
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import { postgres, type PgServer } from '../../integration/servers.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const REGISTER = path.join(ROOT, 'dist/cjs/register/index.js');
const FIXTURES = path.join(ROOT, 'test/instrumentations/pg/fixtures');
const SEQ = `bw_pg_register_seq_${process.pid}`;
const FAIL_FN = `bw_pg_register_fail_${process.pid}`;

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('pg under breakwater/register in a child process (no code changes)', function () {
  let server: PgServer;
  let env: Record<string, string>;

  before(async function () {
    this.timeout(15 * 60_000);
    server = await postgres();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`DROP SEQUENCE IF EXISTS ${SEQ}; CREATE SEQUENCE ${SEQ};
      CREATE OR REPLACE FUNCTION ${FAIL_FN}(failures int) RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE n bigint := nextval('${SEQ}');
      BEGIN
        IF n <= failures THEN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END IF;
        RETURN n;
      END $$;`);
    await admin.end();
    env = {
      PG_URL: server.url,
      SEQ,
      FAIL_FN,
      OTEL_SDK_DISABLED: 'true',
      BREAKWATER_RETRY_BASE_DELAY_MS: '1',
      BREAKWATER_RETRY_MAX_DELAY_MS: '5',
    };
  });

  it('--require with a CommonJS app: Client.query and Pool.query are retried', async function () {
    this.timeout(40_000);
    const result = await run(['--require', REGISTER, path.join(FIXTURES, 'retry-app.cjs')], env);
    expect(result.stderr).to.equal('');
    expect(JSON.parse(result.stdout)).to.deep.equal({ viaClient: 2, viaPool: 3, wrapped: true });
    expect(result.code).to.equal(0);
  });

  it('--import with an ES module app (import pg from "pg"): Client.query and Pool.query are retried', async function () {
    this.timeout(40_000);
    const result = await run(['--import', pathToFileURL(REGISTER).href, path.join(FIXTURES, 'retry-app.mjs')], env);
    expect(result.stderr).to.equal('');
    expect(JSON.parse(result.stdout)).to.deep.equal({ viaClient: 2, viaPool: 3, wrapped: true });
    expect(result.code).to.equal(0);
  });

  it('without register the same app fails with 40001 (the retries above were breakwater\'s)', async function () {
    this.timeout(40_000);
    const result = await run([path.join(FIXTURES, 'retry-app.cjs')], env);
    expect(JSON.parse(result.stdout)).to.deep.include({ code: '40001' });
  });
});
