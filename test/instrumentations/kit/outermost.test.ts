// kit/outermost.ts on a plain object: re-layering over a shimmer-style wrapper, the cap,
// idempotence, release, and an instrumentation under the fresh wrapper unwrapping itself.
import { expect } from 'chai';
import { keepOutermost, MAX_RELAYERS, relayerOvertaken, type OutermostHandle } from '../../../instrumentations/kit/outermost.js';

type Fn = (...args: unknown[]) => string;

/** What shimmer's wrap does (as @opentelemetry/instrumentation's `_wrap`). */
function shimmerWrap(target: { method: Fn }, tag: string): Fn {
  const original = target.method;
  const wrapped: Fn = (...args) => `${tag}(${original(...args)})`;
  Object.defineProperty(wrapped, '__original', { value: original, configurable: true });
  Object.defineProperty(wrapped, '__unwrap', {
    value: () => {
      if (target.method === wrapped) target.method = original;
    },
    configurable: true,
  });
  Object.defineProperty(wrapped, '__wrapped', { value: true, configurable: true });
  target.method = wrapped;
  return wrapped;
}

describe('kit/outermost', () => {
  let target: { method: Fn };
  let handle: OutermostHandle;

  beforeEach(() => {
    const original: Fn = () => 'client';
    const wrap = (below: Fn): Fn => (...args) => `bw(${below(...args)})`;
    target = { method: original };
    const installed = wrap(original);
    target.method = installed;
    handle = keepOutermost({ target, name: 'method', installed, original, wrap });
  });
  afterEach(() => handle.release());

  it('puts a fresh wrapper over an instrumentation that wrapped breakwater\'s, once', () => {
    shimmerWrap(target, 'official');
    expect(handle.isOnTop()).to.equal(false);
    relayerOvertaken();
    relayerOvertaken();
    expect(target.method()).to.equal('bw(official(bw(client)))');
    expect(handle.isOnTop()).to.equal(true);
    expect(handle.newest).to.equal(target.method);
  });

  it('leaves a function that replaced the method without wrapping it alone', () => {
    target.method = () => 'replaced';
    relayerOvertaken();
    expect(target.method()).to.equal('replaced');
  });

  it(`re-layers at most ${MAX_RELAYERS} times when another library keeps wrapping over it`, () => {
    for (let i = 0; i < MAX_RELAYERS + 2; i++) {
      shimmerWrap(target, `o${i}`);
      relayerOvertaken();
    }
    const depth = (target.method().match(/bw\(/g) ?? []).length;
    expect(depth).to.equal(1 + MAX_RELAYERS);
    expect(target.method().startsWith(`o${MAX_RELAYERS + 1}(`)).to.equal(true);
  });

  it('the instrumentation under the fresh wrapper can still unwrap itself (its disable)', () => {
    const official = shimmerWrap(target, 'official');
    relayerOvertaken();
    // shimmer's unwrap: the top must be marked, and its __unwrap does the work.
    const top = target.method as Fn & { __wrapped?: boolean; __unwrap?: () => void; __original?: unknown };
    expect(top.__wrapped).to.equal(true);
    expect(top.__original).to.equal(official);
    top.__unwrap!();
    expect(target.method()).to.equal('bw(client)');
    expect(handle.isOnTop()).to.equal(true);
  });

  it('release() takes the fresh wrappers off while they are on top', () => {
    const official = shimmerWrap(target, 'official');
    relayerOvertaken();
    handle.release();
    expect(target.method).to.equal(official);
    expect(target.method()).to.equal('official(bw(client))');
  });
});
