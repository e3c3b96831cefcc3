import http from 'node:http';
import type net from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CIRCUIT_OPEN_CODE, getClassification } from '../../../src/errors.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../../helpers/fault-proxy.js';
import { pointValue } from '../../helpers/otel.js';
import { attemptSpans, callEndSpans, recordingServer, sequentialCalls, setUp, tearDown, type RecordingServer, type Setup } from './support.js';

/**
 * The fault matrix row for `fetch` (issue 5): global fetch through the fault proxy to a
 * real server. Side effects are the POSTs the server applied (deduplicated by
 * Idempotency-Key, as a server honouring the header would). Every cell checks: no
 * duplicate write, no lost call (each call either succeeds once or rejects with the
 * client's own error), the attempt spans and the attempt/suppression metrics.
 *
 * undici keeps connections alive per origin: each cell gets a fresh proxy (a new port,
 * so a new pool), and a connection keeps the fault it was accepted under.
 */
describe('fault matrix: fetch', function () {
  this.timeout(20_000);
  let server: RecordingServer;
  let proxy: FaultProxy;
  let s: Setup | undefined;
  let base: string;

  /** POSTs applied: one per distinct Idempotency-Key, one per POST without a key. */
  const applied = (): number => {
    const posts = server.received.filter((r) => r.method === 'POST');
    const keys = new Set(posts.map((r) => r.headers['idempotency-key']).filter((k) => k !== undefined));
    return keys.size + posts.filter((r) => r.headers['idempotency-key'] === undefined).length;
  };
  const posts = (): number => server.received.filter((r) => r.method === 'POST').length;

  /** Settles a call into what the caller saw. */
  async function outcome(call: Promise<Response>): Promise<{ status?: number; error?: unknown }> {
    try {
      const r = await call;
      await r.arrayBuffer();
      return { status: r.status };
    } catch (error) {
      return { error };
    }
  }

  const get = (): Promise<Response> => fetch(`${base}/item?token=t0k3n`);
  const post = (key?: string): Promise<Response> =>
    fetch(`${base}/orders`, { method: 'POST', body: JSON.stringify({ n: 1 }), headers: key === undefined ? {} : { 'Idempotency-Key': key } });

  /** After `count` requests arrive, later connections get no fault (the proxy keeps the current ones' faults). */
  function clearFaultAfter(count: number): void {
    const respond = server.respond;
    server.respond = (req, res) => {
      if (server.received.length === count) void proxy.setFault({ kind: 'none' });
      respond(req, res);
    };
  }

  async function withFault(fault: Fault, env: Record<string, string> = {}): Promise<Setup> {
    s = setUp(env);
    await proxy.setFault(fault);
    return s;
  }

  async function metrics(): Promise<{ failures: number; successes: number; notIdempotent: number }> {
    const m = await s!.otel.collect();
    return {
      failures: pointValue(m.get('resilience.attempts'), { 'resilience.outcome': 'failure' }) ?? 0,
      successes: pointValue(m.get('resilience.attempts'), { 'resilience.outcome': 'success' }) ?? 0,
      notIdempotent: pointValue(m.get('resilience.retries.suppressed'), { 'resilience.retry.suppressed': 'not_idempotent' }) ?? 0,
    };
  }

  /**
   * The number of attempts of the index-th logical call (the calls of a cell are made one
   * after another), after checking their shape: CLIENT spans numbered 1..n, with
   * http.request.resend_count n-1 on the n-th; every one but the last ended with a retry
   * scheduled, the last one says how the call ended.
   */
  function attemptsOfCall(index: number): number {
    const children: ReadableSpan[] = sequentialCalls(s!.otel.spans())[index]!;
    expect(children.map((c) => c.kind)).to.deep.equal(children.map(() => SpanKind.CLIENT));
    expect(children.map((c) => c.attributes['resilience.attempt'])).to.deep.equal(children.map((_, i) => i + 1));
    expect(children.map((c) => c.attributes['http.request.resend_count'])).to.deep.equal(children.map((_, i) => (i === 0 ? undefined : i)));
    expect(children.map((c) => c.events.some((e) => e.name === 'resilience.retry.scheduled'))).to.deep.equal(children.map((_, i) => i < children.length - 1));
    expect(children.at(-1)!.attributes['resilience.outcome']).to.be.oneOf(['success', 'failure']);
    return children.length;
  }

  beforeEach(async () => {
    server = await recordingServer();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: server.port });
    base = `http://127.0.0.1:${proxy.port}`;
  });
  afterEach(async () => {
    await tearDown(s);
    s = undefined;
    await proxy.close();
    await server.close();
  });

  it('refused: nothing was sent, so GET and POST are both retried, and fail with fetch\'s own error', async () => {
    await withFault({ kind: 'refuse' });
    const g = await outcome(get());
    const p = await outcome(post());
    for (const r of [g, p]) {
      expect(r.error).to.be.instanceOf(TypeError);
      expect(((r.error as Error).cause as { code?: string }).code).to.equal('ECONNREFUSED');
      expect(getClassification(r.error)?.category).to.equal('network');
    }
    expect(server.received).to.have.length(0);
    expect([attemptsOfCall(0), attemptsOfCall(1)]).to.deep.equal([3, 3]);
    expect(await metrics()).to.deep.equal({ failures: 6, successes: 0, notIdempotent: 0 });
    expect(attemptSpans(s!.otel.spans()).every((a) => a.kind === SpanKind.CLIENT)).to.equal(true);
  });

  it('reset before the request: zero side effects; a POST is retried only when the reset proves nothing was sent', async () => {
    await withFault({ kind: 'reset_on_connect' });
    const g = await outcome(get());
    const p = await outcome(post());
    expect(g.error).to.be.instanceOf(TypeError);
    expect(p.error).to.be.instanceOf(TypeError);
    expect(getClassification(p.error)?.category).to.equal('network');
    // The proxy resets each connection as it accepts it, before undici wrote anything, so
    // undici's socket fails while connecting: `connect ECONNRESET` (syscall connect). That
    // proves the request never left, so the POST is retried like the GET. (A reset after
    // the connection was up would be ambiguous, "other side closed", and sent once: a
    // different cell, "reset after the request was sent".)
    const cause = (p.error as Error).cause as { code?: string; syscall?: string };
    expect([cause.code, cause.syscall]).to.deep.equal(['ECONNRESET', 'connect']);
    const postAttempts = 3;
    expect([attemptsOfCall(0), attemptsOfCall(1)]).to.deep.equal([3, postAttempts]);
    expect(applied()).to.equal(0);
    expect(await metrics()).to.deep.equal({ failures: 6, successes: 0, notIdempotent: 0 });
  });

  it('reset after the request was sent: the POST applied once is never re-sent; GET and a keyed POST are retried and succeed', async () => {
    await withFault({ kind: 'reset_after_request' });
    const p = await outcome(post());
    expect(p.error).to.be.instanceOf(TypeError);
    expect(posts()).to.equal(1); // the server applied it; the client cannot know
    clearFaultAfter(2);
    const g = await outcome(get());
    expect(g.status).to.equal(200);
    clearFaultAfter(4);
    await proxy.setFault({ kind: 'reset_after_request' });
    const keyed = await outcome(post('order-7'));
    expect(keyed.status).to.equal(200);
    expect(posts()).to.equal(3);
    expect(applied()).to.equal(2); // the plain POST once, the keyed one once
    expect([attemptsOfCall(0), attemptsOfCall(1), attemptsOfCall(2)]).to.deep.equal([1, 2, 2]);
    expect(await metrics()).to.deep.equal({ failures: 3, successes: 2, notIdempotent: 1 });
    const suppressed = callEndSpans(s!.otel.spans()).map((sp) => sp.attributes['resilience.retry.suppressed']);
    expect(suppressed).to.deep.equal(['not_idempotent', undefined, undefined]);
  });

  it('cut mid-response inside the headers: GET retried, POST not; cut in the body: delivered, the caller\'s read fails', async () => {
    server.respond = (_req, res) => res.end('x'.repeat(20_000));
    await withFault({ kind: 'cut_mid_response', afterBytes: 10 });
    const p = await outcome(post());
    expect(p.error).to.be.instanceOf(TypeError);
    expect(posts()).to.equal(1);
    clearFaultAfter(2);
    const g = await outcome(get());
    expect(g.status).to.equal(200);
    expect([attemptsOfCall(0), attemptsOfCall(1)]).to.deep.equal([1, 2]);

    await proxy.setFault({ kind: 'cut_mid_response', afterBytes: 1000 });
    const r = await fetch(`${base}/big`, { headers: { connection: 'close' } }).catch((e: unknown) => e);
    // Headers arrived: the attempt succeeded, and the body is the caller's to read.
    expect(r).to.be.instanceOf(Response);
    const read = await (r as Response).arrayBuffer().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(read).to.be.instanceOf(Error);
    expect(attemptsOfCall(2)).to.equal(1);
    expect(applied()).to.equal(1);
  });

  it('delay past the attempt timeout: GET tries three times and fails with the timeout; POST once', async () => {
    await withFault({ kind: 'delay', ms: 450 }, { BREAKWATER_TIMEOUT_MS: '250' });
    const g = await outcome(get());
    expect((g.error as { code?: string }).code).to.equal('BREAKWATER_TIMEOUT');
    const p = await outcome(post());
    expect((p.error as { code?: string }).code).to.equal('BREAKWATER_TIMEOUT');
    expect([attemptsOfCall(0), attemptsOfCall(1)]).to.deep.equal([3, 1]);
    expect(posts()).to.be.at.most(1); // the delayed bytes die with the aborted connection
    const categories = attemptSpans(s!.otel.spans()).map((a) => a.attributes['resilience.error.category']);
    expect(categories).to.deep.equal(['timeout', 'timeout', 'timeout', 'timeout']);
    expect(await metrics()).to.deep.equal({ failures: 4, successes: 0, notIdempotent: 1 });
  });

  it('blackhole: the same as a timeout, nothing reaches the server', async () => {
    await withFault({ kind: 'blackhole' }, { BREAKWATER_TIMEOUT_MS: '200' });
    const g = await outcome(get());
    const p = await outcome(post());
    expect((g.error as { code?: string }).code).to.equal('BREAKWATER_TIMEOUT');
    expect((p.error as { code?: string }).code).to.equal('BREAKWATER_TIMEOUT');
    expect([attemptsOfCall(0), attemptsOfCall(1)]).to.deep.equal([3, 1]);
    expect(server.received).to.have.length(0);
    expect(await metrics()).to.deep.equal({ failures: 4, successes: 0, notIdempotent: 1 });
  });

  it('server restart: calls while it is down fail with the refusal (POST retried: never sent), calls after it succeed once', async () => {
    // A server of our own on a fixed port, so it can come back where the pool expects it.
    let applied = 0;
    const sockets = new Set<net.Socket>();
    const handler: http.RequestListener = (req, res) => {
      if (req.method === 'POST') applied++;
      req.resume();
      req.on('end', () => res.end('ok'));
    };
    const listen = (port: number): Promise<http.Server> =>
      new Promise((resolve) => {
        const srv = http.createServer(handler);
        srv.on('connection', (c) => {
          sockets.add(c);
          c.once('close', () => sockets.delete(c));
        });
        srv.listen(port, '127.0.0.1', () => resolve(srv));
      });
    let srv = await listen(0);
    const port = (srv.address() as net.AddressInfo).port;
    const url = `http://127.0.0.1:${port}`;
    s = setUp();
    try {
      expect((await outcome(fetch(`${url}/warm`))).status).to.equal(200); // a pooled keep-alive connection
      await new Promise<void>((resolve) => {
        srv.close(() => resolve());
        for (const c of sockets) c.destroy();
      });
      const down = await outcome(fetch(`${url}/orders`, { method: 'POST', body: 'x' }));
      expect(((down.error as Error).cause as { code?: string }).code).to.equal('ECONNREFUSED');
      srv = await listen(port);
      const up = await outcome(fetch(`${url}/orders`, { method: 'POST', body: 'x' }));
      expect(up.status).to.equal(200);
      expect(applied).to.equal(1);
      expect([attemptsOfCall(1), attemptsOfCall(2)]).to.deep.equal([3, 1]);
    } finally {
      await new Promise<void>((resolve) => {
        srv.close(() => resolve());
        for (const c of sockets) c.destroy();
      });
    }
  });

  it('recovery after an outage: the breaker opens (calls rejected without dialling), then a probe closes it', async () => {
    await withFault({ kind: 'refuse' }, { BREAKWATER_BREAKER: 'consecutive', BREAKWATER_BREAKER_THRESHOLD: '3', BREAKWATER_BREAKER_OPEN_MS: '150' });
    const failed = await outcome(get());
    expect(failed.error).to.be.instanceOf(TypeError);
    const connectionsBefore = proxy.stats().connections;
    const rejected = await outcome(post('k-1'));
    expect((rejected.error as { code?: string }).code).to.equal(CIRCUIT_OPEN_CODE);
    expect(proxy.stats().connections).to.equal(connectionsBefore);
    await proxy.setFault({ kind: 'none' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const recovered = await outcome(post('k-1'));
    expect(recovered.status).to.equal(200);
    expect(applied()).to.equal(1);
    expect(s!.runtime.circuit(`http://127.0.0.1:${proxy.port}`).state).to.equal('closed');
    const m = await s!.otel.collect();
    expect(pointValue(m.get('resilience.circuit.transitions'), { 'resilience.circuit.from': 'closed', 'resilience.circuit.to': 'open' })).to.equal(1);
    expect(pointValue(m.get('resilience.circuit.transitions'), { 'resilience.circuit.from': 'half_open', 'resilience.circuit.to': 'closed' })).to.equal(1);
  });
});
