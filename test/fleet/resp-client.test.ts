import { expect } from 'chai';
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { inspect } from 'node:util';
import { context, trace } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { RespClient, RespClientError, type RedisHealth, type RespClientOptions } from '../../src/fleet/resp-client.js';
import { RespReplyError } from '../../src/fleet/resp.js';
import { startChild } from '../helpers/child.js';
import { eventually } from '../helpers/eventually.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { OtelHarness } from '../helpers/otel.js';
import { redis, type RedisServer } from '../integration/servers.js';

/** Everything a client or its errors could show a user or a log. */
const shown: string[] = [];

function remember(client: RespClient): void {
  shown.push(client.describe(), client.toString(), client.lastError, inspect(client, { showHidden: true, depth: 10 }));
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    shown.push((err as Error).message, String(err), inspect(err));
    return err as Error;
  }
  throw new Error('the command succeeded');
}

async function code(promise: Promise<unknown>): Promise<string> {
  const err = await failure(promise);
  expect(err).to.be.instanceOf(RespClientError, err.message);
  return (err as RespClientError).code;
}

function withPassword(url: string, server: RedisServer): string {
  return url.replace('//', `//:${encodeURIComponent(server.password)}@`);
}

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

let keyCounter = 0;
function key(name: string): string {
  return `bw:test:${process.pid}:${name}:${keyCounter++}`;
}

