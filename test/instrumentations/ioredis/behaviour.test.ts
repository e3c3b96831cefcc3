import { context, SpanKind, trace } from '@opentelemetry/api';
import { expect } from 'chai';
import type { Redis as RedisClient } from 'ioredis';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import { OtelHarness } from '../../helpers/otel.js';
import { client, enableIoredis, IOREDIS_VERSIONS, testRuntime, uniqueKey, waitReady, type IoredisModule } from '../../helpers/ioredis-setup.js';

for (const version of IOREDIS_VERSIONS) {
  describe(`ioredis adapter: commands, pipelines and MULTI behave as without breakwater (${version.name})`, function () {
    this.timeout(30_000);
    let server: RedisServer;
    let otel: OtelHarness;
    let adapter: Adapter;
    let ioredis: IoredisModule;
    let redis: RedisClient;

    before(async function () {
      this.timeout(600_000); // may install redis-server
      server = await redisServer();
      otel = new OtelHarness().install();
      ({ adapter, ioredis } = enableIoredis(testRuntime(), version));
      redis = client(ioredis.Redis, { host: server.host, port: server.port, password: server.password, db: 2 });
      await waitReady(redis);
    });

    after(async () => {
      redis.disconnect();
      adapter.disable();
      await otel.uninstall();
    });

    beforeEach(() => otel.reset());

    function attemptSpans() {
      return otel.spans().filter((s) => s.instrumentationScope.name === 'breakwater' && s.kind !== SpanKind.INTERNAL);
    }

    it('promise form: GET after SET returns the value, with one CLIENT attempt span per command, no call span', async () => {
      const key = uniqueKey('get');
      expect(await redis.set(key, 'v1')).to.equal('OK');
      expect(await redis.get(key)).to.equal('v1');
      const spans = otel.spans();
      const attempts = attemptSpans();
      expect(attempts.map((s) => s.name)).to.deep.equal(['SET', 'GET']);
      const get = attempts[1]!;
      expect(get.kind).to.equal(SpanKind.CLIENT);
      expect(get.attributes).to.include({
        'db.system.name': 'redis',
        'db.namespace': '2',
        'db.operation.name': 'get', // as ioredis holds it, as the official instrumentation records it
        'db.query.text': `get ${key}`,
        'server.address': server.host,
        'server.port': server.port,
        'resilience.client': 'ioredis',
        'resilience.target': `redis://${server.host}:${server.port}/2`,
        'resilience.attempt': 1,
        'resilience.outcome': 'success',
      });
      // The SET's value is masked, as the official serializer masks it.
      expect(attempts[0]!.attributes['db.query.text']).to.equal(`set ${key} [1 other arguments]`);
      // No call span by default: the attempt is the caller's child (here a root: the caller has none).
      expect(get.parentSpanContext).to.equal(undefined);
      expect(spans.filter((s) => s.instrumentationScope.name === 'breakwater' && s.kind === SpanKind.INTERNAL)).to.have.length(0);
    });

    it('callback form: the callback gets (null, reply) once, in the caller\'s context', async () => {
      const key = uniqueKey('cb');
      await redis.set(key, '7');
      const calls: unknown[][] = [];
      const callerSpan = trace.getTracer('test').startSpan('caller');
      let spanInCallback: unknown;
      await new Promise<void>((resolve) => {
        context.with(trace.setSpan(context.active(), callerSpan), () =>
          redis.get(key, (...args: unknown[]) => {
            calls.push(args);
            spanInCallback = trace.getSpan(context.active());
            resolve();
          }),
        );
      });
      callerSpan.end();
      expect(calls).to.deep.equal([[null, '7']]);
      expect(spanInCallback).to.equal(callerSpan);
    });

    it('reply transformers and encodings apply once: HGETALL gives an object, getBuffer a Buffer', async () => {
      const key = uniqueKey('hash');
      await redis.hset(key, { a: '1', b: '2' });
      expect(await redis.hgetall(key)).to.deep.equal({ a: '1', b: '2' });
      const skey = uniqueKey('buf');
      await redis.set(skey, 'bytes');
      const buffer = await redis.getBuffer(skey);
      expect(Buffer.isBuffer(buffer)).to.equal(true);
      expect(buffer?.toString()).to.equal('bytes');
    });

    it('a reply error reaches the caller as ioredis\'s own ReplyError (same class, message), not retried', async () => {
      const key = uniqueKey('wrongtype');
      await redis.lpush(key, 'x');
      otel.reset();
      const error = await redis.get(key).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf((ioredis as unknown as { ReplyError: new () => Error }).ReplyError);
      expect((error as Error).message).to.match(/^WRONGTYPE/);
      expect(attemptSpans()).to.have.length(1);
      const callbackError = await new Promise<unknown>((resolve) => redis.get(key, (e) => resolve(e)));
      expect((callbackError as Error).message).to.match(/^WRONGTYPE/);
    });

    it('a pipeline is one logical call (one PIPELINE attempt span, its commands not wrapped one by one)', async () => {
      const key = uniqueKey('pipe');
      const perCommand: unknown[] = [];
      const results = await redis
        .pipeline()
        .set(key, '1')
        .incr(key, (err, value) => perCommand.push([err, value]))
        .get(key)
        .hgetall(uniqueKey('empty'))
        .exec();
      expect(results).to.deep.equal([
        [null, 'OK'],
        [null, 2],
        [null, '2'],
        [null, {}],
      ]);
      expect(perCommand).to.deep.equal([[null, 2]]);
      const attempts = attemptSpans();
      expect(attempts.map((s) => s.name)).to.deep.equal(['PIPELINE']);
      expect(attempts[0]!.attributes).to.include({ 'db.operation.name': 'PIPELINE', 'db.operation.batch.size': 4 });
    });

    it('pipeline exec with a callback, and an error reply inside a pipeline stays in its slot', async () => {
      const key = uniqueKey('pipecb');
      await redis.lpush(key, 'x');
      const results = await new Promise<unknown>((resolve, reject) =>
        redis
          .pipeline()
          .get(key)
          .llen(key)
          .exec((err, res) => (err ? reject(err) : resolve(res))),
      );
      const [[getError], [llenError, llen]] = results as [[Error | null], [Error | null, unknown]];
      expect(getError?.message).to.match(/^WRONGTYPE/);
      expect(llenError).to.equal(null);
      expect(llen).to.equal(1);
    });

    it('an empty pipeline resolves with [] as in ioredis', async () => {
      expect(await redis.pipeline().exec()).to.deep.equal([]);
    });

    it('multi() is one logical call (MULTI span), never sent again, with the unwrapped EXEC result', async () => {
      const key = uniqueKey('multi');
      const results = await redis.multi().set(key, '5').incr(key).get(key).exec();
      expect(results).to.deep.equal([
        [null, 'OK'],
        [null, 6],
        [null, '6'],
      ]);
      const attempts = attemptSpans();
      expect(attempts.map((s) => s.name)).to.deep.equal(['MULTI']);
      expect(attempts[0]!.attributes['db.operation.batch.size']).to.equal(3);
    });

    it('multi() with a callback', async () => {
      const key = uniqueKey('multicb');
      const results = await new Promise<unknown>((resolve, reject) =>
        redis
          .multi()
          .set(key, 'a')
          .get(key)
          .exec((err, res) => (err ? reject(err) : resolve(res))),
      );
      expect(results).to.deep.equal([
        [null, 'OK'],
        [null, 'a'],
      ]);
    });

    it('explicit MULTI (pipeline: false): every command is a call, replies are QUEUED then EXEC answers', async () => {
      const key = uniqueKey('explicit');
      await redis.multi({ pipeline: false });
      expect(await redis.set(key, '1')).to.equal('QUEUED');
      expect(await redis.incr(key)).to.equal('QUEUED');
      expect(await redis.exec()).to.deep.equal([
        [null, 'OK'],
        [null, 2],
      ]);
      expect(attemptSpans().map((s) => s.name)).to.deep.equal(['MULTI', 'SET', 'INCR', 'EXEC']);
    });

    it('auto-pipelining: the batch ioredis builds is one PIPELINE call and every caller gets its own reply', async () => {
      const auto = client(ioredis.Redis, { host: server.host, port: server.port, password: server.password, enableAutoPipelining: true });
      try {
        await waitReady(auto);
        const key = uniqueKey('auto');
        await auto.set(key, '1');
        otel.reset();
        const replies = await Promise.all([auto.get(key), auto.incr(key), auto.get(key)]);
        expect(replies).to.deep.equal(['1', 2, '2']);
        expect(attemptSpans().map((s) => s.name)).to.deep.equal(['PIPELINE']);
      } finally {
        auto.disconnect();
      }
    });

    it('commands sent with call() and custom Lua commands work', async () => {
      const key = uniqueKey('call');
      expect(await redis.call('SET', key, 'c')).to.equal('OK');
      expect(await redis.call('GET', key)).to.equal('c');
      redis.defineCommand('bwEcho', { numberOfKeys: 1, lua: 'return redis.call("GET", KEYS[1])' });
      expect(await (redis as unknown as { bwEcho(k: string): Promise<unknown> }).bwEcho(key)).to.equal('c');
    });

    it('attempt spans never carry values; keys only in db.query.text, as the official serializer shows them', async () => {
      const key = uniqueKey('secret-key-name');
      await redis.set(key, 'secret-value-xyz');
      await redis.get(key);
      await redis.pipeline().get(key).exec();
      expect(otel.spans().map((s) => s.attributes['db.query.text'])).to.deep.equal([`set ${key} [1 other arguments]`, `get ${key}`, `get ${key}`]);
      for (const span of otel.spans()) {
        const { 'db.query.text': _text, ...others } = span.attributes;
        const text = JSON.stringify({ name: span.name, attributes: others, events: span.events, status: span.status });
        expect(text).not.to.include('secret-key-name');
        expect(JSON.stringify(span.attributes)).not.to.include('secret-value-xyz');
      }
    });
  });
}
