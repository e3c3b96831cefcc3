import { expect } from 'chai';
import fc from 'fast-check';
import { systemClock, type Clock } from '../../src/engine/clock.js';
import { TimerEntry, TimerQueue } from '../../src/engine/timer-queue.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** Records when it expired (by the clock) and how often. */
class Probe extends TimerEntry {
  firedAt: number[] = [];

  constructor(
    private readonly clock: Clock,
    readonly label: string,
    private readonly log?: string[],
  ) {
    super();
  }

  expire(): void {
    this.firedAt.push(this.clock.now());
    this.log?.push(this.label);
  }
}

/** A clock over `inner` that counts the timers set and cleared, and keeps the last handle. */
function counting(inner: Clock) {
  const counts = { set: 0, cleared: 0, lastDelay: NaN, lastHandle: undefined as unknown };
  const clock: Clock = {
    now: () => inner.now(),
    setTimeout: (callback, ms) => {
      counts.set++;
      counts.lastDelay = ms;
      return (counts.lastHandle = inner.setTimeout(callback, ms));
    },
    clearTimeout: (handle) => {
      counts.cleared++;
      inner.clearTimeout(handle);
    },
  };
  return { clock, counts };
}

/**
 * Timers as Node runs them: the delay truncated to whole milliseconds, at least 1, so
 * a timer for 9.7 ms fires 0.7 ms before the expiry the queue asked for.
 */
function nodeRounding(inner: FakeClock): Clock {
  return {
    now: () => inner.now(),
    setTimeout: (callback, ms) => inner.setTimeout(callback, Math.max(1, Math.floor(ms))),
    clearTimeout: (handle) => inner.clearTimeout(handle),
  };
}

