import { SpanKind, type Attributes } from '@opentelemetry/api';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { getClassification } from '../../../src/errors.js';
import { configureTelemetry } from '../../../src/telemetry/settings.js';
import { OtelHarness } from '../../helpers/otel.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import {
  dropClient,
  enableRedisAdapter,
  NODE_REDIS_VERSIONS,
  type NodeRedis,
  type NodeRedisVersion,
  type RedisAdapterSetup,
  type RedisClient,
} from '../../helpers/redis-adapter.js';

const require = createRequire(import.meta.url);

/**
 * A fresh copy of node-redis, so require-in-the-middle runs every registered hook on it
 * in registration order (a copy loaded earlier by another test file was patched by
 * breakwater from the require cache, which the official instrumentation never does).
 */
function freshRedis(version: NodeRedisVersion = NODE_REDIS_VERSIONS[0]!): NodeRedis {
  for (const id of Object.keys(require.cache)) {
    if (/[\\/]node_modules[\\/](redis|@redis)[\\/]/.test(id)) delete require.cache[id];
  }
  return version.load();
}

async function connect(redis: NodeRedis, url: string): Promise<RedisClient> {
  const client = redis.createClient({ url }) as unknown as RedisClient;
  client.on('error', () => {});
  await client.connect();
  return client;
}

