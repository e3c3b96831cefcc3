import { expect } from 'chai';
import fc from 'fast-check';
import { ADMITTED, Circuit, PROBE, REJECTED, type CircuitState } from '../../../src/engine/breaker/circuit.js';
import { ConsecutiveRule } from '../../../src/engine/breaker/consecutive-rule.js';
import { RateRule } from '../../../src/engine/breaker/rate-rule.js';

function consecutive(threshold = 3, settings = { openMs: 1000, maxOpenMs: 8000, halfOpenProbes: 1 }) {
  const transitions: string[] = [];
  const circuit = new Circuit(new ConsecutiveRule(threshold), settings, (from, to) => transitions.push(`${from}->${to}`));
  return { circuit, transitions };
}

function fail(circuit: Circuit, now: number): void {
  const a = circuit.tryAcquire(now);
  circuit.record(now, a, circuit.generation, true, 1);
}

describe('Circuit', () => {
  it('consecutive: opens after N failures in a row; a success resets the count', () => {
    const { circuit, transitions } = consecutive(3);
    fail(circuit, 0);
    fail(circuit, 0);
    circuit.record(0, circuit.tryAcquire(0), circuit.generation, false, 1);
    fail(circuit, 0);
    fail(circuit, 0);
    expect(circuit.state).to.equal('closed');
    fail(circuit, 0);
    expect(circuit.state).to.equal('open');
    expect(transitions).to.deep.equal(['closed->open']);
    expect(circuit.tryAcquire(10)).to.equal(REJECTED);
  });

  it('goes half-open after openMs, closes after the probes succeed', () => {
    const { circuit, transitions } = consecutive(1);
    fail(circuit, 0);
    expect(circuit.tryAcquire(999)).to.equal(REJECTED);
    const probe = circuit.tryAcquire(1000);
    expect(probe).to.equal(PROBE);
    expect(circuit.state).to.equal('half_open');
    expect(circuit.tryAcquire(1000), 'only one concurrent probe').to.equal(REJECTED);
    circuit.record(1001, probe, circuit.generation, false, 1);
    expect(circuit.state).to.equal('closed');
    expect(transitions).to.deep.equal(['closed->open', 'open->half_open', 'half_open->closed']);
  });

  it('a failed probe re-opens with a doubled open period, capped at maxOpenMs', () => {
    const { circuit } = consecutive(1, { openMs: 1000, maxOpenMs: 3000, halfOpenProbes: 1 });
    fail(circuit, 0); // open until 1000
    let now = 1000;
    const expectedPeriods = [2000, 3000, 3000];
    for (const period of expectedPeriods) {
      const probe = circuit.tryAcquire(now);
      expect(probe).to.equal(PROBE);
      circuit.record(now, probe, circuit.generation, true, 1);
      expect(circuit.state).to.equal('open');
      expect(circuit.retryAfterMs(now)).to.equal(period);
      expect(circuit.tryAcquire(now + period - 1)).to.equal(REJECTED);
      now += period;
    }
    expect(circuit.stats(now).consecutiveOpens).to.equal(4);
  });

  it('half-open admits exactly halfOpenProbes concurrent probes and needs all to succeed', () => {
    const { circuit } = consecutive(1, { openMs: 100, maxOpenMs: 100, halfOpenProbes: 2 });
    fail(circuit, 0);
    const a = circuit.tryAcquire(100);
    const b = circuit.tryAcquire(100);
    expect([a, b]).to.deep.equal([PROBE, PROBE]);
    expect(circuit.tryAcquire(100)).to.equal(REJECTED);
    const g = circuit.generation;
    circuit.record(101, a, g, false, 1);
    expect(circuit.state).to.equal('half_open');
    circuit.record(102, b, g, false, 1);
    expect(circuit.state).to.equal('closed');
  });

  it('a cancelled probe gives its slot back', () => {
    const { circuit } = consecutive(1, { openMs: 100, maxOpenMs: 100, halfOpenProbes: 1 });
    fail(circuit, 0);
    const probe = circuit.tryAcquire(100);
    circuit.release(probe, circuit.generation);
    expect(circuit.tryAcquire(100)).to.equal(PROBE);
  });

  it('ignores a straggler admitted before the last transition', () => {
    const { circuit } = consecutive(1);
    const straggler = circuit.tryAcquire(0);
    const generation = circuit.generation;
    fail(circuit, 0); // opens
    circuit.record(5, straggler, generation, false, 1); // success from the closed period
    expect(circuit.state).to.equal('open');
  });

  it('isolate holds it open past openMs until reset', () => {
    const { circuit, transitions } = consecutive(3);
    circuit.isolate();
    expect(circuit.tryAcquire(1_000_000)).to.equal(REJECTED);
    expect(circuit.state).to.equal('open');
    expect(circuit.retryAfterMs(0)).to.equal(undefined);
    circuit.reset();
    expect(circuit.state).to.equal('closed');
    expect(circuit.tryAcquire(0)).to.equal(ADMITTED);
    expect(transitions).to.deep.equal(['closed->open', 'open->closed']);
  });

  it('a throwing transition listener does not break the machine', () => {
    const circuit = new Circuit(new ConsecutiveRule(1), { openMs: 10, maxOpenMs: 10, halfOpenProbes: 1 }, () => {
      throw new Error('listener');
    });
    fail(circuit, 0);
    expect(circuit.state).to.equal('open');
  });

  it('rate: opens on the failure rate once minCalls are in the window', () => {
    const rule = new RateRule({ failureRate: 0.5, minCalls: 10, windowMs: 10_000, slowCallMs: 0, slowCallRate: 1 });
    const circuit = new Circuit(rule, { openMs: 1000, maxOpenMs: 1000, halfOpenProbes: 1 });
    for (let i = 0; i < 9; i++) fail(circuit, i);
    expect(circuit.state, 'below minCalls').to.equal('closed');
    circuit.record(9, circuit.tryAcquire(9), circuit.generation, false, 1);
    expect(circuit.state, '9 of 10 failed').to.equal('open');
  });

  it('rate: old failures slide out of the window', () => {
    const rule = new RateRule({ failureRate: 0.5, minCalls: 4, windowMs: 1000, slowCallMs: 0, slowCallRate: 1 });
    const circuit = new Circuit(rule, { openMs: 1000, maxOpenMs: 1000, halfOpenProbes: 1 });
    fail(circuit, 0);
    fail(circuit, 0);
    const ok = (t: number) => circuit.record(t, circuit.tryAcquire(t), circuit.generation, false, 1);
    ok(1500);
    ok(1500);
    ok(1500);
    fail(circuit, 1500);
    expect(circuit.state, '1 of 4 in window').to.equal('closed');
  });

  it('rate: opens on the slow-call rate', () => {
    const rule = new RateRule({ failureRate: 1, minCalls: 4, windowMs: 10_000, slowCallMs: 500, slowCallRate: 0.75 });
    const circuit = new Circuit(rule, { openMs: 1000, maxOpenMs: 1000, halfOpenProbes: 1 });
    const call = (ms: number) => circuit.record(0, circuit.tryAcquire(0), circuit.generation, false, ms);
    call(10);
    call(600);
    call(700);
    expect(circuit.state).to.equal('closed');
    call(800);
    expect(circuit.state).to.equal('open');
  });

  // A model of the machine, driven by random events: the real one must agree at every step.
  it('property: transitions follow the model for any sequence of events', () => {
    type Event = { kind: 'call'; failed: boolean; dt: number } | { kind: 'isolate' } | { kind: 'reset' };
    const eventArb: fc.Arbitrary<Event> = fc.oneof(
      { weight: 20, arbitrary: fc.record({ kind: fc.constant('call' as const), failed: fc.boolean(), dt: fc.integer({ min: 0, max: 3000 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'isolate' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.array(eventArb, { maxLength: 200 }), (threshold, probes, events) => {
        const openMs = 1000;
        const maxOpenMs = 4000;
        const seen: Array<[CircuitState, CircuitState]> = [];
        const circuit = new Circuit(new ConsecutiveRule(threshold), { openMs, maxOpenMs, halfOpenProbes: probes }, (f, t) => seen.push([f, t]));
        let model: CircuitState = 'closed';
        let failures = 0;
        let opens = 0;
        let openUntil = 0;
        let isolated = false;
        let successes = 0;
        let now = 0;
        for (const e of events) {
          if (e.kind === 'isolate') {
            circuit.isolate();
            model = 'open';
            isolated = true;
          } else if (e.kind === 'reset') {
            circuit.reset();
            model = 'closed';
            isolated = false;
            failures = 0;
            opens = 0;
          } else {
            now += e.dt;
            const admission = circuit.tryAcquire(now);
            if (model === 'open' && !isolated && now >= openUntil) {
              model = 'half_open';
              successes = 0;
            }
            const expectAdmitted = model === 'closed' ? ADMITTED : model === 'half_open' ? PROBE : REJECTED;
            expect(admission).to.equal(expectAdmitted);
            if (admission === REJECTED) continue;
            circuit.record(now, admission, circuit.generation, e.failed, 1);
            if (model === 'closed') {
              failures = e.failed ? failures + 1 : 0;
              if (failures >= threshold) {
                opens++;
                openUntil = now + Math.min(maxOpenMs, openMs * 2 ** (opens - 1));
                model = 'open';
              }
            } else if (e.failed) {
              opens++;
              openUntil = now + Math.min(maxOpenMs, openMs * 2 ** (opens - 1));
              model = 'open';
            } else if (++successes >= probes) {
              model = 'closed';
              failures = 0;
              opens = 0;
            }
          }
          expect(circuit.state).to.equal(model);
        }
        // every reported transition is a legal edge and changes the state
        const legal = new Set(['closed->open', 'open->half_open', 'half_open->closed', 'half_open->open', 'open->closed']);
        for (const [from, to] of seen) expect(legal.has(`${from}->${to}`), `${from}->${to}`).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });
});
