import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import { idempotent } from '../../../src/runtime/idempotency.js';
import { getClassification } from '../../../src/errors.js';
import { OtelHarness } from '../../helpers/otel.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import { connectedClient, dropClient, enableRedisAdapter, internalCallSpans, logicalCalls, type RedisAdapterSetup, type RedisClient } from '../../helpers/redis-adapter.js';

const CLIENT_SPAN_ATTRIBUTES = ['db.system.name', 'db.namespace', 'db.operation.name', 'server.address', 'server.port'];

describe('redis adapter (node-redis): commands, multi and pipelines against a real server', function () {
  this.timeout(30_000);
  let server: RedisServer;
  let otel: OtelHarness;
  let setup: RedisAdapterSetup;
  let client: RedisClient | undefined;
  let key: string;

  before(async () => {
    server = await redisServer();
  });
  beforeEach(() => {
    otel = new OtelHarness().install();
    setup = enableRedisAdapter();
    key = `bw:nredis:${Math.random().toString(36).slice(2)}`;
  });
  afterEach(async () => {
    await dropClient(client);
    client = undefined;
    setup.adapter.disable();
    await otel.uninstall();
  });

  const attemptSpans = () => otel.spans().filter((s) => s.instrumentationScope.name === 'breakwater' && s.kind !== SpanKind.INTERNAL);
  /** The last span of each logical call: the call's outcome and suppression reason are on it. */
  const lastAttempts = () => logicalCalls(otel.spans()).map((call) => call.last);

  it('wraps typed commands: one CLIENT attempt span named after the command, no call span', async () => {
    client = await connectedClient(setup.redis, { url: server.url, database: 2 });
    otel.reset();
    expect(await client.set(key, 'v')).to.equal('OK');
    expect(await client.get(key)).to.equal('v');
    const spans = attemptSpans();
    expect(spans.map((s) => s.name)).to.deep.equal(['SET', 'GET']);
    for (const span of spans) {
      expect(span.kind).to.equal(SpanKind.CLIENT);
      expect(Object.keys(span.attributes)).to.include.members(CLIENT_SPAN_ATTRIBUTES);
      expect(span.attributes['db.system.name']).to.equal('redis');
      expect(span.attributes['db.namespace']).to.equal('2');
      expect(span.attributes['server.address']).to.equal('127.0.0.1');
      expect(span.attributes['server.port']).to.equal(server.port);
      // A child of the caller's context (a root here: the caller has no span), attempt 1 of its call.
      expect(span.parentSpanContext).to.equal(undefined);
      expect(span.attributes['resilience.attempt']).to.equal(1);
      expect(span.attributes['resilience.target']).to.equal(`redis://127.0.0.1:${server.port}/2`);
    }
    expect(spans[1]!.attributes['db.operation.name']).to.equal('GET');
    expect(spans.map((s) => s.attributes['db.query.text'])).to.deep.equal([`SET ${key} [1 other arguments]`, `GET ${key}`]);
    expect(internalCallSpans(otel.spans())).to.have.length(0);
  });

  it('wraps client.sendCommand([...]) the same way', async () => {
    client = await connectedClient(setup.redis, { url: server.url });
    otel.reset();
    expect(await client.sendCommand(['SET', key, '1'])).to.equal('OK');
    expect(await client.sendCommand(['INCR', key])).to.equal(2);
    expect(attemptSpans().map((s) => s.name)).to.deep.equal(['SET', 'INCR']);
  });

  it('runs multi().exec() as one call with one MULTI span, its commands not wrapped one by one', async () => {
    client = await connectedClient(setup.redis, { url: server.url });
    otel.reset();
    const replies = await client.multi().set(key, '5').incr(key).get(key).exec();
    expect(replies).to.deep.equal(['OK', 6, '6']);
    const spans = attemptSpans();
    expect(spans.map((s) => s.name)).to.deep.equal(['MULTI']);
    expect(spans[0]!.attributes['db.operation.name']).to.equal('MULTI');
    expect(spans[0]!.attributes['db.operation.batch.size']).to.equal(3);
  });

  it('runs multi().execAsPipeline() as one call with one PIPELINE span', async () => {
    client = await connectedClient(setup.redis, { url: server.url });
    otel.reset();
    const replies = await client.multi().set(key, 'a').get(key).execAsPipeline();
    expect(replies).to.deep.equal(['OK', 'a']);
    expect(attemptSpans().map((s) => s.name)).to.deep.equal(['PIPELINE']);
  });

  it('gives a Redis error reply back as is, classified, and does not retry it', async () => {
    client = await connectedClient(setup.redis, { url: server.url });
    await client.set(key, 'text');
    otel.reset();
    const error = await client.incr(key).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.constructor.name).to.equal('SimpleError');
    expect(error?.message).to.match(/^ERR value is not an integer/);
    expect(getClassification(error)?.category).to.equal('validation');
    expect(attemptSpans()).to.have.length(1);
    expect(attemptSpans()[0]!.status.code).to.equal(SpanStatusCode.ERROR);
    expect(attemptSpans()[0]!.attributes).to.include({ 'db.response.status_code': 'ERR', 'error.type': 'ERR' });
  });

  it("gives the caller's abort back as node-redis's own AbortError, never retried", async () => {
    client = await connectedClient(setup.redis, { url: server.url });
    otel.reset();
    const controller = new AbortController();
    controller.abort();
    const error = await client
      .withAbortSignal(controller.signal)
      .get(key)
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.constructor.name).to.equal('AbortError');
    expect(error?.message).to.equal('The command was aborted');
    expect(getClassification(error)?.category).to.equal('cancelled');
    expect(attemptSpans()).to.have.length(1);
  });

  it('retries a command on a closed client ("never left"), then gives back the client\'s ClientClosedError', async () => {
    client = await connectedClient(setup.redis, { url: server.url });
    client.destroy();
    otel.reset();
    const error = await client.incr(key).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.constructor.name).to.equal('ClientClosedError');
    expect(error?.message).to.equal('The client is closed');
    expect(attemptSpans()).to.have.length(3);
    expect(lastAttempts().map((s) => s.attributes['resilience.retry.suppressed'])).to.deep.equal(['max_attempts']);
  });

  it('leaves the hooks to the adapter enabled last (a second runtime takes over, none stacks)', async () => {
    const second = enableRedisAdapter();
    try {
      client = await connectedClient(second.redis, { url: server.url });
      otel.reset();
      await client.get(key);
      expect(second.runtime.circuits().map((c) => c.target)).to.deep.equal([`redis://127.0.0.1:${server.port}/0`]);
      expect(setup.runtime.circuits()).to.deep.equal([]);
      expect(attemptSpans()).to.have.length(1);
    } finally {
      second.adapter.disable();
    }
  });

  describe('through a fault proxy', () => {
    let proxy: FaultProxy;
    beforeEach(async () => {
      proxy = await startFaultProxy({ host: server.host, port: server.port });
    });
    afterEach(async () => {
      await proxy.close();
    });

    const viaProxy = () => ({ url: `redis://:${server.password}@127.0.0.1:${proxy.port}` });

    /** The next connection the client makes is cut as soon as its first command (after the handshake) reaches the server. */
    async function cutNextCommand(c: RedisClient, handshakeBytes: number): Promise<void> {
      await proxy.setFault({ kind: 'reset_after_request', afterBytes: handshakeBytes + 1 });
      // The fault applies to new connections: drop the current one, wait for the faulty one.
      const ready = new Promise<void>((resolve) => c.once('ready', () => resolve()));
      proxy.resetAll();
      await ready;
      // One cut only: the reconnection after it is clean.
      c.once('error', () => void proxy.setFault({ kind: 'none' }));
    }

    async function handshakeBytes(): Promise<number> {
      const before = proxy.stats().bytesToUpstream;
      const probe = await connectedClient(setup.redis, viaProxy());
      const bytes = proxy.stats().bytesToUpstream - before;
      await dropClient(probe);
      return bytes;
    }

    it('retries a GET whose connection was reset after it was sent, and it succeeds', async () => {
      const bytes = await handshakeBytes();
      client = await connectedClient(setup.redis, viaProxy());
      await client.set(key, 'kept');
      await cutNextCommand(client, bytes);
      otel.reset();
      expect(await client.get(key)).to.equal('kept');
      const spans = attemptSpans().filter((s) => s.name === 'GET');
      expect(spans).to.have.length(2);
      expect(spans[0]!.status.code).to.equal(SpanStatusCode.ERROR);
      expect(spans[0]!.attributes['resilience.error.category']).to.equal('network');
      expect(spans[1]!.attributes['resilience.attempt']).to.equal(2);
    });

    it('does not retry an INCR reset after it was sent: the caller gets the error, the counter moved once', async () => {
      const bytes = await handshakeBytes();
      client = await connectedClient(setup.redis, viaProxy());
      const counter = await connectedClient(setup.redis, { url: server.url });
      try {
        await counter.set(key, '0');
        await cutNextCommand(client, bytes);
        otel.reset();
        const error = await client.incr(key).then(
          () => undefined,
          (e: unknown) => e as Error & { code?: string },
        );
        expect(error, 'the caller gets the error').to.be.instanceOf(Error);
        expect(error?.code).to.equal('ECONNRESET');
        expect(getClassification(error)?.category).to.equal('network');
        expect(await counter.get(key), 'run once, not twice').to.equal('1');
        const incr = attemptSpans().filter((s) => s.name === 'INCR');
        expect(incr).to.have.length(1);
        expect(incr[0]!.attributes['resilience.retry.suppressed']).to.equal('not_idempotent'); // the call's last attempt
        const metrics = await otel.collect();
        const suppressed = metrics.get('resilience.retries.suppressed')?.dataPoints.find((p) => p.attributes['resilience.retry.suppressed'] === 'not_idempotent');
        expect(suppressed?.value).to.equal(1);
      } finally {
        await dropClient(counter);
      }
    });

    it('retries INCR after a reset when the caller marked it idempotent(() => ...)', async () => {
      const bytes = await handshakeBytes();
      client = await connectedClient(setup.redis, viaProxy());
      const counter = await connectedClient(setup.redis, { url: server.url });
      try {
        await counter.set(key, '0');
        await cutNextCommand(client, bytes);
        otel.reset();
        const c = client;
        const reply = await idempotent(() => c.incr(key));
        expect(reply, 'the replay ran it a second time, as the caller allowed').to.equal(2);
        expect(await counter.get(key)).to.equal('2');
        expect(attemptSpans().filter((s) => s.name === 'INCR')).to.have.length(2);
      } finally {
        await dropClient(counter);
      }
    });

    it('never replays multi().exec() cut after it was sent (in_transaction)', async () => {
      const bytes = await handshakeBytes();
      client = await connectedClient(setup.redis, viaProxy());
      await cutNextCommand(client, bytes);
      otel.reset();
      const error = await client
        .multi()
        .get(key)
        .exec()
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(error).to.be.instanceOf(Error);
      expect(attemptSpans().filter((s) => s.name === 'MULTI')).to.have.length(1);
      expect(lastAttempts().at(-1)?.attributes['resilience.retry.suppressed']).to.equal('in_transaction');
    });

    it('replays nothing sent after a raw sendCommand([\'MULTI\']) on that connection, and forgets it with the connection', async () => {
      const bytes = await handshakeBytes();
      client = await connectedClient(setup.redis, viaProxy());
      await cutNextCommand(client, bytes);
      otel.reset();
      const c = client;
      const [multi, set] = await Promise.allSettled([c.sendCommand(['MULTI']), c.sendCommand(['SET', key, 'queued'])]);
      expect(multi.status).to.equal('rejected');
      expect(set.status, 'a SET queued in the transaction is not replayed outside it').to.equal('rejected');
      expect(attemptSpans().map((s) => s.name)).to.deep.equal(['MULTI', 'SET']);
      // Two calls of one attempt each: each attempt is its call's last.
      expect(attemptSpans().map((p) => p.attributes['resilience.attempt'])).to.deep.equal([1, 1]);
      expect(attemptSpans().map((p) => p.attributes['resilience.retry.suppressed'])).to.deep.equal(['in_transaction', 'in_transaction']);
      // The server forgot the MULTI with the connection: on the new one a cut GET is replayed again.
      await cutNextCommand(client, bytes);
      otel.reset();
      expect(await client.get(key)).to.equal(null);
      expect(attemptSpans().filter((s) => s.name === 'GET')).to.have.length(2);
    });

    it('retries a pipeline of reads and idempotent writes, not one holding an INCR', async () => {
      const bytes = await handshakeBytes();
      client = await connectedClient(setup.redis, viaProxy());
      await cutNextCommand(client, bytes);
      otel.reset();
      expect(await client.multi().set(key, 'p').get(key).execAsPipeline()).to.deep.equal(['OK', 'p']);
      expect(attemptSpans().filter((s) => s.name === 'PIPELINE')).to.have.length(2);

      await cutNextCommand(client, bytes);
      otel.reset();
      const error = await client
        .multi()
        .get(key)
        .incr(`${key}:n`)
        .execAsPipeline()
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(error).to.be.instanceOf(Error);
      expect(attemptSpans().filter((s) => s.name === 'PIPELINE')).to.have.length(1);
      expect(lastAttempts().at(-1)?.attributes['resilience.retry.suppressed']).to.equal('not_idempotent');
    });
  });
});
