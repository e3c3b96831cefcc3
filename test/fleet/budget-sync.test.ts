import { expect } from 'chai';
import fc from 'fast-check';
import { budgetArgs, BUDGET_SYNC_SCRIPT, parseBudgetReply, type BudgetCounts, type BudgetFlush } from '../../src/fleet/budget-script.js';
import { budgetShare, BudgetSync, fleetAllows, type BudgetSyncOptions, type FleetBudget, type FleetBudgetSettings } from '../../src/fleet/budget-sync.js';
import { fleetKey } from '../../src/fleet/keys.js';
import { RespClient } from '../../src/fleet/resp-client.js';
import { ScriptRunner } from '../../src/fleet/script-runner.js';
import { eventually } from '../helpers/eventually.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { redis, type RedisServer } from '../integration/servers.js';
import { ManualRedis } from './fixtures/manual-redis.js';

const EPOCH = 1_700_000_000_000;
const counts = (firstAttempts: number, retries = 0, hedges = 0): BudgetCounts => ({ firstAttempts, retries, hedges });

describe('fleet: retry budget arithmetic (pure)', () => {
  it("an instance's share is its first attempts over the fleet's, or 1 / expectedInstances while the fleet has none", () => {
    expect(budgetShare(5, 10, 1)).to.equal(0.5);
    expect(budgetShare(20, 10, 1), 'a window edge: never more than all').to.equal(1);
    expect(budgetShare(0, 0, 4)).to.equal(0.25);
  });

  it('one more extra attempt fits its share of the room the fleet leaves, plus ratio times its unflushed first attempts', () => {
    // Room: 0.2 * 100 - 15 = 5; half of it is 2.5.
    expect(fleetAllows(counts(100, 10, 5), counts(0), 0.5, 0.2, 0)).to.equal(true);
    expect(fleetAllows(counts(100, 10, 5), counts(0, 2), 0.5, 0.2, 0)).to.equal(false);
    expect(fleetAllows(counts(100, 10, 5), counts(10, 2), 0.5, 0.2, 0)).to.equal(true);
    expect(fleetAllows(counts(100, 10, 5), counts(0, 1, 1), 1, 0.2, 0), 'hedges count as extra attempts').to.equal(true);
    // Over budget: no room, never below zero.
    expect(fleetAllows(counts(100, 50), counts(5), 1, 0.2, 0)).to.equal(true);
    expect(fleetAllows(counts(100, 50), counts(4), 1, 0.2, 0)).to.equal(false);
    // The floor: a quiet fleet may still retry, all of it together.
    expect(fleetAllows(counts(0), counts(0, 4), 0.25, 0.2, 20)).to.equal(true);
    expect(fleetAllows(counts(0), counts(0, 5), 0.25, 0.2, 20)).to.equal(false);
  });

  it('lays out the script arguments and decodes its reply', () => {
    const flush: BudgetFlush = { now: EPOCH + 0.7, bucketMs: 1000, buckets: 10, firstAttempts: 3, retries: 1, hedges: 2, ttlMs: 11_000.2 };
    expect(budgetArgs(flush)).to.deep.equal([EPOCH, 1000, 10, 3, 1, 2, 11_001]);
    expect(budgetArgs({ ...flush, now: undefined })[0]).to.equal('');
    expect(parseBudgetReply([4, 5, 6])).to.deep.equal(counts(4, 5, 6));
    expect(() => parseBudgetReply([4, 5])).to.throw(/budget sync/);
  });
});

