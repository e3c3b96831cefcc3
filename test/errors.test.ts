import { expect } from 'chai';
import { attachClassification, getClassification, CircuitOpenError, AttemptTimeoutError } from '../src/errors.js';
import type { Classification } from '../src/classify/types.js';

const sample: Classification = {
  category: 'network', severity: 'medium', transient: true, code: 'ECONNRESET', rule: 'builtin:test', userMessage: 'x',
};

describe('errors', () => {
  it('attaches a classification invisibly to the caller\'s own error', () => {
    const err = Object.assign(new RangeError('boom'), { code: 'E_X' });
    const keysBefore = Object.keys(err);
    attachClassification(err, sample);
    expect(getClassification(err)).to.equal(sample);
    expect(Object.keys(err)).to.deep.equal(keysBefore);
    expect(JSON.stringify(err)).to.equal(JSON.stringify({ code: 'E_X' }));
    expect(err).to.be.instanceOf(RangeError);
  });
  it('falls back to a side table for frozen errors and ignores primitives', () => {
    const err = Object.freeze(new Error('frozen'));
    attachClassification(err, sample);
    expect(getClassification(err)).to.equal(sample);
    attachClassification('a string', sample);
    expect(getClassification('a string')).to.equal(undefined);
  });
  it('names its own errors with stable codes', () => {
    const open = new CircuitOpenError('https://a:443', 1000);
    expect(open.code).to.equal('BREAKWATER_CIRCUIT_OPEN');
    expect(open.name).to.equal('CircuitOpenError');
    const timeout = new AttemptTimeoutError('https://a:443', 50);
    expect(timeout.name).to.equal('TimeoutError');
    expect(timeout.code).to.equal('BREAKWATER_TIMEOUT');
  });
});
