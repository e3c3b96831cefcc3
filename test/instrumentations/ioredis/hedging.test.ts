// Hedged reads over ioredis: a real Redis behind the fault proxy, the client's own
// connection answering late while its hedge twin's connection is clean. The server's own
// counts (INFO commandstats, through a direct connection) show what ran, twin included.
import { expect } from 'chai';
import type { Redis as RedisClient } from 'ioredis';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { idempotent } from '../../../src/runtime/idempotency.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import type { FaultProxy } from '../../helpers/fault-proxy.js';
import {
  commandCalls,
  countedHedges,
  hedgedAttempts,
  hedgingRuntime,
  isGet,
  expectLostTwinReplaced,
  isHedge,
  itExitsByItself,
  openSockets,
  STALL_MS,
  unhandledDuring,
} from '../../helpers/hedging.js';
import { relayerOvertaken } from '../../../instrumentations/kit/outermost.js';
import { client, enableIoredis, enableOfficialIoredis, IOREDIS_VERSIONS, uniqueKey, waitReady, type IoredisModule, type IoredisVersion } from '../../helpers/ioredis-setup.js';
import { eventually, newProxy, proxiedOptions } from '../../helpers/ioredis-faults.js';
import { OtelHarness } from '../../helpers/otel.js';

const BUDGET_RATIO = 0.5;

interface Fixture {
  readonly otel: OtelHarness;
  readonly proxy: FaultProxy;
  readonly direct: RedisClient;
  readonly server: RedisServer;
  /** A client on a database of its own whose connection answers every reply late; its later connections (the twin) are clean. */
  stalledClient(): Promise<{ c: RedisClient; db: number }>;
  /** A stalled client whose twin is ready, and a key holding `value` in its database. */
  hedgedClient(value: string): Promise<{ c: RedisClient; db: number; key: string }>;
  /** The server's count of a command, over every database: each test runs its commands alone. */
  serverCalls(command: string): Promise<number>;
  /** A client the test closed itself. */
  forget(c: RedisClient): void;
}

/**
 * The describe's server, proxy, SDK and adapter under a runtime hedging after
 * HEDGE_DELAY_MS within `budgetRatio`; the clients a test opened are closed after it.
 */
function hedgingFixture(version: IoredisVersion, budgetRatio: number): Fixture {
  let server: RedisServer;
  let adapter: Adapter;
  let ioredis: IoredisModule;
  const clients = new Set<RedisClient>();
  /** Databases not used yet: each gives a client a target (and budget) of its own. */
  let nextDb = 1;
  const fixture = {
    otel: undefined as unknown as OtelHarness,
    proxy: undefined as unknown as FaultProxy,
    direct: undefined as unknown as RedisClient,
    get server() {
      return server;
    },
    async stalledClient() {
      const db = nextDb++;
      await fixture.proxy.setFault({ kind: 'delay', ms: STALL_MS, connections: 1 });
      const c = client(ioredis.Redis, proxiedOptions(fixture.proxy, server, { db }));
      clients.add(c);
      await waitReady(c, 10_000);
      return { c, db };
    },
    async hedgedClient(value: string) {
      const { c, db } = await fixture.stalledClient();
      const key = uniqueKey('hedge');
      await fixture.direct.select(db);
      await fixture.direct.set(key, value);
      await untilHedged(c, key);
      // The stalled copies of those reads answered too: the connection is idle again.
      await eventually(() => c.commandQueue?.length === 0, 5000, 'the stalled replies arrived');
      fixture.otel.reset();
      return { c, db, key };
    },
    async serverCalls(command: string) {
      return commandCalls(await fixture.direct.info('commandstats'), command);
    },
    forget: (c: RedisClient) => void clients.delete(c),
  };

  /** Reads until one is hedged: the twin the first read opened is ready then. */
  async function untilHedged(c: RedisClient, key: string): Promise<void> {
    for (let i = 0; i < 10; i++) {
      fixture.otel.reset();
      await c.get(key);
      if (fixture.otel.spans().some(isHedge)) return;
    }
    throw new Error('no read was hedged');
  }

  before(async function () {
    this.timeout(600_000);
    server = await redisServer();
    fixture.otel = new OtelHarness().install();
    ({ adapter, ioredis } = enableIoredis(hedgingRuntime(budgetRatio), version));
    fixture.proxy = await newProxy(server);
    fixture.direct = client(ioredis.Redis, { host: server.host, port: server.port, password: server.password });
    await waitReady(fixture.direct);
  });

  after(async () => {
    fixture.direct.disconnect();
    await fixture.proxy.close();
    adapter.disable();
    await fixture.otel.uninstall();
  });

  beforeEach(async () => {
    await fixture.proxy.setFault({ kind: 'none' });
    fixture.otel.reset();
  });

  afterEach(async () => {
    for (const c of clients) c.disconnect();
    clients.clear();
    await eventually(() => fixture.proxy.stats().open === 0, 5000, 'the test\'s connections closed');
  });

  return fixture;
}