for (const version of NODE_REDIS_VERSIONS) {
  describe(`redis adapter (${version.name}) with the official @opentelemetry/instrumentation-redis`, function () {
    this.timeout(30_000);
    let server: RedisServer;
    let proxy: FaultProxy;
    let otel: OtelHarness;
    let setup: RedisAdapterSetup | undefined;
    let official: RedisInstrumentation | undefined;
    let client: RedisClient | undefined;

    before(async () => {
      server = await redisServer();
    });
    beforeEach(async () => {
      otel = new OtelHarness().install();
      proxy = await startFaultProxy({ host: server.host, port: server.port });
    });
    afterEach(async () => {
      await dropClient(client);
      client = undefined;
      official?.disable();
      official = undefined;
      setup?.adapter.disable();
      setup = undefined;
      await proxy.close();
      await otel.uninstall();
      freshRedis(); // leave an unpatched copy behind for later files
    });

    const clientSpans = () => otel.spans().filter((s) => s.kind === SpanKind.CLIENT);
    const ours = (s: ReadableSpan) => s.instrumentationScope.name === 'breakwater';
    const proxiedUrl = () => `redis://:${server.password}@127.0.0.1:${proxy.port}`;

    /** A GET whose first attempt's connection is reset after the command reached the server. */
    async function getAfterOneReset(c: RedisClient, key: string): Promise<string | null> {
      const before = proxy.stats().bytesToUpstream;
      const probe = await connect(freshlyLoaded!, proxiedUrl());
      const handshake = proxy.stats().bytesToUpstream - before;
      await dropClient(probe);
      await proxy.setFault({ kind: 'reset_after_request', afterBytes: handshake + 1 });
      const ready = new Promise<void>((resolve) => c.once('ready', () => resolve()));
      proxy.resetAll();
      await ready;
      c.once('error', () => void proxy.setFault({ kind: 'none' }));
      otel.reset();
      return c.get(key);
    }
    let freshlyLoaded: NodeRedis | undefined;

    it('official registered first (inside breakwater): one CLIENT span per attempt, all breakwater\'s', async () => {
      official = new RedisInstrumentation();
      setup = enableRedisAdapter({}, version);
      freshlyLoaded = freshRedis(version);
      client = await connect(freshlyLoaded, proxiedUrl());
      await client.set('bw:official:a', 'x');
      expect(await getAfterOneReset(client, 'bw:official:a')).to.equal('x');
      const spans = clientSpans();
      expect(spans.map((s) => s.name)).to.deep.equal(['GET', 'GET']);
      expect(spans.every(ours)).to.equal(true);

      otel.reset();
      await client.multi().set('bw:official:a', 'y').get('bw:official:a').exec();
      expect(clientSpans().map((s) => [s.name, ours(s)])).to.deep.equal([['MULTI', true]]);
    });

    it('parity: SET and GET with only the official instrumentation, then only breakwater: every official attribute, same value; no duration metric, as the official records none, unless BREAKWATER_REDIS_DURATION_METRIC=true', async () => {
      const run = async (): Promise<{ spans: ReadableSpan[]; points: Attributes[] }> => {
        client = await connect(freshlyLoaded!, proxiedUrl());
        otel.reset();
        await client.set('bw:parity', 'parity-value');
        expect(await client.get('bw:parity')).to.equal('parity-value');
        const duration = (await otel.collect()).get('db.client.operation.duration');
        const spans = clientSpans();
        await dropClient(client);
        client = undefined;
        return { spans, points: (duration?.dataPoints ?? []).map((p) => p.attributes) };
      };
      official = new RedisInstrumentation();
      freshlyLoaded = freshRedis(version);
      const theirs = await run();
      official.disable();
      official = undefined;
      setup = enableRedisAdapter({}, version);
      freshlyLoaded = freshRedis(version);
      const mine = await run();
      expect(theirs.spans.map(ours)).to.deep.equal([false, false]);
      expect(mine.spans.map((s) => [ours(s), s.name])).to.deep.equal([
        [true, 'SET'],
        [true, 'GET'],
      ]);
      for (const [index, official] of theirs.spans.entries()) {
        const span = mine.spans[index]!;
        for (const [name, value] of Object.entries(official.attributes)) expect(span.attributes[name], `${official.name}: ${name}`).to.deep.equal(value);
        const extra = Object.keys(span.attributes).filter((k) => !(k in official.attributes) && !k.startsWith('resilience.'));
        // Only the conventions' db.namespace (the database index), which the official omits.
        expect(extra, `${official.name}: attributes beyond the official ones and resilience.*`).to.deep.equal(['db.namespace']);
      }
      expect(JSON.stringify(mine.spans.map((s) => s.attributes))).not.to.include('parity-value');
      expect(theirs.points, 'the official node-redis instrumentation records no duration metric').to.deep.equal([]);
      expect(mine.points, 'nor does breakwater by default').to.deep.equal([]);

      setup.adapter.disable();
      setup = enableRedisAdapter({ BREAKWATER_REDIS_DURATION_METRIC: 'true' }, version);
      freshlyLoaded = freshRedis(version);
      const measured = await run();
      configureTelemetry({ redisDurationMetric: false }); // process-wide: the next tests start from the default
      expect(measured.points.map((p) => p['db.operation.name']).sort()).to.deep.equal(['GET', 'SET'].map((n) => mine.spans.find((s) => s.name === n)!.attributes['db.operation.name']).sort());
      for (const p of measured.points) expect(p['db.system.name']).to.equal('redis');
    });

    it('official registered after (it wraps breakwater, breakwater re-layers over it): one CLIENT span per attempt, all breakwater\'s', async () => {
      setup = enableRedisAdapter({}, version);
      official = new RedisInstrumentation();
      freshlyLoaded = freshRedis(version); // both hooks run in this load, the official one wrapping breakwater's
      client = await connect(freshlyLoaded, proxiedUrl());
      await client.set('bw:official:b', 'x');
      expect(await getAfterOneReset(client, 'bw:official:b')).to.equal('x');
      const spans = clientSpans();
      expect(spans.map((s) => [s.name, ours(s), s.attributes['resilience.attempt']])).to.deep.equal([
        ['GET', true, 1],
        ['GET', true, 2],
      ]);
      expect(otel.spans().filter((s) => s.kind === SpanKind.INTERNAL), 'no INTERNAL attempt or call span').to.have.length(0);

      otel.reset();
      expect(await client.sendCommand(['GET', 'bw:official:b'])).to.equal('x');
      expect(clientSpans().map((s) => [s.name, ours(s)]), 'sendCommand').to.deep.equal([['GET', true]]);

      otel.reset();
      await client.multi().set('bw:official:b', 'y').get('bw:official:b').exec();
      expect(clientSpans().map((s) => [s.name, ours(s)])).to.deep.equal([['MULTI', true]]);
      expect(otel.spans().filter((s) => s.kind === SpanKind.INTERNAL)).to.have.length(0);
    });
  });
}

