import { expect } from 'chai';
import { isOurs, unwrapMethod, wrapMethod } from '../../../instrumentations/ioredis/layer.js';

/** A shimmer-style wrapper, as InstrumentationBase._wrap and the official instrumentation install. */
function shimmerWrap(target: { send: Function }, tag: string, calls: string[]): void {
  const original = target.send;
  const wrapper = function (this: unknown, ...args: unknown[]) {
    calls.push(tag);
    return original.apply(this, args);
  } as Function & { __original?: Function; __wrapped?: boolean; __unwrap?: () => void };
  wrapper.__original = original;
  wrapper.__wrapped = true;
  wrapper.__unwrap = () => (target.send = original);
  target.send = wrapper;
}

function subject(calls: string[]): { send: Function } {
  return {
    send(this: unknown, x: number) {
      calls.push('original');
      return x * 2;
    },
  };
}

function layer(target: { send: Function }, calls: string[]): void {
  wrapMethod(target, 'send', (original, isActive) =>
    function (this: unknown, ...args: unknown[]) {
      if (isActive()) calls.push('breakwater');
      return original.apply(this, args);
    },
  );
}

describe('ioredis layer: wrapping that stacks with other instrumentations in either order', () => {
  it('wraps, forwards arguments and result, and unwraps to the original', () => {
    const calls: string[] = [];
    const target = subject(calls);
    const original = target.send;
    layer(target, calls);
    expect(target.send(2)).to.equal(4);
    expect(calls).to.deep.equal(['breakwater', 'original']);
    expect(isOurs(target.send)).to.equal(true);
    unwrapMethod(target, 'send');
    expect(target.send).to.equal(original);
    expect(isOurs(target.send)).to.equal(false);
  });

  it('carries no shimmer marks, so a shimmer wrapper added later wraps it instead of removing it', () => {
    const calls: string[] = [];
    const target = subject(calls);
    layer(target, calls);
    expect((target.send as { __wrapped?: boolean }).__wrapped).to.equal(undefined);
    shimmerWrap(target, 'official', calls);
    target.send(1);
    expect(calls).to.deep.equal(['official', 'breakwater', 'original']);
    expect(isOurs(target.send)).to.equal(true); // found under the other wrapper
  });

  it('disabled under another wrapper: switched off (forwards only), the other wrapper stays', () => {
    const calls: string[] = [];
    const target = subject(calls);
    layer(target, calls);
    shimmerWrap(target, 'official', calls);
    unwrapMethod(target, 'send');
    target.send(1);
    expect(calls).to.deep.equal(['official', 'original']);
    expect(isOurs(target.send)).to.equal(false);
  });

  it('wraps over a shimmer wrapper without unwrapping it, and is not applied twice', () => {
    const calls: string[] = [];
    const target = subject(calls);
    shimmerWrap(target, 'official', calls);
    layer(target, calls);
    layer(target, calls);
    target.send(1);
    expect(calls).to.deep.equal(['breakwater', 'official', 'original']);
    unwrapMethod(target, 'send');
    calls.length = 0;
    target.send(1);
    expect(calls).to.deep.equal(['official', 'original']);
  });
});
