// The hedging tests both Redis adapters (ioredis, node-redis) run, against a real Redis
// behind the fault proxy: a client's own connection answers every reply late while its
// hedge twin's connection is clean. The server's own counts (INFO commandstats, through a
// direct connection) show what ran, twin included. Each adapter's test file gives its
// library (RedisLibrary) and adds what only its API has.
import { expect } from 'chai';
import type { Adapter } from '../../instrumentations/kit/adapter.js';
import { idempotent } from '../../src/runtime/idempotency.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { redis as redisServer, type RedisServer } from '../integration/servers.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { commandCalls, countedHedges, expectLostTwinReplaced, hedgedAttempts, hedgingRuntime, isGet, isHedge, itExitsByItself, openSockets, STALL_MS, unhandledDuring } from './hedging.js';
import { eventually } from './ioredis-faults.js';
import { OtelHarness } from './otel.js';

/** What the shared tests call on a client: the same names in ioredis and node-redis. */
export interface RedisLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
  incr(key: string): Promise<number>;
  select(db: number): Promise<unknown>;
  ping(): Promise<unknown>;
  quit(): Promise<unknown>;
}

/** One Redis client library under breakwater, as the shared tests drive it. */
export interface RedisLibrary<C extends RedisLike> {
  /** `resilience.client`, and the library the child process loads. */
  readonly client: 'ioredis' | 'redis';
  /** Enables the adapter under `runtime` and loads the library. */
  enable(runtime: Runtime): Adapter;
  /** A client connected (and ready) to `address`; on database `db` when given. */
  connect(address: { host: string; port: number; password: string; db?: number }): Promise<C>;
  /** Closes a client at once (ioredis disconnect(), node-redis destroy() or v4 disconnect()). */
  drop(c: C): Promise<void>;
  /** A raw command (`['CLIENT', 'LIST']`) and its reply. */
  command(c: C, args: string[]): Promise<unknown>;
  /** Whether the child process test runs for this version (it loads the project's own copy). */
  readonly childTested: boolean;
}

export interface HedgingFixture<C extends RedisLike> {
  readonly otel: OtelHarness;
  readonly proxy: FaultProxy;
  readonly server: RedisServer;
  /** A client straight to the server (no proxy, no twin: it SELECTs), for counting and setting up. */
  readonly direct: C;
  /** A client on a database of its own whose connection answers every reply late; its later connections (the twin) are clean. */
  stalledClient(connect?: RedisLibrary<C>['connect']): Promise<{ c: C; db: number }>;
  /** A stalled client whose twin is ready, and a key holding `value` in its database. */
  hedgedClient(value: string): Promise<{ c: C; db: number; key: string }>;
  /** The server's count of a command, over every database: each test runs its commands alone. */
  serverCalls(command: string): Promise<number>;
  /** A client the test closed itself. */
  forget(c: C): void;
}

let keyCounter = 0;
function uniqueKey(prefix: string): string {
  return `bw:${prefix}:${process.pid}:${keyCounter++}`;
}

/**
 * The describe's server, proxy, SDK and adapter under a runtime hedging after
 * HEDGE_DELAY_MS within `budgetRatio`; the clients a test opened are closed after it.
 */
export function hedgingFixture<C extends RedisLike>(library: RedisLibrary<C>, budgetRatio: number): HedgingFixture<C> {
  let adapter: Adapter;
  const clients = new Set<C>();
  /** Databases not used yet: each gives a client a target (and budget) of its own. */
  let nextDb = 1;
  const fixture = {
    otel: undefined as unknown as OtelHarness,
    proxy: undefined as unknown as FaultProxy,
    server: undefined as unknown as RedisServer,
    direct: undefined as unknown as C,
    async stalledClient(connect = library.connect) {
      const db = nextDb++;
      await fixture.proxy.setFault({ kind: 'delay', ms: STALL_MS, connections: 1 });
      const c = await connect({ host: fixture.proxy.host, port: fixture.proxy.port, password: fixture.server.password, db });
      clients.add(c);
      return { c, db };
    },
    async hedgedClient(value: string) {
      const { c, db } = await fixture.stalledClient();
      const key = uniqueKey('hedge');
      await fixture.direct.select(db);
      await fixture.direct.set(key, value);
      for (let i = 0; i < 10 && !fixture.otel.spans().some(isHedge); i++) {
        fixture.otel.reset();
        await c.get(key); // the first opens the twin, one is hedged once it is ready
      }
      expect(fixture.otel.spans().some(isHedge), 'a read was hedged').to.equal(true);
      await c.ping(); // never hedged: answered after the stalled copies of those reads, the connection is idle again
      fixture.otel.reset();
      return { c, db, key };
    },
    async serverCalls(command: string) {
      return commandCalls(String(await library.command(fixture.direct, ['INFO', 'commandstats'])), command);
    },
    forget: (c: C) => void clients.delete(c),
  };

  before(async function () {
    this.timeout(600_000);
    fixture.server = await redisServer();
    fixture.otel = new OtelHarness().install();
    adapter = library.enable(hedgingRuntime(budgetRatio));
    fixture.proxy = await startFaultProxy({ host: fixture.server.host, port: fixture.server.port });
    fixture.direct = await library.connect(fixture.server);
  });

  after(async () => {
    await library.drop(fixture.direct);
    await fixture.proxy.close();
    adapter.disable();
    await fixture.otel.uninstall();
  });

  beforeEach(async () => {
    await fixture.proxy.setFault({ kind: 'none' });
    fixture.otel.reset();
  });

  afterEach(async () => {
    for (const c of clients) await library.drop(c);
    clients.clear();
    await eventually(() => fixture.proxy.stats().open === 0, 5000, "the test's connections closed");
  });

  return fixture;
}

