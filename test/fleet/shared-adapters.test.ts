import { expect } from 'chai';
import type { FleetBreaker, FleetBreakerListener } from '../../src/fleet/breaker-sync.js';
import type { FleetBudget } from '../../src/fleet/budget-sync.js';
import { SharedFleetBreaker } from '../../src/fleet/shared-breaker.js';
import { SharedFleetBudget } from '../../src/fleet/shared-budget.js';

/** What the adapters ask of a FleetBreaker / FleetBudget, recorded; answers set by the test. */
function fakeBreaker() {
  const calls: unknown[][] = [];
  const fake = {
    probe: true,
    record: (failed: boolean, durationMs: number) => void calls.push(['record', failed, durationMs]),
    transition: (to: string) => void calls.push(['transition', to]),
    mayProbe: (now: number) => (calls.push(['mayProbe', now]), fake.probe),
  };
  return { fake, calls };
}

describe('fleet adapters onto the engine\'s seams (fakes)', () => {
  it('SharedFleetBreaker: passes outcomes, its own transitions and probe questions on; the fleet\'s changes go to the control bound now', () => {
    const { fake, calls } = fakeBreaker();
    let listener: FleetBreakerListener | undefined;
    const controls: string[] = [];
    const control = (name: string) => ({ open: (ms: number) => void controls.push(`${name} open ${ms}`), close: () => void controls.push(`${name} close`) });
    const shared = new SharedFleetBreaker((l) => ((listener = l), fake as unknown as FleetBreaker), control('first'));
    shared.record(1, true, 12);
    shared.transitioned('closed', 'open', false);
    shared.transitioned('closed', 'open', true); // following the fleet: not told back
    fake.probe = false;
    expect(shared.allowProbe(5)).to.equal(false);
    expect(calls).to.deep.equal([
      ['record', true, 12],
      ['transition', 'open'],
      ['mayProbe', 5],
    ]);
    listener!({ state: 'open', remainingMs: 4000, epoch: 3 });
    shared.bind(control('again'));
    listener!({ state: 'closed', remainingMs: 0, epoch: 4 });
    expect(controls).to.deep.equal(['first open 4000', 'again close']);
  });

  it('SharedFleetBudget: counts go to the fleet; retries are the fleet\'s to allow unless unbounded, hedges always', () => {
    const counted: string[] = [];
    const answers = { retry: false as boolean | undefined, hedge: true as boolean | undefined };
    const fake = {
      recordFirstAttempt: () => void counted.push('first'),
      recordRetry: () => void counted.push('retry'),
      recordHedge: () => void counted.push('hedge'),
      allowsRetry: () => answers.retry,
      allowsHedge: (_now: number, ratio: number) => (counted.push(`hedge? ${ratio}`), answers.hedge),
    } as unknown as FleetBudget;
    const bounded = new SharedFleetBudget(fake, true);
    bounded.recordFirstAttempt();
    bounded.recordRetry();
    bounded.recordHedge();
    expect(bounded.allowsRetry(0)).to.equal(false);
    answers.retry = undefined;
    expect(bounded.allowsRetry(0), 'no fleet view: local').to.equal(undefined);
    expect(bounded.allowsHedge(0, 0.1)).to.equal(true);
    const unbounded = new SharedFleetBudget(fake, false);
    answers.retry = false;
    expect(unbounded.allowsRetry(0), 'ratio Infinity: the local budget allows every retry').to.equal(undefined);
    expect(counted).to.deep.equal(['first', 'retry', 'hedge', 'hedge? 0.1']);
  });
});
