import { expect } from 'chai';
import fc from 'fast-check';
import { FirstComeSet } from '../../src/util/first-come-set.js';

describe('FirstComeSet', () => {
  it('admits the first `limit` distinct keys, refuses later ones, and keeps members for good', () => {
    const set = new FirstComeSet(2);
    expect(set.admit('a')).to.equal(true);
    expect(set.admit('a')).to.equal(true);
    expect(set.admit('b')).to.equal(true);
    expect(set.admit('c')).to.equal(false);
    expect(set.admit('a')).to.equal(true);
    expect(set.size).to.equal(2);
  });

  it('a lower limit keeps the members already in; a higher one admits again; clear() forgets', () => {
    const set = new FirstComeSet(3);
    for (const k of ['a', 'b', 'c']) set.admit(k);
    set.setLimit(1);
    expect(set.admit('b')).to.equal(true);
    expect(set.admit('d')).to.equal(false);
    set.setLimit(4);
    expect(set.admit('d')).to.equal(true);
    set.clear();
    expect(set.size).to.equal(0);
    expect(set.limit).to.equal(4);
  });

  it('limit 0 admits nothing; Infinity admits everything', () => {
    expect(new FirstComeSet(0).admit('a')).to.equal(false);
    const unbounded = new FirstComeSet(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 5000; i++) expect(unbounded.admit(String(i))).to.equal(true);
  });

  it('refuses a limit that is not a whole number of at least 0', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.NEGATIVE_INFINITY]) {
      expect(() => new FirstComeSet(bad), String(bad)).to.throw(RangeError);
      expect(() => new FirstComeSet(1).setLimit(bad), String(bad)).to.throw(RangeError);
    }
  });

  it('property: never more than `limit` members, and a key admitted once is admitted forever', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.array(fc.string({ maxLength: 3 }), { maxLength: 200 }), (limit, keys) => {
        const set = new FirstComeSet(limit);
        const admitted = new Set<string>();
        for (const key of keys) {
          const ok = set.admit(key);
          if (admitted.has(key)) expect(ok).to.equal(true);
          if (ok) admitted.add(key);
          expect(set.size).to.be.at.most(limit);
        }
      }),
    );
  });
});