describe('TimerQueue', () => {
  it('fires entries in expiry order whatever order they were added in, ties in the order added', () => {
    const fake = new FakeClock();
    const queue = new TimerQueue(fake);
    const log: string[] = [];
    for (const [label, ms] of [['c', 30], ['a', 10], ['d', 30], ['b', 20], ['e', 40]] as const) queue.add(new Probe(fake, label, log), 0, ms);
    fake.tick(25);
    expect(log).to.deep.equal(['a', 'b']);
    fake.tick(100);
    expect(log).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(queue.size).to.equal(0);
  });

  it('fires each entry once, at its expiry and not before', () => {
    const fake = new FakeClock();
    const queue = new TimerQueue(fake);
    const entries = [5, 17, 17, 250].map((ms) => {
      const probe = new Probe(fake, String(ms));
      queue.add(probe, 0, ms);
      return [probe, ms] as const;
    });
    fake.tick(1000);
    for (const [probe, ms] of entries) expect(probe.firedAt).to.deep.equal([ms]);
  });

  it('a cancelled entry never fires; cancelling twice, or after it fired, changes nothing', () => {
    const fake = new FakeClock();
    const queue = new TimerQueue(fake);
    const kept = new Probe(fake, 'kept');
    const cancelled = new Probe(fake, 'cancelled');
    queue.add(cancelled, 0, 10);
    queue.add(kept, 0, 20);
    queue.cancel(cancelled);
    queue.cancel(cancelled);
    expect(queue.size).to.equal(1);
    fake.tick(50);
    queue.cancel(kept);
    expect(cancelled.firedAt).to.deep.equal([]);
    expect(kept.firedAt).to.deep.equal([20]);
    expect(queue.size).to.equal(0);
  });

  it('arms one clock timer for entries added in expiry order, and re-arms only for an earlier one', () => {
    const fake = new FakeClock();
    const { clock, counts } = counting(fake);
    const queue = new TimerQueue(clock);
    for (let i = 0; i < 1000; i++) queue.add(new Probe(fake, 'later'), i * 0.01, 10_000);
    expect({ set: counts.set, cleared: counts.cleared }).to.deep.equal({ set: 1, cleared: 0 });
    const earlier = new Probe(fake, 'earlier');
    queue.add(earlier, 0, 110);
    expect({ set: counts.set, cleared: counts.cleared, lastDelay: counts.lastDelay }).to.deep.equal({ set: 2, cleared: 1, lastDelay: 110 });
    fake.tick(110);
    expect(earlier.firedAt).to.deep.equal([110]);
    expect(counts.set, 're-armed for the next live entry after firing').to.equal(3);
    expect(fake.allTimers).to.equal(1);
  });

  it('a timer armed for entries since cancelled fires into nothing and is not re-armed', () => {
    const fake = new FakeClock();
    const { clock, counts } = counting(fake);
    const queue = new TimerQueue(clock);
    const probes = [10, 20, 30].map((ms) => {
      const probe = new Probe(fake, String(ms));
      queue.add(probe, 0, ms);
      return probe;
    });
    for (const probe of probes) queue.cancel(probe);
    expect(fake.allTimers, 'cancelling clears no timer').to.equal(1);
    fake.tick(10);
    expect(fake.allTimers).to.equal(0);
    expect(counts.set).to.equal(1);
    expect(queue.stored).to.equal(0);
    fake.tick(100);
    expect(probes.flatMap((p) => p.firedAt)).to.deep.equal([]);
  });

  it('re-arms when its timer fires before the expiry by the clock (Node rounds timers to whole milliseconds)', () => {
    const fake = new FakeClock();
    const queue = new TimerQueue(nodeRounding(fake));
    const probe = new Probe(fake, 'p');
    fake.tick(0.4);
    queue.add(probe, fake.now(), 9.7); // expires at 10.1; the timer fires at 9.4
    fake.tick(9.5);
    expect(probe.firedAt).to.deep.equal([]);
    fake.tick(5);
    expect(probe.firedAt).to.have.length(1);
    expect(probe.firedAt[0]).to.be.at.least(10.1);
  });

  it('keeps cancelled entries bounded: many short-lived entries behind one that stays', () => {
    const fake = new FakeClock();
    const queue = new TimerQueue(fake);
    const stays = new Probe(fake, 'stays');
    queue.add(stays, 0, 60_000);
    let maxStored = 0;
    for (let i = 0; i < 100_000; i++) {
      const probe = new Probe(fake, 'short');
      queue.add(probe, i * 0.001, 10_000);
      queue.cancel(probe);
      maxStored = Math.max(maxStored, queue.stored);
    }
    expect(queue.size).to.equal(1);
    expect(maxStored).to.equal(2 * 1 + 32);
    fake.tick(60_000);
    expect(stays.firedAt).to.deep.equal([60_000]);
  });

  it('many live entries in random order all fire once, in order', () => {
    const fake = new FakeClock();
    const queue = new TimerQueue(fake);
    const random = (() => {
      let seed = 7;
      return () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    })();
    const log: string[] = [];
    const probes: Array<[Probe, number]> = [];
    for (let i = 0; i < 5000; i++) {
      const ms = Math.floor(random() * 1000);
      const probe = new Probe(fake, String(i), log);
      queue.add(probe, 0, ms);
      probes.push([probe, ms]);
    }
    fake.tick(1000);
    for (const [probe, ms] of probes) expect(probe.firedAt).to.deep.equal([ms]);
    const expected = probes.map(([probe, ms], i) => ({ label: probe.label, ms, i })).sort((x, y) => x.ms - y.ms || x.i - y.i);
    expect(log).to.deep.equal(expected.map((e) => e.label));
    expect(queue.size).to.equal(0);
  });

  it('after rebuilds without the cancelled entries, the live ones still fire once, in order', () => {
    const fake = new FakeClock();
    const queue = new TimerQueue(fake);
    let seed = 11;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const log: string[] = [];
    const probes: Array<{ probe: Probe; ms: number; i: number; cancelled: boolean }> = [];
    let rebuilds = 0;
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor(random() * 500);
      const probe = new Probe(fake, String(i), log);
      queue.add(probe, 0, ms);
      probes.push({ probe, ms, i, cancelled: false });
      // Cancel a live entry three times in four: the cancelled soon outnumber the live.
      if (random() < 0.75) {
        const live = probes.filter((p) => !p.cancelled);
        const victim = live[Math.floor(random() * live.length)]!;
        const before = queue.stored;
        queue.cancel(victim.probe);
        victim.cancelled = true;
        if (queue.stored < before) rebuilds++;
      }
    }
    expect(rebuilds, 'the heap was rebuilt').to.be.greaterThan(0);
    fake.tick(500);
    const expected = probes.filter((p) => !p.cancelled).sort((x, y) => x.ms - y.ms || x.i - y.i);
    expect(log).to.deep.equal(expected.map((p) => p.probe.label));
    for (const { probe, ms, cancelled } of probes) expect(probe.firedAt).to.deep.equal(cancelled ? [] : [ms]);
  });

  it('an entry added while others fire (from an expiry) is scheduled correctly', () => {
    const fake = new FakeClock();
    const queue = new TimerQueue(fake);
    const late = new Probe(fake, 'late');
    const soon = new Probe(fake, 'soon');
    class Chaining extends TimerEntry {
      expire(): void {
        queue.add(soon, fake.now(), 5);
      }
    }
    queue.add(new Chaining(), 0, 10);
    queue.add(late, 0, 100);
    fake.tick(200);
    expect(soon.firedAt).to.deep.equal([15]);
    expect(late.firedAt).to.deep.equal([100]);
  });

  it('an expiry that throws does not stop the entries after it; its error is rethrown on its own', () => {
    const fake = new FakeClock();
    const queue = new TimerQueue(fake);
    class Throwing extends TimerEntry {
      expire(): void {
        throw new Error('broken expiry');
      }
    }
    const after = new Probe(fake, 'after');
    queue.add(new Throwing(), 0, 10);
    queue.add(after, 0, 10);
    const rethrown: Array<() => void> = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (callback) => rethrown.push(callback);
    try {
      fake.tick(10);
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(after.firedAt).to.deep.equal([10]);
    expect(rethrown).to.have.length(1);
    expect(() => rethrown[0]!()).to.throw('broken expiry');
  });

  it('on the system clock, its timer is unref\'d: it never keeps the process alive', () => {
    const { clock, counts } = counting(systemClock);
    const queue = new TimerQueue(clock);
    const probe = new Probe(systemClock, 'p');
    queue.add(probe, systemClock.now(), 60_000);
    try {
      expect((counts.lastHandle as NodeJS.Timeout).hasRef()).to.equal(false);
    } finally {
      queue.cancel(probe);
      clearTimeout(counts.lastHandle as NodeJS.Timeout);
    }
  });

  describe('properties', () => {
    type Op = { kind: 'add'; ms: number } | { kind: 'cancel'; pick: number } | { kind: 'advance'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), ms: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.double({ min: 0, max: 200, noNaN: true })) }),
      fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 100, noNaN: true })) }),
    );

    for (const [name, makeClock] of [
      ['exact timers', (fake: FakeClock): Clock => fake],
      ['timers rounded as Node rounds them', nodeRounding],
    ] as const) {
      it(`every entry fires exactly once, at or after its expiry, unless cancelled first; a cancelled one never fires (${name})`, () => {
        fc.assert(
          fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
            const fake = new FakeClock();
            const queue = new TimerQueue(makeClock(fake));
            const added: Array<{ probe: Probe; expiresAt: number; cancelled: boolean }> = [];
            const check = (timersRan: boolean) => {
              for (const { probe, expiresAt, cancelled } of added) {
                for (const at of probe.firedAt) expect(at, 'never early').to.be.at.least(expiresAt);
                expect(probe.firedAt.length, 'at most once').to.be.at.most(1);
                if (cancelled || !timersRan) continue;
                // Exact timers fire at the expiry; rounded ones within the next millisecond.
                const slack = makeClock === nodeRounding ? 1 : 0;
                if (fake.now() >= expiresAt + slack) expect(probe.firedAt.length, 'fired once due').to.equal(1);
              }
              expect(queue.stored, 'cancelled entries bounded').to.be.at.most(2 * queue.size + 32);
            };
            for (const step of ops) {
              if (step.kind === 'add') {
                const probe = new Probe(fake, String(added.length));
                queue.add(probe, fake.now(), step.ms);
                added.push({ probe, expiresAt: fake.now() + step.ms, cancelled: false });
              } else if (step.kind === 'cancel') {
                const target = added[step.pick % Math.max(1, added.length)];
                if (target === undefined) continue;
                if (target.probe.firedAt.length === 0) target.cancelled = true;
                queue.cancel(target.probe);
              } else {
                fake.tick(step.ms);
              }
              check(step.kind === 'advance');
            }
            fake.tick(1_000);
            check(true);
            for (const { probe, cancelled } of added) expect(probe.firedAt.length).to.equal(cancelled ? 0 : 1);
            expect(queue.size).to.equal(0);
            expect(fake.allTimers, 'nothing left armed').to.equal(0);
          }),
          { numRuns: 300 },
        );
      });
    }
  });
});