describe('redis adapter (node-redis): no secret leaks', function () {
  this.timeout(30_000);
  const TOKEN = 'tok_live_9f8e7d6c5b4a';
  let server: RedisServer;
  let otel: OtelHarness;
  let setup: RedisAdapterSetup;
  let proxy: FaultProxy;

  before(async () => {
    server = await redisServer();
  });
  beforeEach(async () => {
    otel = new OtelHarness().install();
    setup = enableRedisAdapter();
    proxy = await startFaultProxy({ host: server.host, port: server.port });
  });
  afterEach(async () => {
    setup.adapter.disable();
    await proxy.close();
    await otel.uninstall();
  });

  it('never records the URL password nor a value holding a token, in spans, metrics, output or breakwater errors', async () => {
    const secrets = [server.password, TOKEN];
    expect(server.password.length).to.be.greaterThan(3);
    const output: string[] = [];
    const writeOut = process.stdout.write.bind(process.stdout);
    const writeErr = process.stderr.write.bind(process.stderr);
    const capture = (chunk: unknown) => {
      output.push(String(chunk));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    const errors: unknown[] = [];
    let client: RedisClient | undefined;
    try {
      client = await connect(setup.redis, `redis://default:${server.password}@127.0.0.1:${proxy.port}/1`);
      await client.set('bw:secret', `Bearer ${TOKEN}`); // succeeds
      await client.get('bw:secret');
      // AUTH with the password as an argument (the official serializer shows none of AUTH's arguments).
      expect(await client.sendCommand(['AUTH', 'default', server.password])).to.equal('OK');
      // Redis echoes the arguments of an unknown command in its error: breakwater must not.
      await client.sendCommand(['NOSUCHCOMMAND', TOKEN]).catch((e: unknown) => errors.push(e));
      // A retried read and a failed write: connection cut under them.
      await proxy.setFault({ kind: 'reset_after_request', afterBytes: 1 });
      proxy.resetAll();
      // (Key names are shown in db.query.text, as the official serializer shows them: these hold no token.)
      await Promise.allSettled([client.get('bw:secret:r'), client.incr('bw:secret:n')]).then((r) =>
        r.forEach((x) => x.status === 'rejected' && errors.push(x.reason)),
      );
      await proxy.setFault({ kind: 'delay', ms: 500 });
      proxy.resetAll();
      await client.append('bw:secret:a', TOKEN).catch((e: unknown) => errors.push(e));
    } finally {
      await dropClient(client);
      process.stdout.write = writeOut;
      process.stderr.write = writeErr;
    }
    expect(errors.length).to.be.greaterThan(1);

    const spans = otel.spans();
    expect(spans.some((s) => s.instrumentationScope.name === 'breakwater')).to.equal(true);
    // db.query.text: command and keys, values and passwords masked.
    const queryTexts = spans.map((s) => s.attributes['db.query.text']);
    expect(queryTexts).to.include.members([
      'SET bw:secret [1 other arguments]',
      'AUTH [2 other arguments]',
      'NOSUCHCOMMAND [1 other arguments]',
      'APPEND [2 other arguments]',
    ]);
    const texts: string[] = [];
    const addAttributes = (attributes: Attributes) => {
      for (const [k, v] of Object.entries(attributes)) texts.push(k, String(v));
    };
    for (const span of spans) {
      texts.push(span.name, span.status.message ?? '');
      addAttributes(span.attributes);
      for (const event of span.events) {
        texts.push(event.name);
        addAttributes(event.attributes ?? {});
      }
    }
    const metrics = await otel.collect();
    for (const [name, metric] of metrics) {
      texts.push(name);
      for (const point of metric.dataPoints) addAttributes(point.attributes);
    }
    for (const error of errors) {
      const c = getClassification(error);
      if (c) texts.push(c.userMessage, c.code, c.rule ?? '');
      const e = error as Error & { code?: string };
      // Only errors breakwater itself makes; node-redis's own messages are the caller's business.
      if (typeof e.code === 'string' && e.code.startsWith('BREAKWATER_')) texts.push(e.message);
    }
    texts.push(...output);
    for (const secret of secrets) {
      const leaks = texts.filter((t) => t.includes(secret));
      expect(leaks, `secret found in ${JSON.stringify(leaks.slice(0, 3))}`).to.deep.equal([]);
    }
  });
});
