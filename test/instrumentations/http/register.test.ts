// An unmodified script, run under `node --require breakwater/register` (CommonJS) or
// `node --import breakwater/register` (ESM, named imports of node:http), gets its
// HTTP calls retried: the hook needs no change to the application.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ok, scriptedServer, status } from './support.js';
import type { ScriptedServer } from './support.js';

// build/test/instrumentations/http -> the worktree
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const REGISTER = join(ROOT, 'dist/cjs/register/index.js');

const CJS_APP = `
const http = require('node:http');
http.get(process.env.TARGET_URL, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (c) => (body += c));
  res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, body })));
}).on('error', (e) => process.stdout.write(JSON.stringify({ error: e.code })));
`;

const ESM_APP = `
import { request } from 'node:http';
const req = request(process.env.TARGET_URL, { method: 'PUT' }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (c) => (body += c));
  res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, body })));
});
req.on('error', (e) => process.stdout.write(JSON.stringify({ error: e.code })));
req.end('payload');
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runNode(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      process.execPath,
      args,
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error !== null && (error as { killed?: boolean }).killed) reject(new Error(`child timed out: ${stderr}`));
        else resolvePromise({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
      },
    );
  });
}

describe('http adapter under breakwater/register, in an unmodified app', function () {
  this.timeout(30_000);
  let dir: string;
  let server: ScriptedServer;
  const env = (url: string): Record<string, string> => ({
    TARGET_URL: url,
    OTEL_SDK_DISABLED: 'true',
    BREAKWATER_RETRY_BASE_DELAY_MS: '1',
    BREAKWATER_RETRY_MAX_DELAY_MS: '5',
  });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bw-http-register-'));
    writeFileSync(join(dir, 'app.cjs'), CJS_APP);
    writeFileSync(join(dir, 'app.mjs'), ESM_APP);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    server = await scriptedServer(status(503, 'busy'), ok('recovered'));
  });
  afterEach(async () => {
    await server.close();
  });

  it('without register the app sees the 503 (the control)', async () => {
    const run = await runNode([join(dir, 'app.cjs')], env(`${server.url}/plain`));
    expect(JSON.parse(run.stdout)).to.deep.equal({ status: 503, body: 'busy' });
    expect(server.received).to.have.length(1);
  });

  it('--require: the CommonJS app gets the retried 200 and exits by itself', async () => {
    const run = await runNode(['--require', REGISTER, join(dir, 'app.cjs')], env(`${server.url}/cjs`));
    expect(run.stderr).to.equal('');
    expect(JSON.parse(run.stdout)).to.deep.equal({ status: 200, body: 'recovered' });
    expect(run.code).to.equal(0);
    expect(server.received.map((r) => r.url)).to.deep.equal(['/cjs', '/cjs']);
  });

  it('--import: the ESM app\'s named import of request() is wrapped too (a PUT with its body, sent twice)', async () => {
    const run = await runNode(['--import', REGISTER, join(dir, 'app.mjs')], env(`${server.url}/esm`));
    expect(JSON.parse(run.stdout)).to.deep.equal({ status: 200, body: 'recovered' });
    expect(run.code).to.equal(0);
    expect(server.received.map((r) => [r.method, r.body])).to.deep.equal([
      ['PUT', 'payload'],
      ['PUT', 'payload'],
    ]);
  });

  it('with the SDK on: the app\'s attempts are exported, the exporter\'s own POST passes through untouched, and the process exits', async () => {
    const collector = await scriptedServer(ok('{}'));
    try {
      const run = await runNode(['--require', REGISTER, join(dir, 'app.cjs')], {
        ...env(`${server.url}/sdk`),
        OTEL_SDK_DISABLED: 'false',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_SERVICE_NAME: 'register-test',
      });
      expect(JSON.parse(run.stdout)).to.deep.equal({ status: 200, body: 'recovered' });
      expect(run.code).to.equal(0);
      const exports = collector.received.filter((r) => r.url === '/v1/traces');
      expect(exports).to.have.length.at.least(1);
      const exported = exports.map((r) => r.body).join('');
      // The app's two attempts were exported; no span describes the export itself.
      expect(exported.match(/"name":"GET"/g)).to.have.length(2);
      expect(exported).to.not.include('"name":"POST"');
      expect(exports.every((r) => r.headers.traceparent === undefined)).to.equal(true);
    } finally {
      await collector.close();
    }
  });

  it('BREAKWATER_INSTRUMENTATIONS without http leaves node:http alone', async () => {
    const run = await runNode(['--require', REGISTER, join(dir, 'app.cjs')], { ...env(`${server.url}/off`), BREAKWATER_INSTRUMENTATIONS: 'pg' });
    expect(JSON.parse(run.stdout)).to.deep.equal({ status: 503, body: 'busy' });
  });
});
