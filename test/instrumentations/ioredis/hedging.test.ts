// Hedged reads over ioredis (6 and 5): the shared Redis hedging tests
// (test/helpers/redis-hedging.ts), then what only ioredis's API has.
import { expect } from 'chai';
import type { Redis as RedisClient } from 'ioredis';
import { relayerOvertaken } from '../../../instrumentations/kit/outermost.js';
import { client, enableIoredis, enableOfficialIoredis, IOREDIS_VERSIONS, waitReady, type IoredisVersion } from '../../helpers/ioredis-setup.js';
import * as suite from '../../helpers/redis-hedging.js';

const BUDGET_RATIO = 0.5;

function ioredisLibrary(version: IoredisVersion): suite.RedisLibrary<RedisClient> {
  let Redis: ReturnType<IoredisVersion['load']>['Redis'];
  return {
    client: 'ioredis',
    enable(runtime) {
      const enabled = enableIoredis(runtime, version);
      Redis = enabled.ioredis.Redis;
      return enabled.adapter;
    },
    async connect({ host, port, password, db }) {
      const c = client(Redis, { host, port, password, db });
      try {
        await waitReady(c, 10_000);
      } catch (error) {
        c.disconnect(); // a client left reconnecting would keep the test process alive
        throw error;
      }
      return c;
    },
    async drop(c) {
      c.disconnect();
    },
    command: (c, [name, ...args]) => c.call(name!, ...args),
    childTested: version === IOREDIS_VERSIONS[0],
  };
}

for (const version of IOREDIS_VERSIONS) {
  const library = ioredisLibrary(version);

  describe(`ioredis hedging: reads over a second connection (${version.name})`, function () {
    this.timeout(60_000);
    const f = suite.hedgingFixture(library, 1);
    suite.itHedgesReadsOverTheTwin(library, f);

    suite.itNeverHedgesWritesOrBatches(f, 'a GET inside MULTI (queued or explicit), a GET in a pipeline', async (c, key) => {
      expect(await c.multi().get(key).exec()).to.deep.equal([[null, '5']]);
      await c.multi({ pipeline: false });
      expect(await c.get(key)).to.equal('QUEUED');
      expect(await c.exec()).to.deep.equal([[null, '5']]);
      expect(await c.pipeline().get(key).exec()).to.deep.equal([[null, '5']]);
    });
  });

  describe(`ioredis hedging within the budget (${version.name})`, function () {
    this.timeout(60_000);
    suite.itHedgesWithinTheBudget(library, suite.hedgingFixture(library, BUDGET_RATIO), BUDGET_RATIO);
  });

  describe(`ioredis hedging with the official @opentelemetry/instrumentation-ioredis (${version.name})`, function () {
    this.timeout(60_000);
    const f = suite.hedgingFixture(library, 1);

    it('records no span of its own for the twin: not its connection, its set-up, its commands', async () => {
      // Spans with no parent too, so it would record the twin's connection if it saw it.
      const official = enableOfficialIoredis(version, { requireParentSpan: false });
      relayerOvertaken(); // what the microtask after a module load does (the official one is patched by hand here)
      try {
        await suite.expectNoOfficialSpanForTheTwin(f, library.connect, '@opentelemetry/instrumentation-ioredis', 'connect');
      } finally {
        official.disable();
      }
    });
  });
}
