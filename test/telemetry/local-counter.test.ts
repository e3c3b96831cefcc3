import type { Attributes, ObservableResult } from '@opentelemetry/api';
import { expect } from 'chai';
import { LocalCounter } from '../../src/telemetry/local-counter.js';

function observed(counter: LocalCounter): Array<[number, Attributes]> {
  const out: Array<[number, Attributes]> = [];
  counter.observe({ observe: (value: number, attributes?: Attributes) => out.push([value, attributes ?? {}]) } as ObservableResult);
  return out;
}

describe('LocalCounter', () => {
  it('adds per attribute object and reports cumulative totals at every observation', () => {
    const counter = new LocalCounter();
    const ok = Object.freeze({ outcome: 'success' });
    const failed = Object.freeze({ outcome: 'failure' });
    counter.add(ok);
    counter.add(ok);
    counter.add(failed, 3);
    expect(observed(counter)).to.deep.equal([[2, ok], [3, failed]]);
    counter.add(ok);
    expect(observed(counter)).to.deep.equal([[3, ok], [3, failed]]);
  });

  it('merges distinct objects with equal attributes (in any key order) into one point', () => {
    const counter = new LocalCounter();
    counter.add({ a: 1, b: 'x' });
    counter.add({ b: 'x', a: 1 }, 4);
    counter.add({ a: 2, b: 'x' });
    expect(observed(counter).map(([v]) => v).sort()).to.deep.equal([1, 5]);
  });

  it('stays bounded when equal attribute sets keep arriving as new objects, and loses no count', () => {
    const counter = new LocalCounter(16);
    for (let i = 0; i < 10_000; i++) counter.add({ target: `t${i % 4}` });
    const points = observed(counter);
    expect(points.map(([v, a]) => [a['target'], v]).sort()).to.deep.equal([['t0', 2500], ['t1', 2500], ['t2', 2500], ['t3', 2500]]);
    expect((counter as unknown as { cells: Map<unknown, number> }).cells.size).to.be.at.most(16);
  });
});
