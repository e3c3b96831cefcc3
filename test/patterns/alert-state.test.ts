import { expect } from 'chai';
import type { Finding } from '../../src/patterns/alerts.js';
import { AlertState } from '../../src/patterns/alert-state.js';

const finding = (key: string): Finding => ({ key, target: key, labels: { resilience_target: key }, summary: '' });

/** Steps an AlertState through minutes where the condition holds (1) or not (0); returns the minutes it fired and was firing. */
function run(forMinutes: number, keepFiringFor: number, pattern: string) {
  const state = new AlertState(forMinutes, keepFiringFor);
  const fired: number[] = [];
  const firing: number[] = [];
  [...pattern].forEach((c, minute) => {
    if (state.step(minute, c === '1' ? [finding('a')] : []).length > 0) fired.push(minute);
    if (state.firing().length > 0) firing.push(minute);
  });
  return { fired, firing };
}

describe('AlertState: Prometheus for and keep_firing_for (src/patterns/alert-state.ts)', () => {
  it('fires once the condition has held for `for`, and resets when it breaks while pending', () => {
    expect(run(2, 0, '11011100')).to.deep.equal({ fired: [5], firing: [5] });
  });

  it('fires at once without `for`, and ends with the condition', () => {
    expect(run(0, 0, '0110')).to.deep.equal({ fired: [1], firing: [1, 2] });
  });

  it('keeps firing for keep_firing_for after the condition ends, bridging a gap as one episode', () => {
    // Last true at 3: held through 4, 5 and 6 (under 3 minutes since the first false one), resolved at 7.
    expect(run(0, 3, '1001000000')).to.deep.equal({ fired: [0], firing: [0, 1, 2, 3, 4, 5, 6] });
  });

  it('a new episode after the alert resolved is detected again', () => {
    expect(run(1, 0, '110011')).to.deep.equal({ fired: [1, 5], firing: [1, 5] });
  });
});
