import { expect } from 'chai';
import { Bulkhead } from '../../src/engine/bulkhead.js';

describe('Bulkhead', () => {
  it('admits up to maxConcurrent, queues up to maxQueue, hands slots over in order', () => {
    const bulkhead = new Bulkhead(2, 1);
    expect(bulkhead.tryEnter()).to.equal(true);
    expect(bulkhead.tryEnter()).to.equal(true);
    expect(bulkhead.tryEnter()).to.equal(false);
    expect(bulkhead.canQueue()).to.equal(true);
    const order: string[] = [];
    bulkhead.enqueue(() => order.push('first waiter'));
    expect(bulkhead.canQueue()).to.equal(false);
    bulkhead.leave();
    expect(order).to.deep.equal(['first waiter']);
    expect(bulkhead.stats()).to.deep.equal({ running: 2, queued: 0 });
    bulkhead.leave();
    bulkhead.leave();
    expect(bulkhead.stats()).to.deep.equal({ running: 0, queued: 0 });
  });

  it('a cancelled waiter leaves the queue and never gets a slot', () => {
    const bulkhead = new Bulkhead(1, 5);
    bulkhead.tryEnter();
    let got = false;
    const cancel = bulkhead.enqueue(() => (got = true));
    cancel();
    bulkhead.leave();
    expect(got).to.equal(false);
    expect(bulkhead.stats()).to.deep.equal({ running: 0, queued: 0 });
  });
});
