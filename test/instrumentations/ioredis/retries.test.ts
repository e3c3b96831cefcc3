import { context, SpanKind } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { expect } from 'chai';
import type { Redis as RedisClient } from 'ioredis';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { getClassification } from '../../../src/errors.js';
import { idempotent } from '../../../src/runtime/idempotency.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import type { FaultProxy } from '../../helpers/fault-proxy.js';
import { OtelHarness, pointValue } from '../../helpers/otel.js';
import { client, enableIoredis, IOREDIS_VERSIONS, testRuntime, uniqueKey, waitReady, type IoredisModule } from '../../helpers/ioredis-setup.js';
import { clientWithFirstConnectionFault, eventually, measureHandshake, newProxy, type Handshake } from '../../helpers/ioredis-faults.js';

for (const version of IOREDIS_VERSIONS) {
  describe(`ioredis adapter: retries, and one layer of them (${version.name})`, function () {
    this.timeout(30_000);
    let server: RedisServer;
    let otel: OtelHarness;
    let adapter: Adapter;
    let ioredis: IoredisModule;
    let proxy: FaultProxy;
    let direct: RedisClient; // counts side effects, not through the proxy
    let handshake: Handshake;
    const clients: RedisClient[] = [];

    before(async function () {
      this.timeout(600_000);
      server = await redisServer();
      otel = new OtelHarness().install();
      ({ adapter, ioredis } = enableIoredis(testRuntime({ BREAKWATER_TIMEOUT_MS: '2000' }), version));
      proxy = await newProxy(server);
      direct = client(ioredis.Redis, { host: server.host, port: server.port, password: server.password });
      await waitReady(direct);
      handshake = await measureHandshake(ioredis.Redis, proxy, server);
    });

    after(async () => {
      for (const c of clients) c.disconnect();
      direct.disconnect();
      await proxy.close();
      adapter.disable();
      await otel.uninstall();
    });

    beforeEach(() => otel.reset());

    async function faulty(fault: Parameters<FaultProxy['setFault']>[0], extra = {}): Promise<RedisClient> {
      const c = await clientWithFirstConnectionFault(ioredis.Redis, proxy, server, fault, extra);
      clients.push(c);
      return c;
    }

    const settle = <T>(p: Promise<T>) =>
      p.then(
        (value) => ({ value, error: undefined as unknown }),
        (error: unknown) => ({ value: undefined as T | undefined, error }),
      );

    function attemptSpans(operation: string) {
      return otel.spans().filter((s) => s.instrumentationScope.name === 'breakwater' && s.name === operation);
    }

    it('GET whose connection is reset after the request was sent is retried and succeeds (two attempt spans of one call)', async () => {
      const key = uniqueKey('get-reset');
      await direct.set(key, 'value');
      const redis = await faulty({ kind: 'reset_after_request', afterBytes: handshake.up + 1 });
      expect(await redis.get(key)).to.equal('value');
      const attempts = attemptSpans('GET');
      expect(attempts).to.have.length(2);
      expect(attempts.map((s) => s.attributes['resilience.attempt'])).to.deep.equal([1, 2]);
      // One call: the first attempt's span says a retry followed, the last one how the call ended.
      expect(attempts[0]!.events.map((e) => e.name)).to.deep.equal(['resilience.retry.scheduled']);
      expect(attempts.map((s) => s.attributes['resilience.outcome'])).to.deep.equal(['failure', 'success']);
      expect(attempts[0]!.attributes['resilience.error.category']).to.equal('network');
      expect(attempts.every((s) => s.kind === SpanKind.CLIENT)).to.equal(true);
    });

    it('INCR cut mid-response: not retried by breakwater, not re-sent by ioredis; the counter moved by exactly 1', async () => {
      const key = uniqueKey('incr-cut');
      const redis = await faulty({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
      const { value, error } = await settle(redis.incr(key));
      expect(value).to.equal(undefined);
      expect((error as Error).message).to.equal('Command aborted due to connection close');
      expect(getClassification(error)?.category).to.equal('network');
      // ioredis reconnects; nothing of ours is sent again.
      await eventually(() => redis.status === 'ready', 5000, 'reconnected');
      expect(await redis.ping()).to.equal('PONG');
      expect(await direct.get(key)).to.equal('1');
      expect(attemptSpans('INCR')).to.have.length(1);
      // The call's only (so last) attempt says why no retry followed.
      expect(attemptSpans('INCR')[0]!.attributes['resilience.retry.suppressed']).to.equal('not_idempotent');
      const metrics = await otel.collect();
      expect(pointValue(metrics.get('resilience.retries.suppressed'), { 'resilience.retry.suppressed': 'not_idempotent', 'resilience.client': 'ioredis' })).to.be.greaterThan(0);
    });

    it('callback form: a GET retried after a cut calls its callback once, with the reply', async () => {
      const key = uniqueKey('get-cb');
      await direct.set(key, 'cb');
      const redis = await faulty({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
      const calls: unknown[][] = [];
      await new Promise<void>((resolve) =>
        redis.get(key, (...args: unknown[]) => {
          calls.push(args);
          resolve();
        }),
      );
      await redis.ping(); // a second call of the callback would have come by now
      expect(calls).to.deep.equal([[null, 'cb']]);
      expect(attemptSpans('GET')).to.have.length(2);
    });

    it('ioredis commandTimeout: each attempt has its own; a GET is retried, an INCR is not, the caller gets ioredis\'s error', async () => {
      const key = uniqueKey('command-timeout');
      const redis = await faulty({ kind: 'delay', ms: 150 });
      redis.options.commandTimeout = 50; // after the set-up, which it would time out too
      const get = await settle(redis.get(key));
      expect((get.error as Error).message).to.equal('Command timed out');
      expect(getClassification(get.error)?.category).to.equal('timeout');
      expect(attemptSpans('GET')).to.have.length(3);
      const incr = await settle(redis.incr(key));
      expect((incr.error as Error).message).to.equal('Command timed out');
      expect(attemptSpans('INCR')).to.have.length(1);
      await eventually(async () => (await direct.get(key)) === '1', 5000, 'the INCR reached the server');
      redis.disconnect();
      expect(await direct.get(key)).to.equal('1');
    });

    it('control: the same cut INCR sent past breakwater (tracing suppressed) is re-sent by ioredis and counted twice', async () => {
      const key = uniqueKey('incr-control');
      const redis = await faulty({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
      const reply = await context.with(suppressTracing(context.active()), () => redis.incr(key));
      expect(reply).to.equal(2);
      expect(await direct.get(key)).to.equal('2');
    });

    it('INCR reset after the request was sent: the caller gets the error, the counter moved by exactly 1', async () => {
      const key = uniqueKey('incr-reset');
      const redis = await faulty({ kind: 'reset_after_request', afterBytes: handshake.up + 1 });
      const { error } = await settle(redis.incr(key));
      expect((error as Error).message).to.equal('Command aborted due to connection close');
      await eventually(() => redis.status === 'ready', 5000, 'reconnected');
      await redis.ping();
      expect(await direct.get(key)).to.equal('1');
    });

    it('idempotent(() => redis.incr(k)) is retried after the cut: the caller gets a reply, the counter moved by 2 (the caller said so)', async () => {
      const key = uniqueKey('incr-marked');
      const redis = await faulty({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
      const reply = await idempotent(() => redis.incr(key));
      expect(reply).to.equal(2);
      expect(await direct.get(key)).to.equal('2');
      expect(attemptSpans('INCR')).to.have.length(2);
    });

    it('idempotent(fn, false) stops a read from being retried', async () => {
      const key = uniqueKey('get-unmarked');
      const redis = await faulty({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
      const { error } = await settle(idempotent(() => redis.get(key), false));
      expect((error as Error).message).to.equal('Command aborted due to connection close');
      expect(attemptSpans('GET')).to.have.length(1);
    });

    it('a pipeline of reads is retried whole after a cut; the caller\'s pipeline resolves once', async () => {
      const key = uniqueKey('pipe-read');
      await direct.set(key, 'p');
      const redis = await faulty({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
      const perCommand: unknown[] = [];
      const results = await redis
        .pipeline()
        .get(key, (err, v) => perCommand.push([err, v]))
        .strlen(key)
        .exec();
      expect(results).to.deep.equal([
        [null, 'p'],
        [null, 1],
      ]);
      expect(perCommand).to.deep.equal([[null, 'p']]);
      expect(attemptSpans('PIPELINE')).to.have.length(2);
    });

    it('a pipeline holding an INCR is not retried (not_idempotent) and ioredis does not re-send it: counted once', async () => {
      const key = uniqueKey('pipe-incr');
      const redis = await faulty({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
      const results = (await redis.pipeline().incr(key).get(key).exec()) as Array<[Error | null, unknown]>;
      expect(results.every(([err]) => err instanceof Error)).to.equal(true);
      await eventually(() => redis.status === 'ready', 5000, 'reconnected');
      await redis.ping();
      expect(await direct.get(key)).to.equal('1');
      expect(attemptSpans('PIPELINE')).to.have.length(1);
      expect(attemptSpans('PIPELINE').at(-1)!.attributes['resilience.retry.suppressed']).to.equal('not_idempotent');
    });

    it('maxRetriesPerRequest: each flush of the offline queue ends one attempt; never sent, so retried; the caller gets ioredis\'s MaxRetriesPerRequestError', async () => {
      const key = uniqueKey('max-retries');
      await proxy.setFault({ kind: 'refuse' });
      const redis = client(ioredis.Redis, { host: proxy.host, port: proxy.port, password: server.password, maxRetriesPerRequest: 1 });
      clients.push(redis);
      try {
        const { error } = await settle(redis.incr(key));
        expect((error as Error).name).to.equal('MaxRetriesPerRequestError');
        expect(getClassification(error)?.category).to.equal('network');
        expect(attemptSpans('INCR')).to.have.length(3); // BREAKWATER_RETRY_MAX_ATTEMPTS default
      } finally {
        await proxy.setFault({ kind: 'none' });
      }
      await eventually(() => redis.status === 'ready', 5000, 'reconnected');
      await redis.ping();
      expect(await direct.get(key)).to.equal(null);
    });

    it('MULTI cut mid-response is never retried (in_transaction) and never re-sent', async () => {
      const key = uniqueKey('multi-cut');
      const redis = await faulty({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
      const { error } = await settle(redis.multi().incr(key).exec());
      expect(error).to.be.instanceOf(Error);
      await eventually(() => redis.status === 'ready', 5000, 'reconnected');
      await redis.ping();
      expect(await direct.get(key)).to.equal('1'); // the server ran it once; the reply was lost
      expect(attemptSpans('MULTI').at(-1)!.attributes['resilience.retry.suppressed']).to.equal('in_transaction');
    });
  });
}
