import { expect } from 'chai';
import { breakerArgs, BREAKER_SYNC_SCRIPT, parseBreakerReply, type BreakerExchange, type BreakerReply } from '../../src/fleet/breaker-script.js';
import { fleetKey } from '../../src/fleet/keys.js';
import { RespClient } from '../../src/fleet/resp-client.js';
import { ScriptRunner } from '../../src/fleet/script-runner.js';
import { redis } from '../integration/servers.js';

/** Wall-clock-sized fake times, as production passes them. */
const EPOCH = 1_700_000_000_000;

const BASE: BreakerExchange = {
  now: EPOCH,
  instanceId: 'a',
  epoch: -1,
  report: undefined,
  wantProbe: false,
  rule: { mode: 'consecutive', threshold: 3 },
  calls: 0,
  failures: 0,
  slow: 0,
  reset: false,
  openMs: 1000,
  maxOpenMs: 3000,
  permitMs: 500,
  ttlMs: 60_000,
  target: 'https://api.example.com:443',
};

describe('fleet: breaker script (pure parts)', () => {
  it('lays out the arguments and decodes the reply', () => {
    expect(breakerArgs({ ...BASE, now: undefined, report: 'open', wantProbe: true, epoch: 7 })).to.deep.equal(['', 'a', 7, 'open', 1, 'consecutive', 3, 0, -1, 1, 1, 0, 0, 0, 0, 1000, 3000, 500, 60000, 'https://api.example.com:443']);
    const rate = { mode: 'rate', minCalls: 20, failureRate: 0.5, slowCallRate: 0.8, bucketMs: 3000, buckets: 10 } as const;
    expect(breakerArgs({ ...BASE, rule: rate, calls: 5, failures: 2, slow: 1, reset: true }).slice(5, 15)).to.deep.equal(['rate', 20, 0.5, 0.8, 3000, 10, 5, 2, 1, 1]);
    expect(breakerArgs({ ...BASE, rule: { ...rate, slowCallRate: undefined } })[8]).to.equal(-1);
    expect(parseBreakerReply([1, 42, -5, 2, 300, 1])).to.deep.equal({ open: true, epoch: 42, remainingMs: -5, consecutiveFailures: 2, permitMs: 300, reported: true });
    expect(() => parseBreakerReply([1, 2])).to.throw(/breaker sync/);
    expect(() => parseBreakerReply('OK')).to.throw(/breaker sync/);
  });
});