describe('fleet: BudgetSync (hand-answered Redis, fake time)', () => {
  let clock: FakeClock;
  let fake: ManualRedis;
  let sync: BudgetSync;
  const SETTINGS: FleetBudgetSettings = { ratio: 0.2, minPerSecond: 0, windowMs: 10_000 };

  function setup(options: Partial<BudgetSyncOptions> = {}): FleetBudget {
    clock = new FakeClock();
    fake = new ManualRedis();
    sync = new BudgetSync({ client: fake, service: 'svc', clock, syncMs: 250, ...options });
    return sync.target('https://api.example:443', SETTINGS);
  }

  afterEach(() => sync.close());

  it('undefined (decide locally) until the fleet answered; then the fleet totals, what is in flight and unflushed counted', async () => {
    const budget = setup();
    expect(budget.allowsRetry(clock.now())).to.equal(undefined);
    for (let i = 0; i < 10; i++) budget.recordFirstAttempt();
    await clock.advance(10);
    const first = fake.next();
    expect(first.keys).to.deep.equal([fleetKey('svc', 'https://api.example:443', 'budget')]);
    expect(first.argv.slice(1)).to.deep.equal([1000, 10, 10, 0, 0, 11_000]);
    expect(budget.allowsRetry(clock.now()), 'not answered yet').to.equal(undefined);
    first.answer([110, 20, 0]); // the fleet: 0.2 * 110 - 20 = 2 left
    await flushMicrotasks();
    expect(budget.view(clock.now())).to.deep.include({ mode: 'fleet', share: 10 / 110 });
    // Its share of the room (2 * 10/110) holds no retry; its own first attempts earn some.
    expect(budget.allowsRetry(clock.now())).to.equal(false);
    for (let i = 0; i < 10; i++) budget.recordFirstAttempt();
    expect(budget.allowsRetry(clock.now())).to.equal(true);
    budget.recordRetry();
    expect(budget.allowsRetry(clock.now())).to.equal(true);
    budget.recordHedge();
    expect(budget.allowsRetry(clock.now()), 'two extra attempts for 10 first attempts at 0.2').to.equal(false);
    // Sent: still counted while in flight.
    await clock.advance(250);
    expect(fake.next().argv.slice(3, 6)).to.deep.equal([10, 1, 1]);
    expect(budget.view(clock.now()).pending).to.deep.equal(counts(10, 1, 1));
    expect(budget.allowsRetry(clock.now())).to.equal(false);
    expect(budget.allowsHedge(clock.now(), 0.5)).to.equal(true);
    fake.next().answer([120, 21, 1]);
    await flushMicrotasks();
    expect(budget.view(clock.now()).pending).to.deep.equal(counts(0));
    expect(budget.view(clock.now()).share).to.equal(20 / 120);
  });

  it('Redis not ready, failing or slow: undefined at once; counts of a failed flush are dropped', async () => {
    const budget = setup();
    await clock.advance(10);
    fake.next().answer([0, 0, 0]);
    await flushMicrotasks();
    expect(budget.allowsRetry(clock.now())).to.equal(false);
    fake.ready = false;
    expect(budget.allowsRetry(clock.now())).to.equal(undefined);
    expect(budget.mode).to.equal('local');
    budget.recordFirstAttempt();
    await clock.advance(250);
    fake.next().fail();
    await flushMicrotasks();
    expect(budget.view(clock.now()).pending).to.deep.equal(counts(0));
    fake.ready = true;
    expect(budget.allowsRetry(clock.now()), 'ready, but the last flush failed').to.equal(undefined);
    await clock.advance(250);
    fake.next().answer([0, 0, 0]);
    await flushMicrotasks();
    expect(budget.allowsRetry(clock.now())).to.equal(false);
    // Slow: no answer for longer than staleMs (2 rounds and a timeout).
    budget.recordFirstAttempt();
    await clock.advance(250 + 750 + 1);
    expect(budget.allowsRetry(clock.now())).to.equal(undefined);
  });

  it('refuses unusable settings', () => {
    setup();
    for (const bad of [{ ratio: -1 }, { ratio: Infinity }, { windowMs: 5 }, { minPerSecond: Number.NaN }]) {
      expect(() => sync.target('t', { ...SETTINGS, ...bad }), JSON.stringify(bad)).to.throw(RangeError);
    }
    expect(() => new BudgetSync({ client: fake, service: 's', expectedInstances: 0 })).to.throw(RangeError);
  });
});

