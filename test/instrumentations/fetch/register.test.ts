// Unmodified scripts under `node --require breakwater/register` (CommonJS) and
// `node --import breakwater/register` (ESM: global fetch, `import { request } from
// 'undici'`, the default export) get their calls retried: each path answers 503 once,
// then 200, so a 200 in the child proves breakwater sent the second attempt.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { recordingServer, type RecordingServer } from './support.js';

// build/test/instrumentations/fetch -> the worktree
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const REGISTER = join(ROOT, 'dist/cjs/register/index.js');

const CJS_APP = `
const undici = require('undici');
(async () => {
  const base = process.env.TARGET_URL;
  const viaFetch = await fetch(base + '/cjs-fetch');
  const viaRequest = await undici.request(base + '/cjs-request');
  await viaRequest.body.dump();
  const viaUndiciFetch = await undici.fetch(base + '/cjs-undici-fetch');
  process.stdout.write(JSON.stringify([viaFetch.status, viaRequest.statusCode, viaUndiciFetch.status]));
})().catch((e) => process.stdout.write(JSON.stringify({ error: String(e) })));
`;

const ESM_APP = `
import { request } from 'undici';
import undici from 'undici';
const base = process.env.TARGET_URL;
const viaFetch = await fetch(base + '/esm-fetch');
const viaNamed = await request(base + '/esm-request');
await viaNamed.body.dump();
const viaDefault = await undici.request(base + '/esm-default');
await viaDefault.body.dump();
process.stdout.write(JSON.stringify([viaFetch.status, viaNamed.statusCode, viaDefault.statusCode]));
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runNode(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error !== null && (error as { killed?: boolean }).killed) reject(new Error(`child timed out: ${stderr}`));
      else resolvePromise({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
    });
  });
}

describe('fetch adapter under breakwater/register, in an unmodified app', function () {
  this.timeout(30_000);
  let server: RecordingServer;
  let dir: string;

  beforeEach(async () => {
    server = await recordingServer();
    const seen = new Set<string>();
    server.respond = (req, res) => {
      res.statusCode = seen.has(req.url) ? 200 : 503;
      seen.add(req.url);
      res.end(String(res.statusCode));
    };
    // Inside the worktree, so the scripts resolve 'undici' from its node_modules.
    dir = mkdtempSync(join(ROOT, 'build', 'fetch-register-'));
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await server.close();
  });

  const env = (): Record<string, string> => ({
    TARGET_URL: server.url,
    BREAKWATER_RETRY_BASE_DELAY_MS: '1',
    BREAKWATER_RETRY_MAX_DELAY_MS: '5',
    // No telemetry here: per-attempt traceparents are proven in-process (adapter.test.ts).
    OTEL_SDK_DISABLED: 'true',
  });

  it('--require: global fetch, undici.request and undici.fetch are retried', async () => {
    const app = join(dir, 'app.cjs');
    writeFileSync(app, CJS_APP);
    const run = await runNode(['--require', REGISTER, app], env());
    expect(run.stderr).to.equal('');
    expect(JSON.parse(run.stdout)).to.deep.equal([200, 200, 200]);
    expect(server.received).to.have.length(6);
  });

  it('--import with an ESM app: global fetch, the named import of request and the default export are retried', async () => {
    const app = join(dir, 'app.mjs');
    writeFileSync(app, ESM_APP);
    const run = await runNode(['--import', REGISTER, app], env());
    expect(run.stderr).to.equal('');
    expect(JSON.parse(run.stdout)).to.deep.equal([200, 200, 200]);
    expect(server.received).to.have.length(6);
  });

  it('without register the same app sees the 503s (the control)', async () => {
    const app = join(dir, 'app.mjs');
    writeFileSync(app, ESM_APP);
    const run = await runNode([app], env());
    expect(JSON.parse(run.stdout)).to.deep.equal([503, 503, 503]);
  });
});
