// node-redis 4 (`redis` 4.x, `@redis/client` 1.x) against a real server, through the
// fault proxy: its internals differ from v5/v6 (commandsExecutor, multiExecutor).
import { SpanKind } from '@opentelemetry/api';
import { expect } from 'chai';
import { loadConfig } from '../../../src/config/index.js';
import { Runtime } from '../../../src/runtime/runtime.js';
import { createRedisAdapter } from '../../../instrumentations/redis/index.js';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { getClassification } from '../../../src/errors.js';
import { OtelHarness } from '../../helpers/otel.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { FAST_RETRIES, internalCallSpans, logicalCalls } from '../../helpers/redis-adapter.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import { compatVersion, requireCompat } from '../../compat/modules.js';

/** The parts of node-redis 4's API these tests use. */
interface V4Client {
  on(event: 'error', listener: (err: unknown) => void): unknown;
  once(event: 'error', listener: (err: unknown) => void): unknown;
  connect(): Promise<unknown>;
  disconnect(): Promise<void>;
  get(key: string): Promise<string | null>;
  get(options: object, key: string): Promise<string | null>;
  set(key: string, value: string): Promise<string | null>;
  incr(key: string): Promise<number>;
  sendCommand(args: string[]): Promise<unknown>;
  commandOptions(options: object): object;
  isReady: boolean;
  multi(): { set(k: string, v: string): ReturnType<V4Client['multi']>; incr(k: string): ReturnType<V4Client['multi']>; get(k: string): ReturnType<V4Client['multi']>; exec(): Promise<unknown[]>; execAsPipeline(): Promise<unknown[]> };
}
interface NodeRedis4 {
  createClient(options: object): V4Client;
}

