import { expect } from 'chai';
import { fleetKey, fleetService, targetHash } from '../../src/fleet/keys.js';

/** Redis Cluster's hash tag: the part between the first `{` and the next `}`. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return key.slice(open + 1, close);
}

describe('fleet: keys', () => {
  it('puts every key of one target in one hash tag, per service', () => {
    const target = 'https://api.example.com:443';
    const keys = (['rate', 'breaker', 'budget'] as const).map((kind) => fleetKey('checkout', target, kind));
    expect(keys[0]).to.match(/^bw:\{checkout:[0-9a-f]{16}\}:rate$/);
    expect(new Set(keys.map(hashTag)).size).to.equal(1);
    expect(hashTag(fleetKey('checkout', 'https://other.example.com:443', 'rate'))).to.not.equal(hashTag(keys[0]!));
    expect(hashTag(fleetKey('billing', target, 'rate'))).to.not.equal(hashTag(keys[0]!));
    expect(keys[0]).to.not.include('example');
    expect(targetHash(target)).to.equal(targetHash(target));
  });

  it('keeps service names from breaking the hash tag or growing keys', () => {
    expect(fleetService('a{b}c d/é')).to.equal('a_b_c_d__');
    expect(fleetService('')).to.equal('unknown_service');
    expect(fleetService('x'.repeat(500))).to.have.length(64);
    const key = fleetKey('}{', 'redis://cache:6379', 'rate');
    expect(key.split('{').length - 1).to.equal(1);
    expect(hashTag(key)).to.match(/^__:[0-9a-f]{16}$/);
  });
});
