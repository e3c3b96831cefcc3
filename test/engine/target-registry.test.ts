import { expect } from 'chai';
import { TargetRegistry } from '../../src/engine/target-registry.js';

describe('TargetRegistry', () => {
  it('creates an entry once per target and returns the same one after', () => {
    let created = 0;
    const registry = new TargetRegistry(10, (t) => ({ t, n: ++created }));
    expect(registry.get('a')).to.equal(registry.get('a'));
    expect(created).to.equal(1);
  });

  it('stays bounded, evicting the least recently used target', () => {
    const registry = new TargetRegistry(3, (t) => ({ t }));
    registry.get('a');
    registry.get('b');
    registry.get('c');
    registry.get('a'); // a is now the most recent; b is the oldest
    registry.get('d');
    expect(registry.size).to.equal(3);
    expect(registry.peek('b')).to.equal(undefined);
    expect(registry.peek('a')).to.not.equal(undefined);
    for (let i = 0; i < 100_000; i++) registry.get(`host-${i}`);
    expect(registry.size).to.equal(3);
  });
});