describe('redis adapter: node-redis 4 (@redis/client 1.x) against a real server', function () {
  this.timeout(30_000);
  let server: RedisServer;
  let otel: OtelHarness;
  let adapter: Adapter;
  let redis: NodeRedis4;
  let proxy: FaultProxy;
  let counter: V4Client;
  const clients: V4Client[] = [];
  let key: string;

  before(async () => {
    server = await redisServer();
  });
  beforeEach(async () => {
    otel = new OtelHarness().install();
    adapter = createRedisAdapter(new Runtime(loadConfig({ ...FAST_RETRIES })));
    adapter.enable();
    redis = requireCompat<NodeRedis4>('older', 'redis');
    proxy = await startFaultProxy({ host: server.host, port: server.port });
    counter = await connected({ url: server.url });
    key = `bw:v4:${Math.random().toString(36).slice(2)}`;
    await counter.set(key, '0');
    otel.reset();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.disconnect().catch(() => {});
    await proxy.close();
    adapter.disable();
    await otel.uninstall();
  });

  async function connected(options: object): Promise<V4Client> {
    const client = redis.createClient(options);
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  }
  const viaProxy = () => ({ url: `redis://:${server.password}@127.0.0.1:${proxy.port}` });
  const breakwaterSpans = () => otel.spans().filter((s) => s.instrumentationScope.name === 'breakwater');
  /** The logical calls, each as its attempt spans and its last (which carries the call's outcome). */
  const calls = () => logicalCalls(otel.spans());

  /** Bytes the handshake (AUTH and friends) sends upstream, measured on a clean connection. */
  async function handshakeUp(): Promise<number> {
    const before = proxy.stats().bytesToUpstream;
    const probe = await connected(viaProxy());
    const up = proxy.stats().bytesToUpstream - before;
    await probe.disconnect();
    clients.splice(clients.indexOf(probe), 1);
    return up;
  }

  it('uses @redis/client 1.x', () => {
    expect(compatVersion('older', '@redis/client')).to.match(/^1\./);
  });

  it('wraps typed commands and sendCommand: one CLIENT attempt span each, with attributes, no call span', async () => {
    const client = await connected({ url: server.url, database: 3 });
    otel.reset();
    expect(await client.set(key, 'v')).to.equal('OK');
    expect(await client.get(key)).to.equal('v');
    expect(await client.sendCommand(['INCR', `${key}:n`])).to.equal(1);
    const attempts = breakwaterSpans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(attempts.map((s) => s.name)).to.deep.equal(['SET', 'GET', 'INCR']);
    for (const span of attempts) {
      expect(span.attributes['db.system.name']).to.equal('redis');
      expect(span.attributes['db.namespace']).to.equal('3');
      expect(span.attributes['server.address']).to.equal('127.0.0.1');
      expect(span.attributes['server.port']).to.equal(server.port);
      expect(span.attributes['db.operation.name']).to.equal(span.name);
      expect(span.attributes['resilience.target']).to.equal(`redis://127.0.0.1:${server.port}/3`);
    }
    expect(attempts.map((s) => s.attributes['db.query.text'])).to.deep.equal([`SET ${key} [1 other arguments]`, `GET ${key}`, `INCR ${key}:n`]);
    expect(calls().map((c) => c.attempts.length)).to.deep.equal([1, 1, 1]);
    expect(internalCallSpans(otel.spans())).to.have.length(0);
  });

  it('retries an idempotent GET after a connection reset, and it succeeds', async () => {
    await counter.set(key, 'hello');
    const up = await handshakeUp();
    await proxy.setFault({ kind: 'reset_after_request', afterBytes: up + 1 });
    const client = await connected(viaProxy());
    client.once('error', () => void proxy.setFault({ kind: 'none' }));
    otel.reset();
    expect(await client.get(key)).to.equal('hello');
    const [call] = calls();
    const attempts = call!.attempts;
    expect(attempts.map((s) => s.name)).to.deep.equal(['GET', 'GET']);
    expect(call!.last.attributes['resilience.outcome']).to.equal('success');
    expect(attempts.every((s) => s.kind === SpanKind.CLIENT)).to.equal(true);
  });

  it('does not retry a non-idempotent INCR after an ambiguous failure: ran once, not_idempotent recorded, the original error back', async () => {
    const up = await handshakeUp();
    await proxy.setFault({ kind: 'reset_after_request', afterBytes: up + 1 });
    const client = await connected(viaProxy());
    client.once('error', () => void proxy.setFault({ kind: 'none' }));
    otel.reset();
    const failure = await client.incr(key).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).to.be.instanceOf(Error);
    expect((failure as NodeJS.ErrnoException).code).to.equal('ECONNRESET');
    // The engine attaches its classification to the object it got from node-redis: the caller has that same object.
    expect(getClassification(failure)).to.not.equal(undefined);
    expect(Number(await counter.get(key)), 'INCRs counted server-side: exactly one').to.equal(1);
    const [call] = calls().filter((c) => c.attempts.some((a) => a.name === 'INCR'));
    expect(call!.attempts).to.have.length(1);
    expect(call!.last.attributes['resilience.retry.suppressed']).to.equal('not_idempotent');
    const metrics = await otel.collect();
    const suppressed = metrics.get('resilience.retries.suppressed')?.dataPoints ?? [];
    expect(suppressed.some((p) => Object.values(p.attributes).includes('not_idempotent'))).to.equal(true);
  });

  it('wraps scripts (EVALSHA, with its NOSCRIPT fallback) as one call with one attempt span', async () => {
    const scripted = requireCompat<{ defineScript(d: object): unknown }>('older', 'redis');
    const withScript = redis.createClient({
      url: server.url,
      scripts: { bump: scripted.defineScript({ NUMBER_OF_KEYS: 1, SCRIPT: "return redis.call('INCR', KEYS[1])", transformArguments: (k: string) => [k] }) },
    }) as V4Client & { bump(k: string): Promise<number> };
    withScript.on('error', () => {});
    clients.push(withScript);
    await withScript.connect();
    otel.reset();
    expect(await withScript.bump(key)).to.equal(1);
    const attempts = breakwaterSpans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(attempts.map((s) => s.name)).to.deep.equal(['EVALSHA']);
  });

  it('wraps module commands (createClient({ modules }), as RedisJSON and search are attached): one call each, retried like any command', async () => {
    const withModule = redis.createClient({
      ...viaProxy(),
      modules: { demo: { fetchValue: { FIRST_KEY_INDEX: 1, IS_READ_ONLY: true, transformArguments: (k: string) => ['GET', k] } } },
    }) as V4Client & { demo: { fetchValue(k: string): Promise<string | null> } };
    withModule.on('error', () => {});
    clients.push(withModule);
    await withModule.connect();
    await counter.set(key, 'module');
    const up = await handshakeUp();
    await proxy.setFault({ kind: 'reset_after_request', afterBytes: up + 1, connections: 1 });
    proxy.resetAll();
    await new Promise<void>((resolve) => setTimeout(resolve, 100));
    otel.reset();
    expect(await withModule.demo.fetchValue(key)).to.equal('module');
    const [call] = calls();
    expect(call!.attempts.map((s) => s.name)).to.deep.equal(['GET', 'GET']);
  });

  it('runs multi().exec() as one MULTI call, never replayed, and execAsPipeline() as one PIPELINE call', async () => {
    const client = await connected({ url: server.url });
    otel.reset();
    expect(await client.multi().set(key, '5').incr(key).get(key).exec()).to.deep.equal(['OK', 6, '6']);
    expect(await client.multi().get(key).incr(key).execAsPipeline()).to.deep.equal(['6', 7]);
    const attempts = breakwaterSpans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(attempts.map((s) => s.name)).to.deep.equal(['MULTI', 'PIPELINE']);
    expect(attempts[0]!.attributes['db.operation.batch.size']).to.equal(3);
  });

  it('does not replay a MULTI/EXEC cut after it was sent: ran once, in_transaction recorded', async () => {
    const up = await handshakeUp();
    await proxy.setFault({ kind: 'reset_after_request', afterBytes: up + 1 });
    const client = await connected(viaProxy());
    client.once('error', () => void proxy.setFault({ kind: 'none' }));
    otel.reset();
    const failure = await client.multi().incr(key).incr(key).exec().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).to.be.instanceOf(Error);
    // The proxy forwards the whole written chunk (MULTI, INCR, INCR, EXEC) before the RST:
    // the transaction ran exactly once (2), neither lost (0) nor replayed (4).
    expect(Number(await counter.get(key)), 'the MULTI ran exactly once').to.equal(2);
    const [call] = calls().filter((c) => c.attempts.some((a) => a.name === 'MULTI'));
    expect(call!.attempts).to.have.length(1);
    expect(call!.last.attributes['resilience.retry.suppressed']).to.equal('in_transaction');
  });

  it('a typed command or sendCommand that timed out in the offline queue runs later, once: node-redis 4 gets no attempt signal', async () => {
    await proxy.setFault({ kind: 'refuse' });
    const client = redis.createClient({ ...viaProxy(), socket: { reconnectStrategy: () => 20 } });
    client.on('error', () => {});
    clients.push(client);
    void client.connect().catch(() => {});
    const typed = await client.incr(key).then(
      () => undefined,
      (err: unknown) => err as { code?: string },
    );
    const raw = await client.sendCommand(['INCR', key]).then(
      () => undefined,
      (err: unknown) => err as { code?: string },
    );
    expect([typed?.code, raw?.code]).to.deep.equal(['BREAKWATER_TIMEOUT', 'BREAKWATER_TIMEOUT']);
    await proxy.setFault({ kind: 'none' });
    const started = Date.now();
    while (!client.isReady && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(client.isReady, 'reconnected').to.equal(true);
    expect(await client.get(key)).to.equal('2'); // the queue went out in order, before this GET
    expect(Number(await counter.get(key)), 'each INCR ran once, late; none was retried').to.equal(2);
    await client.disconnect(); // the queue is sound: node-redis 4 can still close the client
    clients.splice(clients.indexOf(client), 1);
  });

  it('keeps the caller\'s own commandOptions and signal: an aborted signal rejects with node-redis\'s AbortError', async () => {
    const client = await connected({ url: server.url });
    await counter.set(key, 'v');
    expect(await client.get(client.commandOptions({ returnBuffers: true }), key)).to.deep.equal(Buffer.from('v'));
    const controller = new AbortController();
    controller.abort();
    const failure = await client.get(client.commandOptions({ signal: controller.signal }), key).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure?.constructor.name).to.equal('AbortError');
    expect(failure?.message).to.equal('The command was aborted');
  });

  describe('legacy mode (legacyMode: true, callbacks)', () => {
    type Callback = (err: (Error & { code?: string }) | null, reply?: unknown) => void;
    interface LegacyClient {
      on(event: 'error', listener: (err: unknown) => void): unknown;
      connect(): Promise<unknown>;
      disconnect(): Promise<void>;
      isReady: boolean;
      get(key: string, cb: Callback): void;
      incr(key: string, cb: Callback): void;
      hSet(key: string, field: string, value: string, cb: Callback): void;
      hGetAll(key: string, cb: Callback): void;
      hgetall(key: string, cb: Callback): void;
      sendCommand(...args: unknown[]): void;
    }
    const legacyClients: LegacyClient[] = [];
    afterEach(async () => {
      for (const c of legacyClients.splice(0)) await c.disconnect().catch(() => {});
    });

    async function legacy(options: object, ready = true): Promise<LegacyClient> {
      const client = redis.createClient({ ...options, legacyMode: true }) as unknown as LegacyClient;
      client.on('error', () => {});
      legacyClients.push(client);
      const connecting = client.connect();
      if (ready) await connecting;
      else connecting.catch(() => {});
      return client;
    }
    const call = (fn: (cb: Callback) => void) =>
      new Promise<{ err: (Error & { code?: string }) | null; reply?: unknown }>((resolve) => fn((err, reply) => resolve({ err, reply })));

    it('wraps callback commands: a GET cut after it was sent is retried, an INCR is not (ran once, the caller gets ECONNRESET)', async () => {
      await counter.set(`${key}:g`, 'hello');
      const up = await handshakeUp();
      await proxy.setFault({ kind: 'reset_after_request', afterBytes: up + 1, connections: 1 });
      const client = await legacy(viaProxy());
      otel.reset();
      expect(await call((cb) => client.get(`${key}:g`, cb))).to.deep.equal({ err: null, reply: 'hello' });
      const [getCall] = calls();
      expect(getCall!.attempts.map((s) => [s.name, s.kind])).to.deep.equal([
        ['GET', SpanKind.CLIENT],
        ['GET', SpanKind.CLIENT],
      ]);

      await proxy.setFault({ kind: 'reset_after_request', afterBytes: up + 1, connections: 1 });
      proxy.resetAll(); // the next command goes out on a new connection, which meets the fault
      await new Promise<void>((resolve) => setTimeout(resolve, 100));
      otel.reset();
      const incr = await call((cb) => client.incr(key, cb));
      expect(incr.err?.code).to.equal('ECONNRESET');
      expect(Number(await counter.get(key)), 'INCR counted server-side: exactly one').to.equal(1);
      const [incrCall] = calls();
      expect(incrCall!.attempts).to.have.length(1);
      expect(incrCall!.last.attributes['resilience.retry.suppressed']).to.equal('not_idempotent');
    });

    it('keeps the legacy reply shapes: HGETALL (and its alias hgetall) as an object, sendCommand with a callback', async () => {
      const client = await legacy({ url: server.url });
      otel.reset();
      expect((await call((cb) => client.hSet(`${key}:h`, 'a', '1', cb))).reply).to.equal(1);
      expect((await call((cb) => client.hGetAll(`${key}:h`, cb))).reply).to.deep.equal({ a: '1' });
      expect((await call((cb) => client.hgetall(`${key}:h`, cb))).reply).to.deep.equal({ a: '1' });
      expect((await call((cb) => client.sendCommand('HGET', `${key}:h`, 'a', cb))).reply).to.equal('1');
      expect(breakwaterSpans().filter((s) => s.kind === SpanKind.CLIENT).map((s) => s.name)).to.deep.equal(['HSET', 'HGETALL', 'HGETALL', 'HGET']);
    });

    it('without a callback, a failure reaches the client\'s error event, as without breakwater', async () => {
      const client = await legacy({ url: server.url });
      const errors: Error[] = [];
      client.on('error', (err) => errors.push(err as Error));
      await counter.set(`${key}:s`, 'text');
      client.sendCommand('INCR', `${key}:s`);
      const started = Date.now();
      while (errors.length === 0 && Date.now() - started < 3000) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(errors.map((e) => e.message)).to.deep.equal(['ERR value is not an integer or out of range']);
    });

    it('a legacy INCR that timed out in the offline queue runs later, once, and the client still closes', async () => {
      await proxy.setFault({ kind: 'refuse' });
      const client = await legacy({ ...viaProxy(), socket: { reconnectStrategy: () => 20 } }, false);
      const incr = await call((cb) => client.incr(key, cb));
      expect(incr.err?.code).to.equal('BREAKWATER_TIMEOUT');
      await proxy.setFault({ kind: 'none' });
      const started = Date.now();
      while (!client.isReady && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 10));
      expect((await call((cb) => client.get(key, cb))).reply).to.equal('1');
      expect(Number(await counter.get(key)), 'ran once, late').to.equal(1);
      await client.disconnect();
      legacyClients.splice(legacyClients.indexOf(client), 1);
    });
  });

  it('gives back the user\'s original error object (a server error reply) and never records the URL password', async () => {
    const client = await connected(viaProxy());
    await client.set(key, 'text');
    const failure = await client.incr(key).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).to.be.instanceOf(Error);
    expect((failure as Error).message).to.match(/^ERR /);
    expect((failure as Error).constructor.name).to.equal('ErrorReply');
    await proxy.setFault({ kind: 'reset_after_request' });
    proxy.resetAll();
    await client.get(key).catch(() => {});
    await proxy.setFault({ kind: 'none' });
    const metrics = await otel.collect();
    const exported = JSON.stringify({ spans: otel.spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })), metrics: [...metrics.entries()] });
    expect(exported).to.not.include(server.password);
    expect((failure as Error).message).to.not.include(server.password);
  });
});
