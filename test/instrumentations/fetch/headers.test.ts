import { expect } from 'chai';
import { withPropagation } from '../../../instrumentations/fetch/headers.js';

const TP = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };

describe('withPropagation', () => {
  it('keeps the form and replaces a traceparent of any case, without touching the original', () => {
    const obj = { 'X-A': '1', TraceParent: 'old' };
    expect(withPropagation(obj, TP)).to.deep.equal({ 'X-A': '1', ...TP });
    expect(obj).to.deep.equal({ 'X-A': '1', TraceParent: 'old' });

    const pairs = [['x-a', '1'], ['traceparent', 'old']];
    expect(withPropagation(pairs, TP)).to.deep.equal([['x-a', '1'], ['traceparent', TP.traceparent]]);
    expect(pairs).to.have.length(2);

    const flat = ['x-a', '1', 'Traceparent', 'old'];
    expect(withPropagation(flat, TP)).to.deep.equal(['x-a', '1', 'traceparent', TP.traceparent]);

    const headers = new Headers({ 'x-a': '1' });
    const copy = withPropagation(headers, TP) as Headers;
    expect(copy).to.be.instanceOf(Headers).and.not.equal(headers);
    expect(copy.get('traceparent')).to.equal(TP.traceparent);
    expect(headers.has('traceparent')).to.equal(false);

    expect(withPropagation(new Map([['x-a', '1']]), TP)).to.deep.equal([['x-a', '1'], ['traceparent', TP.traceparent]]);
    expect(withPropagation(undefined, TP)).to.deep.equal(TP);
  });

  it('returns the caller\'s headers as they are when there is nothing to propagate', () => {
    const obj = { a: '1' };
    expect(withPropagation(obj, {})).to.equal(obj);
    expect(withPropagation(undefined, {})).to.equal(undefined);
  });
});
