import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { startStatusServer } from '../../register/status-server.js';
import { startChild } from '../helpers/child.js';

const FAILING = 'http://flaky.internal:8080';
const TOKEN = 's3cret-operator-token';

async function request(server: Server, method: string, path: string, options: { token?: string; body?: unknown } = {}) {
  const { port } = server.address() as AddressInfo;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const init: RequestInit = { method, headers };
  if (options.body !== undefined) init.body = JSON.stringify(options.body);
  const response = await fetch(`http://127.0.0.1:${port}${path}`, init);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function runtimeWithOpenBreaker(): Promise<Runtime> {
  const runtime = new Runtime(loadConfig({ BREAKWATER_BREAKER: 'consecutive', BREAKWATER_BREAKER_THRESHOLD: '1', BREAKWATER_RETRY_MAX_ATTEMPTS: '1' }));
  await runtime
    .execute(async () => Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), { target: FAILING })
    .catch(() => undefined);
  return runtime;
}

describe('status endpoint', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('shows every breaker with its state and stats as JSON', async () => {
    const runtime = await runtimeWithOpenBreaker();
    server = await startStatusServer(runtime, { port: 0, host: '127.0.0.1', token: undefined });
    const { status, body } = await request(server, 'GET', '/breakers');
    expect(status).to.equal(200);
    expect(body.breakers).to.have.length(1);
    expect(body.breakers[0]).to.include({ policy: 'default', target: FAILING, state: 'open' });
    expect(body.breakers[0].stats).to.be.an('object');
  });

  it('without a configured token, is read-only', async () => {
    const runtime = await runtimeWithOpenBreaker();
    server = await startStatusServer(runtime, { port: 0, host: '127.0.0.1', token: undefined });
    const { status, body } = await request(server, 'POST', '/breakers/reset', { token: 'anything', body: { target: FAILING } });
    expect(status).to.equal(403);
    expect(body.error).to.include('BREAKWATER_STATUS_TOKEN');
    expect(runtime.circuit(FAILING).state).to.equal('open');
  });

  it('isolates and resets only with the right bearer token', async () => {
    const runtime = await runtimeWithOpenBreaker();
    server = await startStatusServer(runtime, { port: 0, host: '127.0.0.1', token: TOKEN });
    expect((await request(server, 'POST', '/breakers/reset', { body: { target: FAILING } })).status, 'no token').to.equal(401);
    expect((await request(server, 'POST', '/breakers/reset', { token: 'wrong', body: { target: FAILING } })).status).to.equal(401);
    expect((await request(server, 'POST', '/breakers/reset', { token: `${TOKEN}x`, body: { target: FAILING } })).status, 'a longer token').to.equal(401);
    expect(runtime.circuit(FAILING).state).to.equal('open');

    const reset = await request(server, 'POST', '/breakers/reset', { token: TOKEN, body: { target: FAILING } });
    expect(reset.status).to.equal(200);
    expect(runtime.circuit(FAILING).state).to.equal('closed');

    const isolate = await request(server, 'POST', '/breakers/isolate', { token: TOKEN, body: { target: FAILING } });
    expect(isolate.status).to.equal(200);
    expect(isolate.body.breakers[0].state).to.equal('open');
    expect(runtime.circuit(FAILING).state).to.equal('open');
  });

  it('answers bad requests clearly and never echoes the token', async () => {
    const runtime = await runtimeWithOpenBreaker();
    server = await startStatusServer(runtime, { port: 0, host: '127.0.0.1', token: TOKEN });
    const cases = [
      await request(server, 'POST', '/breakers/isolate', { token: TOKEN, body: { nope: 1 } }),
      await request(server, 'POST', '/breakers/isolate', { token: TOKEN, body: { target: 'not a key' } }),
      await request(server, 'POST', '/breakers/reset', { token: TOKEN, body: { target: 'http://never.seen:80' } }),
      await request(server, 'GET', '/breakers/isolate'),
      await request(server, 'GET', '/elsewhere'),
    ];
    expect(cases.map((c) => c.status)).to.deep.equal([400, 404, 404, 405, 404]);
    for (const c of cases) expect(JSON.stringify(c.body)).not.to.include(TOKEN);
  });

  it('register serves it on BREAKWATER_STATUS_PORT, on loopback by default, without keeping the process alive', async () => {
    const probe = await startStatusServer(new Runtime(loadConfig({})), { port: 0, host: '127.0.0.1', token: undefined });
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const script = `
      const http = require('node:http');
      require('breakwater').currentRuntime().execute(async () => 1, { target: 'http://a.internal:80' }).then(async () => {
        await new Promise((r) => setTimeout(r, 100));
        const res = await fetch('http://127.0.0.1:${port}/breakers');
        console.log(JSON.stringify({ status: res.status, body: await res.json() }));
      });`;
    const running = startChild(['--require', 'breakwater/register', '-e', script], {
      BREAKWATER_STATUS_PORT: String(port),
      BREAKWATER_STATUS_TOKEN: TOKEN,
      OTEL_SDK_DISABLED: 'true',
    });
    const out = JSON.parse(await running.firstLine) as { status: number; body: { breakers: Array<{ target: string }> } };
    expect(out.status).to.equal(200);
    // The script's own fetch of the endpoint is an instrumented call too: its target shows as well.
    expect(out.body.breakers.map((b) => b.target)).to.include('http://a.internal:80');
    const result = await running.done;
    expect(result.code, 'the endpoint does not hold the process open').to.equal(0);
    expect(result.stdout + result.stderr).not.to.include(TOKEN);
  });
});