describe('fleet: breaker script on a real redis-server', function () {
  this.timeout(60_000);
  let client: RespClient;
  let runner: ScriptRunner;
  let n = 0;
  let keys: [string, string];

  before(async function () {
    this.timeout(15 * 60_000); // may install redis-server
    client = new RespClient((await redis()).url);
    runner = new ScriptRunner(client, BREAKER_SYNC_SCRIPT);
  });

  after(() => client.close());

  beforeEach(() => {
    const target = `https://breaker-script.example:${process.pid}/${n++}`;
    keys = [fleetKey('script-test', target, 'breaker'), fleetKey('script-test', target, 'probe')];
  });

  async function call(x: Partial<BreakerExchange>): Promise<BreakerReply> {
    return parseBreakerReply(await runner.run(keys, breakerArgs({ ...BASE, ...x }), 2000));
  }

  async function pttl(key: string): Promise<number> {
    return (await client.command(['PTTL', key], 1000)) as number;
  }

  it('consecutive rule: failures from several instances add up, a success resets, the threshold opens it (epoch moves to now)', async () => {
    const first = await call({ failures: 1 });
    expect(first).to.include({ open: false, epoch: 0, consecutiveFailures: 1 });
    expect(await call({ epoch: 0, instanceId: 'b', failures: 1 })).to.include({ consecutiveFailures: 2 });
    expect(await call({ epoch: 0, reset: true })).to.include({ open: false, consecutiveFailures: 0 });
    await call({ epoch: 0, failures: 2 });
    const opened = await call({ epoch: 0, instanceId: 'b', failures: 1, now: EPOCH + 10 });
    expect(opened).to.deep.equal({ open: true, epoch: EPOCH + 10, remainingMs: 1000, consecutiveFailures: 0, permitMs: 0, reported: false });
    // A success and failures in the same round: the run restarts, then the failures count.
    const other = keys;
    keys = [`${other[0]}x`, `${other[1]}x`];
    expect(await call({ epoch: 0, failures: 2 })).to.include({ consecutiveFailures: 2 });
    expect(await call({ epoch: 0, reset: true, failures: 1 })).to.include({ consecutiveFailures: 1 });
  });

  it('rate rule: a window of buckets fleet-wide; opens at minCalls with the failure (or slow) share; closing clears the window', async () => {
    const rule = { mode: 'rate', minCalls: 10, failureRate: 0.5, slowCallRate: 0.9, bucketMs: 100, buckets: 10 } as const;
    expect(await call({ rule, epoch: 0, calls: 4, failures: 4 })).to.include({ open: false });
    expect(await call({ rule, epoch: 0, calls: 4, failures: 0, instanceId: 'b', now: EPOCH + 150 })).to.include({ open: false });
    // 8 calls, 4 failed, in the window; 2 more failures: 10 calls, 60% failed.
    const opened = await call({ rule, epoch: 0, calls: 2, failures: 2, now: EPOCH + 250 });
    expect(opened).to.include({ open: true, remainingMs: 1000 });
    const fields = (await client.command(['HKEYS', keys[0]], 1000)) as string[];
    expect(fields.filter((f) => /^[cfs]\d+$/.test(f)).length).to.be.at.most(3 * 10);
    // The window slides: old buckets stop counting and are deleted by the next write.
    const slideKeys = keys;
    keys = [`${slideKeys[0]}s`, `${slideKeys[1]}s`];
    await call({ rule, epoch: 0, calls: 9, failures: 9 });
    expect(await call({ rule, epoch: 0, calls: 1, failures: 1, now: EPOCH + 1000 })).to.include({ open: false });
    const left = ((await client.command(['HKEYS', keys[0]], 1000)) as string[]).filter((f) => /^[cfs]\d+$/.test(f));
    expect(left).to.deep.equal(['c17000000010', 'f17000000010']);
    // Slow calls: 9 of 10 slow opens it though none failed.
    keys = [`${slideKeys[0]}w`, `${slideKeys[1]}w`];
    expect(await call({ rule, epoch: 0, calls: 10, slow: 9 })).to.include({ open: true });
    // Closing (a probe's success) clears the window, so the old failures cannot re-open it.
    keys = slideKeys;
    const closed = await call({ rule, epoch: opened.epoch, report: 'closed', now: EPOCH + 1300 });
    expect(closed).to.include({ open: false, reported: true });
    expect(await call({ rule, epoch: closed.epoch, calls: 1, failures: 1, now: EPOCH + 1310 })).to.include({ open: false });
  });

  it('rate rule: the newest bucket alone opens it, so a window full of earlier successes does not hold an outage off', async () => {
    const rule = { mode: 'rate', minCalls: 10, failureRate: 0.5, slowCallRate: 0.9, bucketMs: 100, buckets: 10 } as const;
    // Four instances' successes fill the window.
    for (let i = 0; i < 8; i++) await call({ rule, epoch: 0, calls: 40, now: EPOCH + i * 100 });
    // The outage: the newest bucket fails, the window (329 calls, 9 failed) is far from 50%.
    expect(await call({ rule, epoch: 0, calls: 9, failures: 9, now: EPOCH + 850 })).to.include({ open: false }); // under minCalls
    const next = EPOCH + 950;
    expect(await call({ rule, epoch: 0, calls: 10, failures: 4, now: next })).to.include({ open: false }); // 40% in the bucket
    expect(await call({ rule, epoch: 0, calls: 2, failures: 2, now: next + 10 })).to.include({ open: true }); // 6 of 12
  });

  it('reports: open at the epoch seen opens it; probe failure re-opens with the period doubled (capped); success closes; stale writers lose', async () => {
    const start = await call({});
    const opened = await call({ epoch: start.epoch, report: 'open' });
    expect(opened).to.include({ open: true, remainingMs: 1000, reported: true });
    // A second instance that saw the old epoch reports open too: nothing changes.
    expect(await call({ epoch: start.epoch, report: 'open', instanceId: 'b' })).to.deep.include({ epoch: opened.epoch, reported: false });
    // Reports of open at the new epoch while the period runs: nothing.
    expect(await call({ epoch: opened.epoch, report: 'open', now: EPOCH + 500 })).to.include({ epoch: opened.epoch, remainingMs: 500, reported: false });
    // Closed before the period ended: refused.
    expect(await call({ epoch: opened.epoch, report: 'closed', now: EPOCH + 500 })).to.include({ open: true, reported: false });
    // The probe failed: re-opened for 2 s (doubled).
    const reopened = await call({ epoch: opened.epoch, report: 'open', now: EPOCH + 1000 });
    expect(reopened).to.include({ open: true, remainingMs: 2000, reported: true });
    expect(reopened.epoch).to.be.above(opened.epoch);
    const third = await call({ epoch: reopened.epoch, report: 'open', now: EPOCH + 3000 });
    expect(third).to.include({ remainingMs: 3000 }); // 4 s capped at maxOpenMs
    // A straggler's success from the first open period loses.
    expect(await call({ epoch: opened.epoch, report: 'closed', now: EPOCH + 6000 })).to.include({ open: true, epoch: third.epoch, reported: false });
    const closed = await call({ epoch: third.epoch, report: 'closed', now: EPOCH + 6000 });
    expect(closed).to.include({ open: false, reported: true });
    // Counts of an instance that missed the transitions are dropped.
    expect(await call({ epoch: third.epoch, failures: 5, now: EPOCH + 6001 })).to.include({ open: false, consecutiveFailures: 0 });
    // After a close the period starts again from openMs.
    expect(await call({ epoch: closed.epoch, report: 'open', now: EPOCH + 7000 })).to.include({ remainingMs: 1000 });
  });

  it('probe permit: only once the open period is over, to exactly one instance, until it expires or a transition', async () => {
    const opened = await call({ epoch: (await call({})).epoch, report: 'open' });
    expect(await call({ epoch: opened.epoch, wantProbe: true, now: EPOCH + 999 })).to.include({ permitMs: 0 });
    const asks = await Promise.all(['a', 'b', 'c', 'd'].map((instanceId) => call({ epoch: opened.epoch, wantProbe: true, instanceId, now: EPOCH + 1000 })));
    expect(asks.map((r) => r.permitMs > 0)).to.deep.equal([true, false, false, false]);
    expect(await pttl(keys[1])).to.be.within(1, 500);
    // The holder asking again keeps it; the others get it once it expired.
    expect((await call({ epoch: opened.epoch, wantProbe: true, now: EPOCH + 1100 })).permitMs).to.be.within(1, 500);
    await client.command(['PEXPIRE', keys[1], 1], 1000);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await call({ epoch: opened.epoch, wantProbe: true, instanceId: 'b', now: EPOCH + 1600 })).permitMs).to.equal(500);
    // A transition (b's probe failed) deletes the permit.
    await call({ epoch: opened.epoch, report: 'open', instanceId: 'b', now: EPOCH + 1700 });
    expect(await pttl(keys[1])).to.equal(-2);
  });

  it('sets a TTL on every key it writes: the state ttl, plus the open period while open', async () => {
    await call({ failures: 1 });
    expect(await pttl(keys[0])).to.be.within(59_000, 60_000);
    const opened = await call({ epoch: 0, report: 'open', ttlMs: 5000 });
    expect(await pttl(keys[0])).to.be.within(5000, 6000);
    await call({ epoch: opened.epoch, wantProbe: true, now: EPOCH + 1000 });
    expect(await pttl(keys[1])).to.be.within(1, 500);
    // A read writes nothing and leaves the TTL alone.
    await client.command(['PEXPIRE', keys[0], 4000], 1000);
    await call({ epoch: opened.epoch });
    expect(await pttl(keys[0])).to.be.within(3000, 4000);
  });

  it('epochs grow across the key expiring, so an old epoch never matches a new state', async () => {
    const opened = await call({ epoch: 0, report: 'open', now: EPOCH + 5 });
    await client.command(['DEL', keys[0]], 1000);
    const fresh = await call({ now: EPOCH + 10 });
    expect(fresh).to.include({ open: false, epoch: 0 });
    const reopened = await call({ epoch: 0, report: 'open', now: EPOCH + 20 });
    expect(reopened.epoch).to.be.above(opened.epoch);
  });

  it("with Redis's clock (the default)", async () => {
    const opened = await call({ now: undefined, epoch: 0, report: 'open' });
    expect(opened.open).to.equal(true);
    expect(opened.remainingMs).to.be.within(990, 1000);
    expect(opened.epoch).to.be.within(Date.now() - 60_000, Date.now() + 60_000);
  });
});