/** The tests of hedged reads both adapters pass, on `f` (a fixture hedging within a budget ratio of 1). */
export function itHedgesReadsOverTheTwin<C extends RedisLike>(library: RedisLibrary<C>, f: HedgingFixture<C>): void {
  it("a GET stalled on the client's connection is answered over the twin, within the hedge delay; the stalled copy still runs on the server, and its late reply is dropped", async () => {
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
      await c.ping();
    });
    expect(unhandled).to.deep.equal([]);
    expect(await c.set(key, 'after'), 'the client still works').to.equal('OK');
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

  it("a twin whose connection is lost is replaced on a later read; the read in between is answered on the client's connection", async () => {
    const { c, key } = await f.hedgedClient('again');
    await expectLostTwinReplaced(f, (args) => library.command(f.direct, args), () => c.get(key), 'again');
  });

  for (const close of ['quit', 'drop'] as const) {
    it(`the twin is closed when the client is (${close === 'quit' ? 'quit()' : 'closed at once'}): no socket is left open`, async () => {
      const baseline = openSockets();
      const { c } = await f.hedgedClient('v');
      expect(f.proxy.stats().open, "the client's connection and its twin").to.equal(2);
      if (close === 'quit') await c.quit();
      else await library.drop(c);
      await eventually(() => f.proxy.stats().open === 0, 5000, 'both connections closed');
      f.forget(c);
      await eventually(() => openSockets() === baseline, 5000, `back to the ${baseline} sockets open before (now ${openSockets()})`);
    });
  }

  if (library.childTested) itExitsByItself(library.client, () => ({ proxy: f.proxy, password: f.server.password }));
}

/**
 * Never hedged: INCR, SET (a write, even an idempotent one), a GET marked
 * `idempotent(fn, false)`, and the three GETs `inBatches` sends inside MULTI or a
 * pipeline (`what` names them), each expected to read '5'. The server counts each once.
 */
export function itNeverHedgesWritesOrBatches<C extends RedisLike>(f: HedgingFixture<C>, what: string, inBatches: (c: C, key: string) => Promise<void>): void {
  it(`never hedged: INCR, SET, ${what}, a GET marked idempotent(fn, false)`, async () => {
    const { c, key } = await f.hedgedClient('1');
    const counts = async () => ({ get: await f.serverCalls('get'), incr: await f.serverCalls('incr'), set: await f.serverCalls('set') });
    const before = await counts();
    expect(await c.incr(key)).to.equal(2);
    expect(await c.set(key, '5')).to.equal('OK');
    await inBatches(c, key);
    expect(await idempotent(() => c.get(key), false)).to.equal('5');
    expect(f.otel.spans().filter(isHedge), 'no backup attempt').to.deep.equal([]);
    expect(await counts()).to.deep.equal({ get: before.get + 4, incr: before.incr + 1, set: before.set + 1 });
  });
}

/** Backups stay within the budget, on `f` (a fixture hedging within `budgetRatio`). */
export function itHedgesWithinTheBudget<C extends RedisLike>(library: RedisLibrary<C>, f: HedgingFixture<C>, budgetRatio: number): void {
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
    expect(hedges, 'within the budget').to.be.at.most(budgetRatio * calls);
    await eventually(async () => (await f.serverCalls('get')) - getsBefore === calls + hedges, 5000, 'every first attempt and every backup ran once');
    const metrics = await f.otel.collect();
    expect(countedHedges(metrics.get('resilience.hedges'), library.client, `redis://${f.proxy.host}:${f.proxy.port}/${db}`)).to.equal(hedges);
  });
}

/**
 * The twin's connection, set-up and commands are no spans of an official instrumentation
 * (enabled by the caller, recording spans without a parent too): `connect` builds the
 * client with the library as the official one patched it; `connectSpan` names the span it
 * records for a connection.
 */
export async function expectNoOfficialSpanForTheTwin<C extends RedisLike>(f: HedgingFixture<C>, connect: RedisLibrary<C>['connect'], scope: string, connectSpan: string): Promise<void> {
  const connectionsBefore = f.proxy.stats().connections;
  const { c } = await f.stalledClient(connect);
  for (let i = 0; i < 10 && !f.otel.spans().some(isHedge); i++) await c.get('bw:hedge:official');
  expect(f.otel.spans().some(isHedge), 'a read was hedged over the twin').to.equal(true);
  expect(f.proxy.stats().connections - connectionsBefore, "the client's connection and its twin").to.equal(2);
  const theirs = f.otel.spans().filter((s) => s.instrumentationScope.name === scope);
  expect(theirs.filter((s) => s.name === connectSpan), "the client's connection only").to.have.length(1);
  expect(theirs.filter((s) => s.name.toLowerCase() === 'get'), "breakwater's attempt spans stand for every GET").to.deep.equal([]);
}
