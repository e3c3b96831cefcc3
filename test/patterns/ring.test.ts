import { expect } from 'chai';
import { MinuteRing } from '../../src/patterns/ring.js';

describe('MinuteRing (src/patterns/ring.ts)', () => {
  it('answers increases over a window as differences of cumulative samples, as increase() on one-minute scrapes', () => {
    const ring = new MinuteRing(6, 10);
    ring.add(10, 5);
    ring.add(11, 1);
    ring.add(14, 2); // minutes 12 and 13 had nothing
    expect([9, 10, 11, 12, 13, 14, 20].map((m) => ring.at(m))).to.deep.equal([0, 5, 6, 6, 6, 8, 8]);
    expect(ring.increase(14, 5), 'minutes 10 to 14').to.equal(8);
    expect(ring.increase(14, 3), 'minutes 12 to 14').to.equal(2);
    expect(ring.increase(16, 5), 'minutes 12 to 16').to.equal(2);
  });

  it('forgets what is older than its length, rather than answer wrongly', () => {
    const ring = new MinuteRing(4, 0);
    for (let m = 0; m < 10; m++) ring.add(m, 1);
    expect(ring.at(9)).to.equal(10);
    expect(ring.at(6)).to.equal(7);
    expect(ring.at(5)).to.be.NaN;
    expect(ring.increase(9, 3)).to.equal(3);
    expect(ring.increase(9, 4)).to.be.NaN;
  });

  it('after a silence longer than the ring, holds the total at every minute it keeps', () => {
    const ring = new MinuteRing(4, 0);
    ring.add(0, 3);
    ring.add(100, 1);
    expect([97, 98, 99, 100].map((m) => ring.at(m))).to.deep.equal([3, 3, 3, 4]);
    expect(ring.increase(100, 3)).to.equal(1);
  });

  it('puts a count for a minute already passed into the newest one', () => {
    const ring = new MinuteRing(4, 0);
    ring.add(5, 1);
    ring.add(3, 1);
    expect(ring.at(4)).to.equal(0);
    expect(ring.at(5)).to.equal(2);
  });
});