for (const version of IOREDIS_VERSIONS) {
  describe(`ioredis hedging: reads over a second connection (${version.name})`, function () {
    this.timeout(60_000);
    const f = hedgingFixture(version, 1);

    it('a GET stalled on the client\'s connection is answered over the twin, within the hedge delay; the stalled copy still runs on the server, and its late reply is dropped', async () => {
      const { c, key } = await f.hedgedClient('twin');
      const unhandled = await unhandledDuring(async () => {
        const getsBefore = await f.serverCalls('get');
        const started = performance.now();
        expect(await c.get(key)).to.equal('twin');
        expect(performance.now() - started, 'answered long before the stalled reply').to.be.lessThan(STALL_MS);
        expect(hedgedAttempts(f.otel.spans().filter(isGet))).to.deep.equal([
          [1, false, 'cancelled', 'cancelled'],
          [2, true, 'won', 'success'],
        ]);
        // Redis cannot cancel a command: the copy on the stalled connection runs too, its reply is read and dropped.
        await eventually(async () => (await f.serverCalls('get')) - getsBefore === 2, 5000, 'both copies ran');
        await eventually(() => c.commandQueue?.length === 0, 5000, 'the late reply was read');
      });
      expect(unhandled).to.deep.equal([]);
      expect(await c.set(key, 'after'), 'the client still works').to.equal('OK');
    });

    it('never hedged: INCR, SET, a GET inside MULTI (queued or explicit), a GET in a pipeline, a GET marked idempotent(fn, false)', async () => {
      const { c, key } = await f.hedgedClient('1');
      const counts = async () => ({ get: await f.serverCalls('get'), incr: await f.serverCalls('incr'), set: await f.serverCalls('set') });
      const before = await counts();

      expect(await c.incr(key)).to.equal(2);
      expect(await c.set(key, '5')).to.equal('OK');
      expect(await c.multi().get(key).exec()).to.deep.equal([[null, '5']]);
      await c.multi({ pipeline: false });
      expect(await c.get(key)).to.equal('QUEUED');
      expect(await c.exec()).to.deep.equal([[null, '5']]);
      expect(await c.pipeline().get(key).exec()).to.deep.equal([[null, '5']]);
      expect(await idempotent(() => c.get(key), false)).to.equal('5');

      expect(f.otel.spans().filter(isHedge), 'no backup attempt').to.deep.equal([]);
      expect(await counts()).to.deep.equal({ get: before.get + 4, incr: before.incr + 1, set: before.set + 1 });
    });

    it('a client that SELECTs another database is no longer hedged, and its twin is closed', async () => {
      const { c, db, key } = await f.hedgedClient('here');
      expect(f.proxy.stats().open).to.equal(2);
      await c.select(15); // a database no other test uses
      await eventually(() => f.proxy.stats().open === 1, 5000, 'the twin closed');
      expect(await c.get(key), 'read from the database selected').to.equal(null);
      await c.select(db);
      expect(await c.get(key)).to.equal('here');
      expect(f.otel.spans().filter(isHedge)).to.deep.equal([]);
    });

    it('a twin whose connection is lost is replaced on a later read; the read in between is answered on the client\'s connection', async () => {
      const { c, key } = await f.hedgedClient('again');
      await expectLostTwinReplaced(f, (args) => f.direct.call(args[0]!, ...args.slice(1)), () => c.get(key), 'again');
    });

    for (const close of ['quit', 'disconnect'] as const) {
      it(`the twin is closed when the client is (${close}()): no socket is left open`, async () => {
        const baseline = openSockets();
        const { c } = await f.hedgedClient('v');
        expect(f.proxy.stats().open, 'the client\'s connection and its twin').to.equal(2);
        if (close === 'quit') await c.quit();
        else c.disconnect();
        await eventually(() => f.proxy.stats().open === 0, 5000, 'both connections closed');
        f.forget(c);
        await eventually(() => openSockets() === baseline, 5000, `back to the ${baseline} sockets open before (now ${openSockets()})`);
      });
    }

    if (version === IOREDIS_VERSIONS[0]) itExitsByItself('ioredis', () => ({ proxy: f.proxy, password: f.server.password }));
  });

  describe(`ioredis hedging within the budget (${version.name})`, function () {
    this.timeout(60_000);
    const f = hedgingFixture(version, BUDGET_RATIO);

    it('backups stay within the hedge budget (retries and hedges at most budgetRatio of first attempts), as the server counts them', async () => {
      const { c, db } = await f.stalledClient();
      const key = uniqueKey('hedge-budget');
      await f.direct.select(db);
      await f.direct.set(key, 'v');
      const getsBefore = await f.serverCalls('get');
      f.otel.reset();
      const calls = 12;
      for (let i = 0; i < calls; i++) expect(await c.get(key)).to.equal('v');
      const hedges = f.otel.spans().filter((s) => isGet(s) && isHedge(s)).length;
      expect(hedges, 'some reads were hedged').to.be.greaterThan(0);
      expect(hedges, 'within the budget').to.be.at.most(BUDGET_RATIO * calls);
      await eventually(async () => (await f.serverCalls('get')) - getsBefore === calls + hedges, 5000, 'every first attempt and every backup ran once');
      const metrics = await f.otel.collect();
      expect(countedHedges(metrics.get('resilience.hedges'), 'ioredis', `redis://${f.proxy.host}:${f.proxy.port}/${db}`)).to.equal(hedges);
    });
  });

  describe(`ioredis hedging with the official @opentelemetry/instrumentation-ioredis (${version.name})`, function () {
    this.timeout(60_000);
    const f = hedgingFixture(version, 1);

    it('records no span of its own for the twin: not its connection, its set-up, its commands', async () => {
      // Spans with no parent too, so it would record the twin's connection if it saw it.
      const official = enableOfficialIoredis(version, { requireParentSpan: false });
      relayerOvertaken(); // what the microtask after a module load does (the official one is patched by hand here)
      try {
        const connectionsBefore = f.proxy.stats().connections;
        const { c } = await f.stalledClient();
        for (let i = 0; i < 10 && !f.otel.spans().some(isHedge); i++) await c.get('bw:hedge:official');
        expect(f.otel.spans().some(isHedge), 'a read was hedged over the twin').to.equal(true);
        expect(f.proxy.stats().connections - connectionsBefore, 'the client\'s connection and its twin').to.equal(2);
        const theirs = f.otel.spans().filter((s) => s.instrumentationScope.name === '@opentelemetry/instrumentation-ioredis');
        expect(theirs.filter((s) => s.name === 'connect'), 'the client\'s connection only').to.have.length(1);
        expect(theirs.filter((s) => s.name === 'get'), 'breakwater\'s attempt spans stand for every GET').to.deep.equal([]);
      } finally {
        official.disable();
      }
    });
  });
}
