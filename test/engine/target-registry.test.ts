import { expect } from 'chai';
import fc from 'fast-check';
import { CircuitOpenError } from '../../src/errors.js';
import { createPolicy } from '../../src/engine/policy.js';
import { EXPIRABLE, FREE, PINNED, TargetRegistry, type Hold } from '../../src/engine/target-registry.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { runChild } from '../helpers/child.js';
import type { ManyHostsReport } from '../fixtures/targets/many-hosts.js';

interface TestEntry {
  target: string;
  hold: Hold;
  serial: number;
}

function registry(clock: FakeClock, maxEntries: number, idleMs = Infinity): TargetRegistry<TestEntry> & { created: number } {
  let serial = 0;
  const r = new TargetRegistry<TestEntry>({
    maxEntries,
    idleMs,
    create: (target) => ({ target, hold: FREE, serial: ++serial }),
    holdOf: (entry) => entry.hold,
    clock: () => clock.now(),
  });
  return Object.defineProperty(r, 'created', { get: () => serial }) as TargetRegistry<TestEntry> & { created: number };
}

function kept(r: TargetRegistry<TestEntry>): string[] {
  const out: string[] = [];
  r.forEach((_, target) => out.push(target));
  return out.sort();
}

describe('TargetRegistry', () => {
  it('creates an entry once per target and returns the same one after', () => {
    const clock = new FakeClock();
    const r = registry(clock, 10);
    expect(r.get('a')).to.equal(r.get('a'));
    expect(r.created).to.equal(1);
  });

  it('stays bounded, evicting the least recently used target', () => {
    const clock = new FakeClock();
    const r = registry(clock, 3);
    r.get('a');
    r.get('b');
    r.get('c');
    r.get('a'); // a is now the most recent; b is the oldest
    r.get('d');
    expect(kept(r)).to.deep.equal(['a', 'c', 'd']);
    for (let i = 0; i < 100_000; i++) r.get(`host-${i}`);
    expect(r.size).to.equal(3);
  });

  it('never evicts a pinned entry (open breaker): the least recently used free one goes instead', () => {
    const clock = new FakeClock();
    const r = registry(clock, 3);
    r.get('open').hold = PINNED;
    r.get('half-open').hold = EXPIRABLE;
    r.get('closed');
    r.get('new-1');
    expect(kept(r)).to.deep.equal(['half-open', 'new-1', 'open']);
    for (let i = 0; i < 1000; i++) r.get(`churn-${i}`);
    expect(kept(r)).to.deep.equal(['churn-999', 'half-open', 'open']);
    expect(r.untracked).to.equal(0);
  });

  it('when every entry is pinned, a new target gets state that is not kept, never another target\'s', () => {
    const clock = new FakeClock();
    const r = registry(clock, 2);
    const a = r.get('a');
    a.hold = PINNED;
    r.get('b').hold = PINNED;
    const c1 = r.get('c');
    const c2 = r.get('c');
    expect(c1).to.not.equal(a);
    expect(c1.target).to.equal('c');
    expect(c2).to.not.equal(c1); // not kept: each lookup starts afresh
    expect(r.untracked).to.equal(2);
    expect(kept(r)).to.deep.equal(['a', 'b']);
    a.hold = FREE; // the breaker closed again
    const c3 = r.get('c');
    expect(r.get('c')).to.equal(c3);
    expect(kept(r)).to.deep.equal(['b', 'c']);
  });

  it('looks past a long run of pinned entries without rescanning them on every insertion', () => {
    const clock = new FakeClock();
    let looks = 0;
    const r = new TargetRegistry<TestEntry>({
      maxEntries: 1000,
      idleMs: Infinity,
      create: (target) => ({ target, hold: FREE, serial: 0 }),
      holdOf: (entry) => (looks++, entry.hold),
      clock: () => clock.now(),
    });
    for (let i = 0; i < 900; i++) r.get(`open-${i}`).hold = PINNED;
    for (let i = 0; i < 100; i++) r.get(`closed-${i}`);
    looks = 0;
    for (let i = 0; i < 10_000; i++) r.get(`new-${i}`);
    // Each pinned entry is passed over once, then parked: the insertions cost O(1) each.
    expect(looks).to.be.below(10_000 * 4);
    expect(r.untracked).to.equal(0); // room was always found, past the pinned run
    expect(r.size).to.equal(1000);
    let pinned = 0;
    r.forEach((e) => (pinned += e.hold === PINNED ? 1 : 0));
    expect(pinned).to.equal(900);
  });

  describe('idle expiry', () => {
    it('a target not called for idleMs starts afresh; one called within it keeps its state', () => {
      const clock = new FakeClock();
      const r = registry(clock, 10, 1000);
      const first = r.get('a');
      clock.tick(999);
      expect(r.get('a')).to.equal(first);
      clock.tick(999);
      expect(r.get('a')).to.equal(first); // each call restarts the idle time
      clock.tick(1000);
      const fresh = r.get('a');
      expect(fresh).to.not.equal(first);
      expect(fresh.target).to.equal('a');
    });

    it('an open breaker outlives the idle time; a half-open one does not', () => {
      const clock = new FakeClock();
      const r = registry(clock, 10, 1000);
      const open = r.get('open');
      open.hold = PINNED;
      const halfOpen = r.get('half-open');
      halfOpen.hold = EXPIRABLE;
      clock.tick(5000);
      expect(r.get('open')).to.equal(open);
      expect(r.get('half-open')).to.not.equal(halfOpen);
    });

    it('adding a target drops the oldest idle ones, a few at a time', () => {
      const clock = new FakeClock();
      const r = registry(clock, 100, 1000);
      for (let i = 0; i < 10; i++) r.get(`old-${i}`);
      clock.tick(1000);
      r.get('new-0');
      expect(r.size).to.equal(7); // 4 of the 10 idle ones dropped, the new one added
      r.get('new-1');
      r.get('new-2');
      expect(kept(r)).to.deep.equal(['new-0', 'new-1', 'new-2']);
    });

    it('a half-open breaker is kept under pressure but gives way once idle past idleMs', () => {
      const clock = new FakeClock();
      const r = registry(clock, 2, 1000);
      r.get('half-open').hold = EXPIRABLE;
      r.get('b').hold = PINNED;
      r.get('c');
      expect(r.untracked).to.equal(1);
      clock.tick(1000);
      r.get('c');
      expect(kept(r)).to.deep.equal(['b', 'c']);
    });
  });

  it('property: never holds more than maxEntries, never forgets a pinned entry', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.record({ target: fc.integer({ min: 0, max: 20 }), hold: fc.constantFrom<Hold>(FREE, EXPIRABLE, PINNED), wait: fc.integer({ min: 0, max: 300 }) }), { maxLength: 200 }),
        (maxEntries, steps) => {
          const clock = new FakeClock();
          const r = registry(clock, maxEntries, 1000);
          const pinned = new Map<string, TestEntry>();
          for (const step of steps) {
            clock.tick(step.wait);
            const target = `t${step.target}`;
            const entry = r.get(target);
            const wasPinned = pinned.get(target);
            if (wasPinned !== undefined) expect(entry).to.equal(wasPinned);
            entry.hold = step.hold;
            if (r.peek(target) === entry && step.hold === PINNED) pinned.set(target, entry);
            else pinned.delete(target);
            expect(r.size).to.be.at.most(maxEntries);
            for (const [t, e] of pinned) expect(r.peek(t)).to.equal(e);
          }
        },
      ),
    );
  });
});

