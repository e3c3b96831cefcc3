import { expect } from 'chai';
import fc from 'fast-check';
import { CancelSignal } from '../../../instrumentations/http/cancel-signal.js';

describe('CancelSignal (the caller\'s cancel, as the engine reads it)', () => {
  it('abort runs each listener still added once, in the order added, with the reason set first', () => {
    const signal = new CancelSignal();
    const seen: string[] = [];
    const a = () => seen.push(`a:${String(signal.reason)}`);
    const b = () => seen.push('b');
    const c = () => seen.push('c');
    signal.addEventListener('abort', a);
    signal.addEventListener('abort', b);
    signal.addEventListener('abort', c);
    signal.removeEventListener('abort', b);
    signal.addEventListener('other', b);
    signal.abort('why');
    signal.abort('again');
    expect(seen).to.deep.equal(['a:why', 'c']);
    expect([signal.aborted, signal.reason]).to.deep.equal([true, 'why']);
    signal.addEventListener('abort', b); // after the abort: never called, as with an AbortSignal's once listeners
    signal.abort('third');
    expect(seen).to.deep.equal(['a:why', 'c']);
  });

  it('a throwing listener does not stop the others', () => {
    const signal = new CancelSignal();
    let ran = false;
    signal.addEventListener('abort', () => {
      throw new Error('bad');
    });
    signal.addEventListener('abort', () => (ran = true));
    signal.abort(undefined);
    expect(ran).to.equal(true);
  });

  it('property: whatever the adds and removes, abort calls exactly the listeners left, each once, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 4 })), { maxLength: 30 }), (ops) => {
        const signal = new CancelSignal();
        const calls: number[] = [];
        const listeners = [0, 1, 2, 3, 4].map((i) => () => calls.push(i));
        const model: number[] = [];
        for (const [add, i] of ops) {
          if (add) {
            signal.addEventListener('abort', listeners[i]!);
            model.push(i);
          } else {
            signal.removeEventListener('abort', listeners[i]!);
            const at = model.indexOf(i);
            if (at >= 0) model.splice(at, 1);
          }
        }
        signal.abort('x');
        expect(calls).to.deep.equal(model);
      }),
    );
  });
});
