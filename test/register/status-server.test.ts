import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { startStatusServer } from '../../register/status-server.js';
import { runChild, startChild } from '../helpers/child.js';

const FAILING = 'http://flaky.internal:8080';
const TOKEN = 's3cret-operator-token';

/** A request to the endpoint over loopback; `host` sets the Host header (node:http, since fetch does not let it be set). */
async function request(server: Server, method: string, path: string, options: { token?: string; body?: unknown; host?: string } = {}) {
  const { port } = server.address() as AddressInfo;
  const headers: Record<string, string> = { 'content-type': 'application/json', host: options.host ?? `127.0.0.1:${port}` };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise<{ status: number; body: Record<string, any> }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text === '' ? {} : (JSON.parse(text) as Record<string, any>) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What a raw HTTP/1.0 request without a Host header gets. */
async function statusWithoutHost(server: Server): Promise<number> {
  const { port } = server.address() as AddressInfo;
  const socket = connect(port, '127.0.0.1');
  socket.end('GET /breakers HTTP/1.0\r\n\r\n');
  let text = '';
  for await (const chunk of socket) text += String(chunk);
  return Number(/^HTTP\/1\.\d (\d{3})/.exec(text)?.[1]);
}

/**
 * The addresses listening on a TCP port, from /proc/net/tcp and tcp6 (Linux): what a
 * process bound, which no request over loopback can tell apart from a wildcard bind.
 */
const LISTENING_ADDRESSES_SCRIPT = `
  function listening(port) {
    const fs = require('node:fs');
    const out = [];
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of fs.readFileSync(file, 'utf8').split('\\n').slice(1)) {
        const [, local, , state] = line.trim().split(/\\s+/);
        if (state !== '0A' || local === undefined) continue;
        const [address, portHex] = local.split(':');
        if (parseInt(portHex, 16) === port) out.push(address);
      }
    }
    return out;
  }`;

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
    expect(cases.map((c) => c.status)).to.deep.equal([400, 400, 404, 405, 404]);
    for (const c of cases) expect(JSON.stringify(c.body)).not.to.include(TOKEN);
  });

  it('register serves it on BREAKWATER_STATUS_PORT, on loopback by default, without keeping the process alive', async () => {
    const probe = await startStatusServer(new Runtime(loadConfig({})), { port: 0, host: '127.0.0.1', token: undefined });
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const script = `
      ${LISTENING_ADDRESSES_SCRIPT}
      require('breakwater').currentRuntime().execute(async () => 1, { target: 'http://a.internal:80' }).then(async () => {
        await new Promise((r) => setTimeout(r, 100));
        const res = await fetch('http://127.0.0.1:${port}/breakers');
        console.log(JSON.stringify({ status: res.status, body: await res.json(), listening: listening(${port}) }));
      });`;
    const running = startChild(['--require', 'breakwater/register', '-e', script], {
      BREAKWATER_STATUS_PORT: String(port),
      BREAKWATER_STATUS_TOKEN: TOKEN,
      OTEL_SDK_DISABLED: 'true',
    });
    const out = JSON.parse(await running.firstLine) as { status: number; body: { breakers: Array<{ target: string }> }; listening: string[] };
    expect(out.status).to.equal(200);
    // Bound to 127.0.0.1 (0100007F in /proc/net/tcp) and nothing else: not 0.0.0.0, not ::.
    expect(out.listening).to.deep.equal(['0100007F']);
    // The script's own fetch of the endpoint is an instrumented call too: its target shows as well.
    expect(out.body.breakers.map((b) => b.target)).to.include('http://a.internal:80');
    const result = await running.done;
    expect(result.code, 'the endpoint does not hold the process open').to.equal(0);
    expect(result.stdout + result.stderr).not.to.include(TOKEN);
  });

  describe('isolate and reset name the breaker the calls use', () => {
    const REAL = 'http://127.0.0.1:58080';
    async function runtimeThatCalled(...targets: string[]): Promise<Runtime> {
      const runtime = new Runtime(loadConfig({ BREAKWATER_RETRY_MAX_ATTEMPTS: '1' }));
      for (const target of targets) await runtime.execute(async () => 'ok', { target });
      return runtime;
    }

    it('reads the target as the adapters key it: a trailing slash, case, a default port', async () => {
      const runtime = await runtimeThatCalled(REAL, 'https://api.example.com:443');
      server = await startStatusServer(runtime, { port: 0, host: '127.0.0.1', token: TOKEN });
      const slash = await request(server, 'POST', '/breakers/isolate', { token: TOKEN, body: { target: `${REAL}/` } });
      expect(slash.status).to.equal(200);
      expect(slash.body).to.include({ target: REAL });
      expect(runtime.circuit(REAL).state, 'the breaker the calls use').to.equal('open');
      expect(runtime.circuits().map((c) => c.target).sort(), 'no second breaker').to.deep.equal(['http://127.0.0.1:58080', 'https://api.example.com:443']);
      await runtime.execute(async () => 'never', { target: REAL }).then(
        () => expect.fail('the isolated breaker lets calls through'),
        (error: { code?: string }) => expect(error.code).to.equal('BREAKWATER_CIRCUIT_OPEN'),
      );
      const reset = await request(server, 'POST', '/breakers/reset', { token: TOKEN, body: { target: 'HTTPS://API.Example.com/some/path?x=1' } });
      expect(reset.status).to.equal(200);
      expect(reset.body).to.include({ target: 'https://api.example.com:443' });
    });

    it('refuses a target no call has made (404, naming the look-alikes) unless "create": true', async () => {
      const runtime = await runtimeThatCalled(REAL, 'http://flaky.internal:8080');
      server = await startStatusServer(runtime, { port: 0, host: '127.0.0.1', token: TOKEN });
      const otherPort = await request(server, 'POST', '/breakers/isolate', { token: TOKEN, body: { target: 'http://127.0.0.1:58081' } });
      expect(otherPort.status).to.equal(404);
      expect(otherPort.body.similar).to.deep.equal([REAL]);
      expect(otherPort.body.error).to.include('no call has been made to http://127.0.0.1:58081').and.include(REAL).and.include('"create": true');
      const typo = await request(server, 'POST', '/breakers/isolate', { token: TOKEN, body: { target: 'http://flaky.internl:8080' } });
      expect(typo.body.similar).to.deep.equal(['http://flaky.internal:8080']);
      const nope = await request(server, 'POST', '/breakers/isolate', { token: TOKEN, body: { target: 'http://nope:1' } });
      expect(nope.status).to.equal(404);
      expect(nope.body.similar).to.deep.equal([]);
      expect(runtime.circuits().map((c) => c.target), 'nothing created').to.have.length(2);
      expect((await request(server, 'POST', '/breakers/reset', { token: TOKEN, body: { target: 'http://nope:1' } })).status).to.equal(404);

      const created = await request(server, 'POST', '/breakers/isolate', { token: TOKEN, body: { target: 'http://nope:1/', create: true } });
      expect(created.status).to.equal(200);
      expect(created.body.breakers[0]).to.include({ target: 'http://nope:1', state: 'open' });
      await runtime.execute(async () => 'never', { target: 'http://nope:1' }).then(
        () => expect.fail('the pre-isolated breaker lets the first call through'),
        (error: { code?: string }) => expect(error.code).to.equal('BREAKWATER_CIRCUIT_OPEN'),
      );
      const badCreate = await request(server, 'POST', '/breakers/isolate', { token: TOKEN, body: { target: 'http://nope:1', create: 'yes' } });
      expect(badCreate.status).to.equal(400);
    });

    it('past maxTargets (the label bound) a created target still gets a breaker of its own, and only it is open', async () => {
      const runtime = new Runtime(loadConfig({ BREAKWATER_MAX_TARGETS: '1' }));
      await runtime.execute(async () => 'ok', { target: REAL });
      server = await startStatusServer(runtime, { port: 0, host: '127.0.0.1', token: TOKEN });
      const result = await request(server, 'POST', '/breakers/isolate', { token: TOKEN, body: { target: 'http://later:80', create: true } });
      expect(result.status).to.equal(200);
      const states = Object.fromEntries(runtime.circuits().map((c) => [c.target, c.state]));
      expect(states).to.deep.equal({ [REAL]: 'closed', 'http://later:80': 'open' });
      expect(await runtime.execute(async () => 'still ok', { target: REAL })).to.equal('still ok');
    });
  });

  describe('Host header and binds beyond loopback', () => {
    it('answers 421 to a Host that is neither its address, a loopback name, an IP address nor an allowed host', async () => {
      const runtime = await runtimeWithOpenBreaker();
      server = await startStatusServer(runtime, { port: 0, host: '127.0.0.1', token: TOKEN, allowedHosts: ['status.internal'] });
      const { port } = server.address() as AddressInfo;
      const statusFor = async (host: string) => (await request(server!, 'GET', '/breakers', { host })).status;
      // A page on attacker.example whose name now resolves to 127.0.0.1 sends its own name.
      expect(await statusFor(`attacker.example:${port}`)).to.equal(421);
      expect(await statusFor('attacker.example')).to.equal(421);
      expect(await statusFor('status.internal.attacker.example')).to.equal(421);
      expect(await statusFor('not a host')).to.equal(421);
      const rejected = await request(server, 'POST', '/breakers/reset', { host: 'attacker.example', token: TOKEN, body: { target: FAILING } });
      expect(rejected.status).to.equal(421);
      expect(JSON.stringify(rejected.body)).not.to.include(FAILING);
      expect(runtime.circuit(FAILING).state).to.equal('open');
      expect(await statusWithoutHost(server)).to.equal(421);
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, `status.internal:${port}`, 'Status.Internal', `10.1.2.3:${port}`]) {
        expect(await statusFor(host), host).to.equal(200);
      }
    });

    it('refuses to bind beyond loopback without a token, and there asks the token of every request', async () => {
      const runtime = await runtimeWithOpenBreaker();
      let refused: unknown;
      await startStatusServer(runtime, { port: 0, host: '0.0.0.0', token: undefined }).catch((error: unknown) => (refused = error));
      expect(String(refused)).to.include('needs BREAKWATER_STATUS_TOKEN');
      server = await startStatusServer(runtime, { port: 0, host: '0.0.0.0', token: TOKEN });
      expect((await request(server, 'GET', '/breakers')).status).to.equal(401);
      const read = await request(server, 'GET', '/breakers', { token: TOKEN });
      expect(read.status).to.equal(200);
      expect(read.body.breakers[0]).to.include({ target: FAILING });
    });
  });

  describe('start-up under register', () => {
    const app = ['--require', 'breakwater/register', '-e', 'setTimeout(() => console.log("app ran"), 50)'];

    it('refuses a host that is not one, before the application runs', async () => {
      const result = await runChild(app, { BREAKWATER_STATUS_PORT: '9465', BREAKWATER_STATUS_HOST: 'not a host!', OTEL_SDK_DISABLED: 'true' });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include('BREAKWATER_STATUS_HOST="not a host!" is not accepted: expected an IP address or a host name');
      expect(result.stdout).to.equal('');
    });

    it('refuses 0.0.0.0 without a token, naming the variable', async () => {
      const result = await runChild(app, { BREAKWATER_STATUS_PORT: '9465', BREAKWATER_STATUS_HOST: '0.0.0.0', OTEL_SDK_DISABLED: 'true' });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/BREAKWATER_STATUS_HOST="0\.0\.0\.0" is not accepted without BREAKWATER_STATUS_TOKEN/);
      expect(result.stdout).to.equal('');
    });

    it('fails with exit status 1 and one clear line when the port is in use', async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      try {
        const port = (taken.address() as AddressInfo).port;
        const result = await runChild(app, { BREAKWATER_STATUS_PORT: String(port), OTEL_SDK_DISABLED: 'true' });
        expect(result.code).to.equal(1);
        expect(result.stderr).to.equal(
          `breakwater: not started, the status endpoint could not listen on 127.0.0.1:${port} (BREAKWATER_STATUS_HOST, BREAKWATER_STATUS_PORT): the port is already in use\n`,
        );
        expect(result.stdout, 'exits before the application\'s first timer').to.equal('');
      } finally {
        await new Promise<void>((resolve) => taken.close(() => resolve()));
      }
    });
  });
});
