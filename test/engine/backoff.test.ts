import { expect } from 'chai';
import fc from 'fast-check';
import { exponentialCeiling, INITIAL_BACKOFF, nextBackoff, type BackoffSettings, type BackoffState } from '../../src/engine/backoff.js';
import { JITTER_MODES } from '../../src/engine/options.js';
import { seededRandom } from '../helpers/fake-clock.js';

const settingsArb = fc.record({
  baseDelayMs: fc.integer({ min: 0, max: 10_000 }),
  maxDelayMs: fc.integer({ min: 0, max: 120_000 }),
  multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
  jitter: fc.constantFrom(...JITTER_MODES),
});

function delays(settings: BackoffSettings, count: number, random: () => number): number[] {
  let state: BackoffState = INITIAL_BACKOFF;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const [delay, next] = nextBackoff(settings, state, random);
    out.push(delay);
    state = next;
  }
  return out;
}

describe('backoff', () => {
  it('none: exact exponential growth up to the cap', () => {
    expect(delays({ baseDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 'none' }, 6, Math.random)).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
  });

  it('full: random(0, ceiling) — the extremes of random give 0 and the ceiling', () => {
    const s: BackoffSettings = { baseDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 'full' };
    expect(delays(s, 3, () => 0)).to.deep.equal([0, 0, 0]);
    expect(delays(s, 3, () => 0.999999)).to.deep.equal([100, 200, 400]);
    expect(delays(s, 2, () => 0.5)).to.deep.equal([50, 100]);
  });

  it('equal: half the ceiling plus random(0, half)', () => {
    const s: BackoffSettings = { baseDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 'equal' };
    expect(delays(s, 3, () => 0)).to.deep.equal([50, 100, 200]);
    expect(delays(s, 3, () => 0.5)).to.deep.equal([75, 150, 300]);
  });

  it('decorrelated: random(base, previous * 3), capped', () => {
    const s: BackoffSettings = { baseDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 'decorrelated' };
    // with random = 1-: each delay is ~3x the previous one, until the cap
    expect(delays(s, 4, () => 0.999999)).to.deep.equal([300, 900, 1000, 1000]);
    expect(delays(s, 3, () => 0)).to.deep.equal([100, 100, 100]);
  });

  it('property: every jitter mode stays within its bounds for any settings and random', () => {
    fc.assert(
      fc.property(settingsArb, fc.integer(), fc.integer({ min: 1, max: 40 }), (settings, seed, count) => {
        const random = seededRandom(seed);
        let state: BackoffState = INITIAL_BACKOFF;
        for (let i = 0; i < count; i++) {
          const [delay, next] = nextBackoff(settings, state, random);
          const ceiling = exponentialCeiling(settings, state.retries);
          expect(Number.isFinite(delay), 'finite').to.equal(true);
          expect(delay).to.be.at.least(0).and.at.most(settings.maxDelayMs);
          switch (settings.jitter) {
            case 'none':
              expect(delay).to.equal(Math.round(ceiling));
              break;
            case 'full':
              expect(delay).to.be.at.most(Math.round(ceiling));
              break;
            case 'equal':
              expect(delay).to.be.at.least(Math.floor(ceiling / 2)).and.at.most(Math.round(ceiling));
              break;
            case 'decorrelated': {
              const base = Math.min(settings.baseDelayMs, settings.maxDelayMs);
              const previous = state.previousMs > 0 ? state.previousMs : base;
              expect(delay).to.be.at.least(Math.floor(Math.min(base, settings.maxDelayMs)));
              expect(delay).to.be.at.most(Math.round(Math.max(base, previous * 3)));
              break;
            }
          }
          expect(next.retries).to.equal(state.retries + 1);
          state = next;
        }
      }),
      { numRuns: 500 },
    );
  });
});
