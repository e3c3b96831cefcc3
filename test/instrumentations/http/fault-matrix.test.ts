// The fault matrix, row `http` (issue 5): node:http through the fault proxy to a real
// server that counts what reached it. For each fault: a GET (a read, safe to repeat)
// and a POST (a write: each one reaching the server is a side effect). Every call must
// either succeed once or fail to the caller with the client's own error; no POST may
// reach the server twice; and the telemetry must say what happened.
import { expect } from 'chai';
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { getClassification } from '../../../src/errors.js';
import type { Runtime } from '../../../src/runtime/runtime.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import type { Fault, FaultProxy } from '../../helpers/fault-proxy.js';
import { OtelHarness, pointValue } from '../../helpers/otel.js';
import { enableAdapter, inCallerSpan, readResponse, recordedCalls } from './support.js';

const RESPONSE_BODY = 'x'.repeat(4000);
const TIMEOUT_MS = 150;

/** A counting server that can stop and start again on the same port. */
class CountingServer {
  gets = 0;
  posts = 0;
  port = 0;
  private server: http.Server | undefined;

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') this.posts++;
        else this.gets++;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(RESPONSE_BODY.length) });
        res.end(RESPONSE_BODY);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

type Result = { kind: 'response'; status: number; body: string } | { kind: 'error'; error: Error & { code?: string } };

/**
 * One call, inside a caller span `call <method>` (its attempt spans are that span's
 * children); settles with the response read to the end, or the error (on the request
 * or, after a cut, on the response).
 */
function call(port: number, method: 'GET' | 'POST', agent: http.Agent): Promise<Result> {
  return inCallerSpan(`call ${method}`, () => new Promise<Result>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: `/${method.toLowerCase()}`, agent });
    req.on('response', (res: IncomingMessage) => {
      res.on('error', (error: Error) => resolve({ kind: 'error', error }));
      readResponse(res).then(
        (out) => resolve({ kind: 'response', status: out.status, body: out.body }),
        (error: Error) => resolve({ kind: 'error', error }),
      );
    });
    req.on('error', (error: Error) => resolve({ kind: 'error', error }));
    req.end(method === 'POST' ? 'side-effect' : undefined);
  }));
}

