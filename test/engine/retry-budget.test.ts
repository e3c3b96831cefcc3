import { expect } from 'chai';
import fc from 'fast-check';
import { RetryBudget } from '../../src/engine/retry-budget.js';

describe('RetryBudget', () => {
  it('allows ratio * first attempts plus the floor, then refuses', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, windowMs: 10_000 });
    for (let i = 0; i < 50; i++) budget.recordFirstAttempt(0);
    let granted = 0;
    for (let i = 0; i < 100; i++) if (budget.tryAcquireRetry(1)) granted++;
    expect(granted).to.equal(10);
  });

  it('the floor lets a quiet service retry', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000 });
    budget.recordFirstAttempt(0);
    let granted = 0;
    for (let i = 0; i < 100; i++) if (budget.tryAcquireRetry(1)) granted++;
    expect(granted).to.equal(10); // floor of 1/s over 10 s, plus 0.2 of one call (rounded down)
  });

  it('refills as the window slides', () => {
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 1000 });
    budget.recordFirstAttempt(0);
    budget.recordFirstAttempt(0);
    expect(budget.tryAcquireRetry(0)).to.equal(true);
    expect(budget.tryAcquireRetry(0)).to.equal(false);
    budget.recordFirstAttempt(1500);
    budget.recordFirstAttempt(1500);
    expect(budget.tryAcquireRetry(1500)).to.equal(true);
  });

  // Checked when a retry is granted: later, first attempts may slide out of the window
  // before the retries they paid for, which is not an overdraft.
  it('property: a granted retry never takes the window past ratio * first attempts + floor', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 300 }), first: fc.boolean() }), { maxLength: 300 }),
        (ratio, minPerSecond, events) => {
          const windowMs = 1000;
          const budget = new RetryBudget({ ratio, minPerSecond, windowMs });
          let now = 0;
          for (const e of events) {
            now += e.gap;
            if (e.first) {
              budget.recordFirstAttempt(now);
              continue;
            }
            const before = budget.stats(now);
            const granted = budget.tryAcquireRetry(now);
            const { firstAttempts, retries } = budget.stats(now);
            const allowed = ratio * firstAttempts + minPerSecond * (windowMs / 1000);
            expect(retries).to.equal(before.retries + (granted ? 1 : 0));
            if (granted) expect(retries).to.be.at.most(allowed + 1e-9);
            else expect(before.retries + 1).to.be.greaterThan(allowed);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
