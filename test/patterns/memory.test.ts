import { expect } from 'chai';
import fc from 'fast-check';
import { PatternDetector, type Count } from '../../src/patterns/index.js';
import { BoundedSeries } from '../../src/patterns/series.js';
import { HEDGE_RESULTS } from '../../src/telemetry/names.js';
import { SCENARIOS } from './scenarios.js';
import { replay } from './replay.js';
import {
  ATTEMPTS_HISTORY,
  MAX_CATEGORIES,
  OPERATIONS_HISTORY,
  RESOURCE_HISTORY,
  SHORT_HISTORY,
  TRIPS_HISTORY,
} from '../../src/patterns/windows.js';

/** The most one-minute samples one dependency or one breaker can hold: its rings' lengths, never more. */
const PER_DEPENDENCY = 2 * ATTEMPTS_HISTORY + 3 * SHORT_HISTORY + RESOURCE_HISTORY + MAX_CATEGORIES * SHORT_HISTORY + 2 * OPERATIONS_HISTORY;
const PER_BREAKER = TRIPS_HISTORY + SHORT_HISTORY;

const states = ['closed', 'open', 'half_open'] as const;
const outcomes = ['success', 'failure', 'rejected', 'fallback', 'cancelled'] as const;

/** Any count of any series: few names, so series collide and get evicted and revisited. */
const countArb: fc.Arbitrary<Count> = fc.oneof(
  fc.record({
    kind: fc.constant('attempts' as const),
    target: fc.integer({ min: 0, max: 30 }).map((n) => `http://t${n}:80`),
    client: fc.constantFrom('http', 'fetch', 'pg'),
    outcome: fc.constantFrom(...outcomes),
    category: fc.option(fc.string({ maxLength: 3 }), { nil: undefined }),
    count: fc.integer({ min: 0, max: 1000 }),
  }),
  fc.record({ kind: fc.constant('retries' as const), target: fc.integer({ min: 0, max: 30 }).map((n) => `http://t${n}:80`), client: fc.constant('http'), count: fc.nat(100) }),
  fc.record({
    kind: fc.constant('hedges' as const),
    target: fc.integer({ min: 0, max: 30 }).map((n) => `http://t${n}:80`),
    client: fc.constant('http'),
    result: fc.constantFrom(...HEDGE_RESULTS),
    count: fc.nat(100),
  }),
  fc.record({
    kind: fc.constant('operations' as const),
    target: fc.integer({ min: 0, max: 30 }).map((n) => `http://t${n}:80`),
    client: fc.constant('http'),
    outcome: fc.constantFrom(...outcomes),
    count: fc.nat(100),
  }),
  fc.record({
    kind: fc.constant('transitions' as const),
    target: fc.integer({ min: 0, max: 30 }).map((n) => `http://t${n}:80`),
    policy: fc.constantFrom('a', 'b'),
    from: fc.constantFrom(...states),
    to: fc.constantFrom(...states),
    count: fc.nat(3),
  }),
  fc.record({ kind: fc.constant('rejections' as const), target: fc.integer({ min: 0, max: 30 }).map((n) => `http://t${n}:80`), policy: fc.constant('a'), count: fc.nat(10) }),
  fc.record({ kind: fc.constant('circuit_state' as const), target: fc.integer({ min: 0, max: 30 }).map((n) => `http://t${n}:80`), policy: fc.constant('a'), state: fc.constantFrom(...states) }),
);

describe('pattern detector memory is bounded (src/patterns)', () => {
  it('never tracks more series than its cap, nor more samples than their rings hold, whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        // Each event: a count and how far time moves before it (often not at all, sometimes hours).
        fc.array(fc.tuple(countArb, fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 0, max: 6 * 3_600_000 }))), { maxLength: 300 }),
        (maxSeries, events) => {
          let now = 0;
          const detector = new PatternDetector({ clock: { now: () => now }, maxSeries });
          for (const [count, dt] of events) {
            now += dt;
            detector.record(count);
            const stats = detector.stats();
            expect(stats.dependencies).to.be.at.most(maxSeries);
            expect(stats.breakers).to.be.at.most(maxSeries);
            expect(stats.samples).to.be.at.most(stats.dependencies * PER_DEPENDENCY + stats.breakers * PER_BREAKER);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('evicts the least recently used series first', () => {
    const series = new BoundedSeries<{ name: string; lastUsed: number }>(2);
    const use = (name: string, minute: number) => (series.obtain(name, () => ({ name, lastUsed: minute })).lastUsed = minute);
    use('a', 0);
    use('b', 1);
    use('a', 2); // a is now the more recent
    use('c', 3); // evicts b
    use('a', 3); // a is still there: no eviction
    expect([...series.values()].map((s) => s.name)).to.deep.equal(['a', 'c']);
  });

  it('sets no timer and leaves no handle behind: nothing it does keeps the process alive', () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
    for (const scenario of SCENARIOS.filter((s) => s.fires)) replay(scenario);
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
    expect(after).to.equal(before);
  });
});