describe('per-target state under a policy', () => {
  const refused = (): Promise<never> => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));

  it('an open breaker survives a churn of many more targets than the registry holds', async () => {
    const clock = new FakeClock();
    const policy = createPolicy({ clock, maxTargets: 10, retry: false, breaker: { mode: 'consecutive', threshold: 2, openMs: 60_000 }, telemetry: false });
    for (let i = 0; i < 2; i++) await policy.execute(refused, { target: 'https://down:443' }).catch(() => {});
    expect(policy.circuit('https://down:443').state).to.equal('open');
    for (let i = 0; i < 1000; i++) await policy.execute(async () => 'ok', { target: `https://h${i}:443` });
    expect(policy.targets()).to.have.length(10);
    const error = await policy.execute(async () => 'ok', { target: 'https://down:443' }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CircuitOpenError);
  });

  it('an idle target with a closed breaker starts afresh after targetIdleMs; an open one does not', async () => {
    const clock = new FakeClock();
    const policy = createPolicy({ clock, retry: false, targetIdleMs: 1000, breaker: { mode: 'consecutive', threshold: 2, openMs: 60_000 }, telemetry: false });
    await policy.execute(refused, { target: 'https://flaky:443' }).catch(() => {});
    for (let i = 0; i < 2; i++) await policy.execute(refused, { target: 'https://down:443' }).catch(() => {});
    expect(policy.circuit('https://flaky:443').stats.window.consecutiveFailures).to.equal(1);
    await clock.advance(1000);
    expect(policy.circuit('https://flaky:443').stats.window.consecutiveFailures).to.equal(0);
    expect(policy.circuit('https://down:443').state).to.equal('open');
  });
});

describe('50,000 hosts, one failing in three (a child process with --expose-gc)', function () {
  this.timeout(120_000);

  it('rejects no call to a healthy host, opens the failing hosts\' own breakers, and keeps the heap bounded', async () => {
    const result = await runChild(['--expose-gc', 'build/test/fixtures/targets/many-hosts.js'], {}, 110_000);
    expect(result.code, result.stderr).to.equal(0);
    const report = JSON.parse(result.stdout) as ManyHostsReport;
    expect(report.healthyCalls).to.equal(33_333 * 5); // hosts 0..49,999 with i % 3 !== 0, five calls each
    expect(report.healthyRejected).to.equal(0);
    expect(report.healthyFailed).to.equal(0);
    expect(report.failingRejected).to.be.above(0); // their breakers did open, each on its own
    expect(report.statesKept).to.be.at.most(10_000);
    // 10,000 states at most: a few KB each. The figure goes into docs/engine.md.
    expect(report.heapGrowthBytes).to.be.below(64 * 1024 * 1024);
    process.stdout.write(`      heap used: ${(report.heapBeforeBytes / 1048576).toFixed(1)} MB before, ${(report.heapAfterBytes / 1048576).toFixed(1)} MB after; ${report.statesKept} states kept, ${report.untracked} untracked lookups, ${report.failingRejected} calls to failing hosts rejected\n`);
  });
});