describe('fleet: retry budget on a real redis-server', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let client: RespClient;
  const clients: RespClient[] = [];
  const syncs: BudgetSync[] = [];
  const proxies: FaultProxy[] = [];
  let n = 0;

  before(async function () {
    this.timeout(15 * 60_000); // may install redis-server
    server = await redis();
    client = new RespClient(server.url);
  });

  after(() => client.close());

  afterEach(async () => {
    for (const s of syncs.splice(0)) s.close();
    for (const c of clients.splice(0)) await c.close();
    for (const p of proxies.splice(0)) await p.close();
  });

  function uniqueTarget(): string {
    return `https://budget.example:${process.pid}/${n++}`;
  }

  function instance(target: string, settings: FleetBudgetSettings, options: Partial<BudgetSyncOptions> = {}, url = server.url): FleetBudget {
    const own = new RespClient(url, { reconnectBaseMs: 20, reconnectMaxMs: 100, connectTimeoutMs: 300 });
    clients.push(own);
    const sync = new BudgetSync({ client: own, service: 'budget-test', syncMs: 50, ...options });
    syncs.push(sync);
    return sync.target(target, settings);
  }

  it('the script: window totals of every flush, buckets sliding out, reads write nothing, a TTL on the key', async () => {
    const runner = new ScriptRunner(client, BUDGET_SYNC_SCRIPT);
    const key = fleetKey('budget-test', uniqueTarget(), 'budget');
    const flush = async (at: number, c: BudgetCounts): Promise<BudgetCounts> =>
      parseBudgetReply(await runner.run([key], budgetArgs({ now: EPOCH + at, bucketMs: 100, buckets: 10, ttlMs: 2000, ...c }), 2000));
    expect(await flush(0, counts(10, 1))).to.deep.equal(counts(10, 1));
    expect(await flush(150, counts(5, 0, 2))).to.deep.equal(counts(15, 1, 2));
    expect(await client.command(['PTTL', key], 1000)).to.be.within(1000, 2000);
    await client.command(['PEXPIRE', key, 1500], 1000);
    expect(await flush(1000, counts(0)), 'the first bucket left the window').to.deep.equal(counts(5, 0, 2));
    expect(await client.command(['PTTL', key], 1000), 'a read sets no TTL').to.be.at.most(1500);
    await flush(1000, counts(1));
    const fields = (await client.command(['HKEYS', key], 1000)) as string[];
    expect(fields.filter((f) => /^[arh]\d+$/.test(f)).sort()).to.deep.equal(['a17000000001', 'a17000000010', 'h17000000001']);
    expect(await flush(1000, counts(0))).to.deep.equal(counts(6, 0, 2));
    expect(await flush(5000, counts(0))).to.deep.equal(counts(0));
  });

  it('the window totals match a plain sum over the window after any sequence of flushes and reads, the hash bounded (fake time)', async () => {
    const runner = new ScriptRunner(client, BUDGET_SYNC_SCRIPT);
    const bucketMs = 100;
    const buckets = 5;
    const step = fc.record({ dt: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 1200 }), fc.integer({ min: -150, max: 0 })), c: fc.tuple(fc.nat(5), fc.nat(3), fc.nat(2)) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        const key = fleetKey('budget-test', uniqueTarget(), 'budget');
        const added = new Map<number, number[]>();
        let newest: number | undefined;
        let now = EPOCH;
        for (const { dt, c } of steps) {
          now += dt; // sometimes backwards: another instance's clock
          let b = Math.floor(now / bucketMs);
          if (newest !== undefined) b = Math.max(b, newest);
          if (newest !== undefined || c.some((x) => x > 0)) newest = b;
          for (const old of [...added.keys()]) if (old <= b - buckets) added.delete(old);
          if (c.some((x) => x > 0)) added.set(b, (added.get(b) ?? [0, 0, 0]).map((x, i) => x + c[i]!));
          const sum = [...added.values()].reduce((acc, x) => acc.map((y, i) => y + x[i]!), [0, 0, 0]);
          const reply = parseBudgetReply(await runner.run([key], budgetArgs({ now, bucketMs, buckets, ttlMs: 60_000, firstAttempts: c[0], retries: c[1], hedges: c[2] }), 2000));
          expect([reply.firstAttempts, reply.retries, reply.hedges]).to.deep.equal(sum);
          expect(await client.command(['HLEN', key], 1000)).to.be.at.most(3 * buckets + 4);
        }
        await client.command(['DEL', key], 1000);
      }),
      { numRuns: 40 },
    );
  });

  it('four instances retrying as hard as they may stay within the ratio fleet-wide', async () => {
    const target = uniqueTarget();
    const settings: FleetBudgetSettings = { ratio: 0.2, minPerSecond: 0, windowMs: 1000 };
    const budgets = Array.from({ length: 4 }, () => instance(target, settings));
    await eventually(() => budgets.every((b) => b.mode === 'fleet'), 5000, 'synced');
    const first = [0, 0, 0, 0];
    const retries = [0, 0, 0, 0];
    const end = performance.now() + 2000;
    while (performance.now() < end) {
      const now = performance.now();
      budgets.forEach((budget, i) => {
        // Uneven traffic: the first instance calls four times as much; every call fails and wants a retry.
        for (let c = 0; c < (i === 0 ? 4 : 1); c++) {
          budget.recordFirstAttempt();
          first[i]!++;
          if (budget.allowsRetry(now) === true) {
            budget.recordRetry();
            retries[i]!++;
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    const what = `retries ${retries.join(' + ')} for first attempts ${first.join(' + ')}`;
    expect(sum(retries), what).to.be.at.most(0.2 * sum(first) * 1.1);
    expect(sum(retries), `${what}: the budget is used`).to.be.at.least(0.2 * sum(first) * 0.6);
    expect(retries[0]!, `${what}: shared by traffic`).to.be.above(retries[1]!);
  });

  it('the floor is the fleet\'s: four quiet instances retry minPerSecond in all, not four times it', async () => {
    const target = uniqueTarget();
    const settings: FleetBudgetSettings = { ratio: 0.2, minPerSecond: 20, windowMs: 1000 };
    const budgets = Array.from({ length: 4 }, () => instance(target, settings, { expectedInstances: 4 }));
    await eventually(() => budgets.every((b) => b.mode === 'fleet'), 5000, 'synced');
    let retries = 0;
    const end = performance.now() + 700; // within one window
    while (performance.now() < end) {
      for (const budget of budgets) {
        while (budget.allowsRetry(performance.now()) === true) {
          budget.recordRetry();
          retries++;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    // 20 a window for the fleet (80 without fleet mode); rounds that see the room at
    // different moments can overshoot by what the fleet flushed in one round.
    expect(retries).to.be.within(15, 30);
  });

  it('Redis unreachable: undefined (local) at once; reachable again: the fleet answers again', async () => {
    const proxy = await startFaultProxy({ host: server.host, port: server.port });
    proxies.push(proxy);
    const target = uniqueTarget();
    const settings: FleetBudgetSettings = { ratio: 0.5, minPerSecond: 1, windowMs: 10_000 };
    const budget = instance(target, settings, {}, `redis://:${encodeURIComponent(server.password)}@127.0.0.1:${proxy.port}`);
    budget.recordFirstAttempt();
    await eventually(() => budget.view(performance.now()).fleet.firstAttempts === 1, 5000, 'synced');
    expect(await client.command(['PTTL', fleetKey('budget-test', target, 'budget')], 1000)).to.be.within(1, 11_000);
    await proxy.setFault({ kind: 'refuse' });
    proxy.resetAll();
    await eventually(() => budget.allowsRetry(performance.now()) === undefined, 1000, 'local');
    for (let i = 0; i < 100; i++) budget.recordFirstAttempt();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await proxy.setFault({ kind: 'none' });
    await eventually(() => budget.allowsRetry(performance.now()) !== undefined, 5000, 'rejoined');
    expect(budget.view(performance.now()).fleet.firstAttempts, 'counts made while down were dropped').to.be.below(50);
  });
});
