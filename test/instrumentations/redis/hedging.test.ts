// Hedged reads over node-redis (6 and 4): the shared Redis hedging tests
// (test/helpers/redis-hedging.ts), then what only node-redis's API has.
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { createRedisAdapter } from '../../../instrumentations/redis/index.js';
import { isHedge } from '../../helpers/hedging.js';
import { connectedClient, dropClient, NODE_REDIS_VERSIONS, type NodeRedis, type NodeRedisVersion, type RedisClient } from '../../helpers/redis-adapter.js';
import * as suite from '../../helpers/redis-hedging.js';
import { eventually } from '../../helpers/ioredis-faults.js';

const require = createRequire(import.meta.url);
const BUDGET_RATIO = 0.5;

/** Connects with `redis` (the copy loaded at enable(), or a fresh one). */
function connectWith(redis: () => NodeRedis): suite.RedisLibrary<RedisClient>['connect'] {
  return ({ host, port, password, db }) => connectedClient(redis(), { url: `redis://:${password}@${host}:${port}/${db ?? 0}` });
}

function nodeRedisLibrary(version: NodeRedisVersion): suite.RedisLibrary<RedisClient> {
  let redis: NodeRedis;
  return {
    client: 'redis',
    enable(runtime) {
      const adapter = createRedisAdapter(runtime);
      adapter.enable();
      redis = version.load();
      return adapter;
    },
    connect: connectWith(() => redis),
    drop: (c) => dropClient(c),
    command: (c, args) => c.sendCommand(args),
    childTested: version === NODE_REDIS_VERSIONS[0],
  };
}

/**
 * A fresh copy of node-redis, so require-in-the-middle runs every registered hook on it
 * (see official-and-secrets.test.ts).
 */
function freshRedis(version: NodeRedisVersion): NodeRedis {
  for (const id of Object.keys(require.cache)) {
    if (/[\\/]node_modules[\\/](redis|@redis)[\\/]/.test(id)) delete require.cache[id];
  }
  return version.load();
}

for (const version of NODE_REDIS_VERSIONS) {
  const library = nodeRedisLibrary(version);

  describe(`redis hedging: reads over a second connection (${version.name})`, function () {
    this.timeout(60_000);
    const f = suite.hedgingFixture(library, 1);
    suite.itHedgesReadsOverTheTwin(library, f);

    it('hedges client.sendCommand([...]) reads and typed replies (HGETALL) alike', async () => {
      const { c, key } = await f.hedgedClient('v');
      await f.direct.hSet(`${key}:h`, { a: '1', b: '2' });
      expect(await c.sendCommand(['GET', key])).to.equal('v');
      expect(f.otel.spans().filter(isHedge)).to.have.length(1);
      f.otel.reset();
      expect({ ...(await c.hGetAll(`${key}:h`)) }).to.deep.equal({ a: '1', b: '2' });
      expect(f.otel.spans().filter(isHedge)).to.have.length(1);
    });

    suite.itNeverHedgesWritesOrBatches(f, 'a GET inside multi().exec(), a raw MULTI or execAsPipeline()', async (c, key) => {
      expect(await c.multi().get(key).exec()).to.deep.equal(['5']);
      expect(await c.sendCommand(['MULTI'])).to.equal('OK');
      expect(await c.sendCommand(['GET', key])).to.equal('QUEUED');
      expect(await c.sendCommand(['EXEC'])).to.deep.equal(['5']);
      expect(await c.multi().get(key).execAsPipeline()).to.deep.equal(['5']);
    });

    it('a SELECT inside multi() stops hedging too, and closes the twin', async () => {
      const { c, key } = await f.hedgedClient('here');
      await c.multi().select(15).exec(); // a database no other test uses
      await eventually(() => f.proxy.stats().open === 1, 5000, 'the twin closed');
      expect(await c.get(key), 'read from the database selected').to.equal(null);
      expect(f.otel.spans().filter(isHedge)).to.deep.equal([]);
    });
  });

  describe(`redis hedging within the budget (${version.name})`, function () {
    this.timeout(60_000);
    suite.itHedgesWithinTheBudget(library, suite.hedgingFixture(library, BUDGET_RATIO), BUDGET_RATIO);
  });

  describe(`redis hedging with the official @opentelemetry/instrumentation-redis (${version.name})`, function () {
    this.timeout(60_000);
    const f = suite.hedgingFixture(library, 1);
    after(() => void freshRedis(version)); // leave an unpatched copy behind for later files

    it('records no span of its own for the twin: not its connection, its set-up, its commands', async () => {
      // Spans with no parent too, so it would record the twin's connection if it saw it.
      const official = new RedisInstrumentation({ requireParentSpan: false });
      try {
        const loaded = freshRedis(version); // both hooks run in this load, the official one wrapping breakwater's
        await suite.expectNoOfficialSpanForTheTwin(f, connectWith(() => loaded), '@opentelemetry/instrumentation-redis', 'redis-connect');
      } finally {
        official.disable();
      }
    });
  });
}