describe('fault matrix: http (node:http through the fault proxy)', function () {
  this.timeout(30_000);
  let upstream: CountingServer;
  let proxy: FaultProxy;
  let otel: OtelHarness;
  let runtime: Runtime;
  let adapter: Adapter;
  // No keep-alive: every attempt is a new connection, so each one meets the fault in force.
  let agent: http.Agent;

  beforeEach(async () => {
    otel = new OtelHarness().install();
    upstream = new CountingServer();
    await upstream.start();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: upstream.port });
    ({ runtime, adapter } = enableAdapter({ BREAKWATER_TIMEOUT_MS: String(TIMEOUT_MS), BREAKWATER_RETRY_MAX_ATTEMPTS: '3' }));
    agent = new http.Agent({ keepAlive: false });
  });
  afterEach(async () => {
    adapter.disable();
    agent.destroy();
    await proxy.close();
    await upstream.stop();
    await otel.uninstall();
  });

  function attemptSpans(path: string) {
    return otel.spans().filter((s) => s.kind === 2 && s.attributes['http.request.method'] === (path === 'GET' ? 'GET' : 'POST'));
  }
  /** The span that tells what came of each call (its last attempt's), in the order the calls ended. */
  function lastSpans(method?: 'GET' | 'POST') {
    return recordedCalls(otel.spans(), method === undefined ? /^call / : `call ${method}`).map((c) => c.last);
  }

  async function metrics() {
    const byName = await otel.collect();
    return {
      attempts: (outcome: string, category?: string) =>
        pointValue(byName.get('resilience.attempts'), category === undefined ? { 'resilience.outcome': outcome } : { 'resilience.outcome': outcome, 'resilience.error.category': category }) ?? 0,
      suppressed: (reason: string) => pointValue(byName.get('resilience.retries.suppressed'), { 'resilience.retry.suppressed': reason }) ?? 0,
    };
  }

  /** The caller's error is the client's own (a Node system error with its code), classified, never wrapped. */
  function expectOwnError(result: Result, code: string, category: string): Error {
    expect(result.kind).to.equal('error');
    const error = (result as { error: Error & { code?: string } }).error;
    expect(error.code).to.equal(code);
    expect(getClassification(error)?.category).to.equal(category);
    return error;
  }

  async function fault(f: Fault): Promise<void> {
    await proxy.setFault(f);
  }

  it('refused: both retried (a refused connect proves nothing was sent); the caller gets ECONNREFUSED; no POST arrives', async () => {
    await fault({ kind: 'refuse' });
    const get = await call(proxy.port, 'GET', agent);
    const post = await call(proxy.port, 'POST', agent);
    expectOwnError(get, 'ECONNREFUSED', 'network');
    expectOwnError(post, 'ECONNREFUSED', 'network');
    expect([upstream.gets, upstream.posts]).to.deep.equal([0, 0]);
    expect(attemptSpans('GET').map((s) => s.attributes['http.request.resend_count'])).to.deep.equal([undefined, 1, 2]);
    expect(attemptSpans('POST')).to.have.length(3);
    expect(lastSpans().map((s) => s.attributes['resilience.retry.suppressed'])).to.deep.equal(['max_attempts', 'max_attempts']);
    expect(lastSpans().map((s) => [s.attributes['resilience.attempt'], s.attributes['resilience.outcome']])).to.deep.equal([[3, 'failure'], [3, 'failure']]);
    const m = await metrics();
    expect(m.attempts('failure', 'network')).to.equal(6);
    expect(m.suppressed('max_attempts')).to.equal(2);
  });

  it('reset on connect: retried like a refusal (Node reports it from connect); recovered calls succeed once', async () => {
    await fault({ kind: 'reset_on_connect', connections: 1 });
    const post = await call(proxy.port, 'POST', agent);
    expect(post).to.deep.include({ kind: 'response', status: 200 });
    expect(upstream.posts).to.equal(1);
    const spans = attemptSpans('POST');
    expect(spans).to.have.length(2);
    expect(spans.at(-1)!.attributes['resilience.outcome']).to.equal('success');
    expect(spans[0]!.attributes['resilience.error.category']).to.equal('network');
  });

  it('reset after the request was sent: the POST is not retried (not_idempotent), the GET is retried and succeeds', async () => {
    await fault({ kind: 'reset_after_request' });
    const post = await call(proxy.port, 'POST', agent);
    expectOwnError(post, 'ECONNRESET', 'network');
    expect(upstream.posts).to.equal(1); // it took effect; the caller was told it failed; it was not sent again

    await fault({ kind: 'reset_after_request', connections: 1 });
    const get = await call(proxy.port, 'GET', agent);
    expect(get).to.deep.include({ kind: 'response', status: 200, body: RESPONSE_BODY });
    expect(upstream.gets).to.equal(2);

    expect(attemptSpans('POST')).to.have.length(1);
    expect(attemptSpans('GET').map((s) => s.attributes['resilience.outcome'])).to.deep.equal(['failure', 'success']);
    const [postLast] = lastSpans('POST');
    expect(postLast!.attributes['resilience.outcome']).to.equal('failure');
    expect(postLast!.attributes['resilience.retry.suppressed']).to.equal('not_idempotent');
    expect(lastSpans('GET').map((s) => s.attributes['resilience.retry.suppressed'])).to.deep.equal([undefined]);
    const m = await metrics();
    expect(m.suppressed('not_idempotent')).to.equal(1);
    expect(m.attempts('success')).to.equal(1);
    expect(m.attempts('failure', 'network')).to.equal(2);
  });

  it('cut mid-response, inside the headers: the POST is not retried, the GET is retried and succeeds', async () => {
    await fault({ kind: 'cut_mid_response', afterBytes: 20 });
    const post = await call(proxy.port, 'POST', agent);
    expectOwnError(post, 'ECONNRESET', 'network');
    expect(upstream.posts).to.equal(1);

    await fault({ kind: 'cut_mid_response', afterBytes: 20, connections: 1 });
    expect(await call(proxy.port, 'GET', agent)).to.deep.include({ kind: 'response', status: 200, body: RESPONSE_BODY });
    expect(upstream.gets).to.equal(2);
    expect((await metrics()).suppressed('not_idempotent')).to.equal(1);
  });

  it('cut mid-response, inside the body: the caller already has the response; the cut reaches it on the response, nothing is sent again', async () => {
    await fault({ kind: 'cut_mid_response', afterBytes: 1000 });
    const get = await call(proxy.port, 'GET', agent);
    const post = await call(proxy.port, 'POST', agent);
    for (const result of [get, post]) {
      expect(result.kind).to.equal('error');
      expect((result as { error: Error & { code?: string } }).error.code).to.equal('ECONNRESET');
    }
    expect([upstream.gets, upstream.posts]).to.deep.equal([1, 1]);
    // The attempt ended when the headers arrived: a success for the policy.
    expect(attemptSpans('GET').map((s) => s.attributes['resilience.outcome'])).to.deep.equal(['success']);
  });

  it('delay past the timeout: the GET is tried three times, the POST once (a timeout is ambiguous); BREAKWATER_TIMEOUT', async () => {
    await fault({ kind: 'delay', ms: TIMEOUT_MS * 3 });
    const get = await call(proxy.port, 'GET', agent);
    const post = await call(proxy.port, 'POST', agent);
    expectOwnError(get, 'BREAKWATER_TIMEOUT', 'timeout');
    expectOwnError(post, 'BREAKWATER_TIMEOUT', 'timeout');
    expect(attemptSpans('GET')).to.have.length(3);
    expect(attemptSpans('POST')).to.have.length(1);
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 4));
    expect(upstream.posts).to.be.at.most(1);
    const m = await metrics();
    expect(m.attempts('failure', 'timeout')).to.equal(4);
    expect(m.suppressed('not_idempotent')).to.equal(1);
  });

  it('blackhole: the same as a delay, nothing reaches the server', async () => {
    await fault({ kind: 'blackhole' });
    const get = await call(proxy.port, 'GET', agent);
    const post = await call(proxy.port, 'POST', agent);
    expectOwnError(get, 'BREAKWATER_TIMEOUT', 'timeout');
    expectOwnError(post, 'BREAKWATER_TIMEOUT', 'timeout');
    expect([upstream.gets, upstream.posts]).to.deep.equal([0, 0]);
    expect(attemptSpans('GET')).to.have.length(3);
    expect(attemptSpans('POST')).to.have.length(1);
    expect(lastSpans().map((s) => s.attributes['resilience.retry.suppressed'])).to.deep.equal(['max_attempts', 'not_idempotent']);
  });

  it('server restart: calls made while it is down are retried until it is back (connect refused), each POST arrives exactly once', async () => {
    adapter.disable();
    ({ runtime, adapter } = enableAdapter({ BREAKWATER_TIMEOUT_MS: '1000', BREAKWATER_RETRY_MAX_ATTEMPTS: '8', BREAKWATER_RETRY_BASE_DELAY_MS: '40', BREAKWATER_RETRY_MAX_DELAY_MS: '80', BREAKWATER_RETRY_JITTER: 'none' }));
    await upstream.stop();
    // Straight to the server: its port refuses while it is down.
    const calls = [call(upstream.port, 'POST', agent), call(upstream.port, 'GET', agent), call(upstream.port, 'POST', agent)];
    await new Promise((resolve) => setTimeout(resolve, 60));
    await upstream.start();
    const results = await Promise.all(calls);
    expect(results.map((r) => (r.kind === 'response' ? r.status : r.error.message))).to.deep.equal([200, 200, 200]);
    expect([upstream.gets, upstream.posts]).to.deep.equal([1, 2]);
    expect((await metrics()).attempts('failure', 'network')).to.be.at.least(3);
  });

  it('recovery after an outage: the breaker opens, calls fail fast without dialling, then a probe closes it', async () => {
    adapter.disable();
    ({ runtime, adapter } = enableAdapter({ BREAKWATER_TIMEOUT_MS: String(TIMEOUT_MS), BREAKWATER_BREAKER_THRESHOLD: '3', BREAKWATER_BREAKER_OPEN_MS: '200', BREAKWATER_RETRY_MAX_ATTEMPTS: '1' }));
    await fault({ kind: 'refuse' });
    for (let i = 0; i < 3; i++) expectOwnError(await call(proxy.port, 'GET', agent), 'ECONNREFUSED', 'network');
    const target = `http://127.0.0.1:${proxy.port}`;
    expect(runtime.circuit(target).state).to.equal('open');
    await fault({ kind: 'none' });
    const connections = proxy.stats().connections;
    const rejected = await call(proxy.port, 'POST', agent);
    expectOwnError(rejected, 'BREAKWATER_CIRCUIT_OPEN', 'circuit_open');
    expect(proxy.stats().connections).to.equal(connections); // nothing dialled
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await call(proxy.port, 'GET', agent)).to.deep.include({ kind: 'response', status: 200 });
    expect(runtime.circuit(target).state).to.equal('closed');
    expect(await call(proxy.port, 'POST', agent)).to.deep.include({ kind: 'response', status: 200 });
    expect([upstream.gets, upstream.posts]).to.deep.equal([1, 1]);
    const byName = await otel.collect();
    expect(pointValue(byName.get('resilience.circuit.rejections'), {})).to.equal(1);
    expect(pointValue(byName.get('resilience.circuit.transitions'), { 'resilience.circuit.from': 'closed', 'resilience.circuit.to': 'open' })).to.equal(1);
    expect(pointValue(byName.get('resilience.circuit.transitions'), { 'resilience.circuit.from': 'half_open', 'resilience.circuit.to': 'closed' })).to.equal(1);
  });
});