describe('fleet: RespClient against a real redis-server', function () {
  this.timeout(60_000);
  let server: RedisServer;
  const clients: RespClient[] = [];
  const proxies: FaultProxy[] = [];

  function client(url: string, options: RespClientOptions = {}): RespClient {
    const c = new RespClient(url, { reconnectBaseMs: 20, reconnectMaxMs: 200, ...options });
    clients.push(c);
    return c;
  }

  async function proxy(): Promise<FaultProxy> {
    const p = await startFaultProxy({ host: server.host, port: server.port });
    proxies.push(p);
    return p;
  }

  before(async function () {
    this.timeout(15 * 60_000); // may install redis-server
    server = await redis();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) {
      remember(c);
      await c.close();
    }
    for (const p of proxies.splice(0)) await p.close();
  });

  after(() => {
    // Every message, state and description collected above: none holds the password.
    expect(shown.length).to.be.greaterThan(30);
    const leaks = shown.filter((text) => text.includes(server.password) || text.includes(encodeURIComponent(server.password)));
    expect(leaks).to.deep.equal([]);
  });

  it('connects lazily, authenticates with the password, and round-trips commands and error replies', async () => {
    const states: RedisHealth[] = [];
    const c = client(server.url, { onStateChange: (s) => states.push(s) });
    expect(c.state).to.equal('idle');
    expect(c.ready).to.equal(false);
    const k = key('roundtrip');
    expect(await c.command(['SET', k, 'v€', 'PX', 10_000], 1000)).to.equal('OK');
    expect(c.state).to.equal('ready');
    expect(states).to.deep.equal(['up']);
    expect(await c.command(['GET', k], 1000)).to.equal('v€');
    expect(await c.command(['GET', key('missing')], 1000)).to.equal(null);
    expect(await c.command(['INCRBY', key('n'), 5], 1000)).to.equal(5);
    expect(await c.command(['MGET', k, key('missing')], 1000)).to.deep.equal(['v€', null]);
    const err = await failure(c.command(['INCR', k], 1000));
    expect(err).to.be.instanceOf(RespReplyError);
    expect((err as RespReplyError).code).to.equal('ERR');
    expect(await c.command(['DEL', k], 1000)).to.equal(1);
    expect(c.describe()).to.equal(`redis://127.0.0.1:${server.port}/0`);
  });

  it('authenticates as a user with a password, and SELECTs the database on connect', async () => {
    const url = `redis://default:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/5`;
    const c5 = client(url);
    const c0 = client(server.url);
    const k = key('db');
    await c5.command(['SET', k, 'five', 'PX', 10_000], 1000);
    expect(await c5.command(['GET', k], 1000)).to.equal('five');
    expect(await c0.command(['GET', k], 1000)).to.equal(null);
    expect(c5.describe()).to.equal(`redis://127.0.0.1:${server.port}/5`);
    await c5.command(['DEL', k], 1000);
  });

  it('reports a refused AUTH as down, fails commands, and never shows the password it sent', async () => {
    const wrong = `${server.password}-wrong`;
    const states: RedisHealth[] = [];
    const c = client(`redis://:${encodeURIComponent(wrong)}@127.0.0.1:${server.port}`, { onStateChange: (s) => states.push(s) });
    const err = await failure(c.command(['PING'], 2000));
    expect((err as RespClientError).code).to.equal('UNAVAILABLE');
    expect(err.message).to.match(/AUTH failed: WRONGPASS/);
    expect(states).to.deep.equal(['down']);
    expect(c.lastError).to.match(/WRONGPASS/);
    expect(await code(c.command(['PING'], 2000))).to.equal('UNAVAILABLE');
    const texts = [err.message, c.lastError, c.toString(), inspect(c, { showHidden: true, depth: 10 })];
    for (const text of texts) expect(text).to.not.include(wrong).and.not.include(server.password);
    const noPassword = client(`redis://127.0.0.1:${server.port}`);
    expect(await code(noPassword.command(['GET', 'x'], 2000))).to.equal('UNAVAILABLE');
    expect(noPassword.lastError).to.match(/^PING failed: NOAUTH/);
  });

  it('pipelines 1000 concurrent commands on one connection and matches the replies in order', async () => {
    const c = client(server.url);
    await c.command(['PING'], 1000);
    const counter = key('pipeline');
    const sent = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? c.command(['INCR', counter], 5000) : c.command(['ECHO', `m${i}`], 5000)));
    const replies = await Promise.all(sent);
    replies.forEach((reply, i) => expect(reply, `reply ${i}`).to.equal(i % 2 === 0 ? i / 2 + 1 : `m${i}`));
    const clientList = String(await c.command(['CLIENT', 'LIST', 'ID', String(await c.command(['CLIENT', 'ID'], 1000))], 1000));
    expect(clientList.trim().split('\n')).to.have.length(1);
    await c.command(['DEL', counter], 1000);
  });

  it('bounds the commands pending, and never throws synchronously', async () => {
    const c = client(server.url, { maxPending: 10 });
    const sent = Array.from({ length: 25 }, () => c.command(['PING'], 5000));
    const settled = await Promise.allSettled(sent);
    expect(settled.filter((s) => s.status === 'fulfilled')).to.have.length(10);
    const rejected = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as RespClientError] : []));
    expect(rejected.map((e) => e.code)).to.deep.equal(Array(15).fill('QUEUE_FULL'));
    expect(await code(c.command(null as unknown as string[], 1000))).to.equal('INVALID_COMMAND');
    expect(await code(c.command([], 1000))).to.equal('INVALID_COMMAND');
    expect(await code(c.command(['SET', 'k', Number.NaN], 1000))).to.equal('INVALID_COMMAND');
    expect(await code(c.command(['PING'], 0))).to.equal('INVALID_COMMAND');
    expect(await code(c.command(['PING'], Number.NaN))).to.equal('INVALID_COMMAND');
    expect(await c.command(['PING'], 1000)).to.equal('PONG');
  });

  it('fails a command at its timeout, drops the connection (reply order unknown) and reconnects', async () => {
    const states: RedisHealth[] = [];
    const c = client(server.url, { onStateChange: (s) => states.push(s) });
    await c.command(['PING'], 1000);
    const started = Date.now();
    const blocked = code(c.command(['BLPOP', key('empty'), 2], 100));
    const behind = code(c.command(['PING'], 5000));
    expect(await blocked).to.equal('TIMEOUT');
    expect(Date.now() - started).to.be.within(90, 1000);
    expect(await behind).to.equal('CONNECTION_LOST');
    expect(states).to.deep.equal(['up', 'down']);
    await eventually(() => c.ready, 5000, 'reconnected');
    expect(await c.command(['PING'], 1000)).to.equal('PONG');
    expect(states).to.deep.equal(['up', 'down', 'up']);
  });

  it('a timed-out command that was never written fails alone', async () => {
    const p = await proxy();
    await p.setFault({ kind: 'delay', ms: 100 });
    const c = client(`redis://:${encodeURIComponent(server.password)}@127.0.0.1:${p.port}`, { connectTimeoutMs: 5000 });
    const early = code(c.command(['PING'], 50)); // queued behind the slow handshake
    const patient = c.command(['ECHO', 'later'], 5000);
    expect(await early).to.equal('TIMEOUT');
    expect(await patient).to.equal('later');
    expect(c.ready).to.equal(true);
  });

  it('Redis stopped: down at once, commands fail fast; started again: up, commands succeed', async () => {
    const states: RedisHealth[] = [];
    const c = client(server.url, { onStateChange: (s) => states.push(s) });
    await c.command(['PING'], 1000);
    try {
      await server.stop();
      await eventually(() => states.at(-1) === 'down', 2000, 'down reported');
      expect(c.ready).to.equal(false);
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        expect(await code(c.command(['PING'], 5000))).to.equal('UNAVAILABLE');
        expect(performance.now() - started).to.be.below(50);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(c.lastError).to.not.equal('');
    } finally {
      await server.start();
    }
    await eventually(() => c.ready, 5000, 'up again');
    expect(await c.command(['PING'], 1000)).to.equal('PONG');
    expect(states).to.deep.equal(['up', 'down', 'up']);
  });

  it('a blackholed Redis: the handshake times out (down), commands fail fast, and it rejoins when the path is back', async () => {
    const p = await proxy();
    const states: RedisHealth[] = [];
    const c = client(`redis://:${encodeURIComponent(server.password)}@127.0.0.1:${p.port}`, {
      connectTimeoutMs: 300,
      onStateChange: (s) => states.push(s),
    });
    await c.command(['PING'], 1000);
    await p.setFault({ kind: 'blackhole' });
    p.resetAll();
    await eventually(() => states.at(-1) === 'down', 2000, 'down reported');
    // The redials meet the blackhole (TCP accepted, no answer): the client stays down.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(p.stats().connections).to.be.greaterThan(2);
    expect(c.ready).to.equal(false);
    expect(await code(c.command(['PING'], 5000))).to.equal('UNAVAILABLE');
    await p.setFault({ kind: 'none' });
    await eventually(() => c.ready, 5000, 'up again');
    expect(await c.command(['PING'], 1000)).to.equal('PONG');
    expect(states).to.deep.equal(['up', 'down', 'up']);
  });

  it('a first connection into a blackhole fails the commands waiting for it at the connect timeout', async () => {
    const p = await proxy();
    await p.setFault({ kind: 'blackhole' });
    const c = client(`redis://:${encodeURIComponent(server.password)}@127.0.0.1:${p.port}`, { connectTimeoutMs: 200 });
    const started = Date.now();
    const err = await failure(c.command(['PING'], 5000));
    expect((err as RespClientError).code).to.equal('UNAVAILABLE');
    expect(err.message).to.include('no answer to the handshake within 200 ms');
    expect(Date.now() - started).to.be.within(150, 2000);
  });

  it('close() fails what is pending and everything after it', async () => {
    const c = client(server.url);
    await c.command(['PING'], 1000);
    const blocked = code(c.command(['BLPOP', key('empty'), 2], 5000));
    await c.close();
    expect(await blocked).to.equal('CLOSED');
    expect(await code(c.command(['PING'], 1000))).to.equal('CLOSED');
    expect(c.state).to.equal('closed');
    await c.close();
  });

  it('dials with tracing suppressed and no caller context, and resolves in the caller context', async () => {
    const otel = new OtelHarness().install();
    const contexts: { suppressed: boolean; span: boolean }[] = [];
    const onSocket = (): void => {
      contexts.push({ suppressed: isTracingSuppressed(context.active()), span: trace.getSpan(context.active()) !== undefined });
    };
    diagnostics.subscribe('net.client.socket', onSocket);
    try {
      const c = client(server.url);
      const tracer = trace.getTracer('test');
      await tracer.startActiveSpan('caller', async (span) => {
        expect(await c.command(['PING'], 1000)).to.equal('PONG');
        expect(trace.getSpan(context.active())).to.equal(span);
        span.end();
      });
      expect(contexts).to.deep.equal([{ suppressed: true, span: false }]);
      expect(otel.spans().map((s) => s.name)).to.deep.equal(['caller']);
    } finally {
      diagnostics.unsubscribe('net.client.socket', onSocket);
      await otel.uninstall();
    }
  });

  it('never keeps the process alive: a child with live, down and blackholed clients exits by itself', async () => {
    const p = await proxy();
    await p.setFault({ kind: 'blackhole' });
    const run = startChild(['build/test/fleet/fixtures/live-clients.js'], {
      REDIS_URL: server.url,
      DEAD_URL: withPassword(`redis://127.0.0.1:${await unusedPort()}`, server),
      BLACKHOLE_URL: withPassword(`redis://127.0.0.1:${p.port}`, server),
    }, 20_000);
    const result = await run.done;
    expect(result.stderr).to.equal('');
    expect(result.stdout.trim().split('\n')).to.deep.equal(['live ready', 'dead down', 'blackhole pending', 'lease fleet']);
    expect(result.code).to.equal(0);
    expect(result.stdout + result.stderr).to.not.include(server.password);
  });
});
