import { expect } from 'chai';
import fc from 'fast-check';
import { WindowCounter } from '../../src/engine/window-counter.js';

describe('WindowCounter', () => {
  it('counts within the window and forgets buckets that slid out', () => {
    const w = new WindowCounter(1000, 10, 1);
    w.add(0, 0);
    w.add(50, 0);
    w.add(950, 0);
    expect(w.total(999, 0)).to.equal(3);
    expect(w.total(1000, 0)).to.equal(1); // the [0,100) bucket left the window
    expect(w.total(1950, 0)).to.equal(0);
  });

  it('clears every bucket after a long idle gap', () => {
    const w = new WindowCounter(1000, 10, 2);
    for (let t = 0; t < 1000; t += 10) w.add(t, 1);
    expect(w.total(999, 1)).to.equal(100);
    expect(w.total(1_000_000, 1)).to.equal(0);
  });

  it('property: the total equals a brute-force count over the bucketed window', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 200 }), (gaps) => {
        const w = new WindowCounter(1000, 10, 1);
        const events: number[] = [];
        let now = 0;
        for (const gap of gaps) {
          now += gap * 7;
          w.add(now, 0);
          events.push(now);
          const currentBucket = Math.floor(now / 100);
          const expected = events.filter((t) => currentBucket - Math.floor(t / 100) < 10).length;
          expect(w.total(now, 0)).to.equal(expected);
        }
      }),
    );
  });
});

describe('WindowCounter with a stale reading', () => {
  it('counts a reading older than the newest one in the newest bucket, never corrupting a live bucket', () => {
    const w = new WindowCounter(1000, 10, 1);
    w.add(950, 0);
    w.add(120, 0); // stale: lands in the [900,1000) bucket
    expect(w.total(999, 0)).to.equal(2);
    expect(w.total(1899, 0)).to.equal(2);
    expect(w.total(1900, 0)).to.equal(0);
  });
});
