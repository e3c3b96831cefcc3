import { Circuit } from '../src/engine/breaker/circuit.js';
import { ConsecutiveRule } from '../src/engine/breaker/consecutive-rule.js';
import { RateRule } from '../src/engine/breaker/rate-rule.js';
import type { BenchCase } from './measure.js';

/**
 * Breaker admission alone: tryAcquire on a closed breaker (what every call pays), and
 * a full admit + record cycle per counting rule, with a fixed clock reading.
 */
export function admissionCases(): BenchCase[] {
  const settings = { openMs: 5000, maxOpenMs: 60000, halfOpenProbes: 1 };
  const consecutive = new Circuit(new ConsecutiveRule(5), settings);
  const rate = new Circuit(new RateRule({ failureRate: 0.5, minCalls: 20, windowMs: 30_000, slowCallMs: 1000, slowCallRate: 0.8 }), settings);
  let sink = 0;
  return [
    {
      name: 'tryAcquire (closed)',
      run(n) {
        for (let i = 0; i < n; i++) sink += consecutive.tryAcquire(i);
      },
    },
    {
      name: 'tryAcquire + record (consecutive)',
      run(n) {
        for (let i = 0; i < n; i++) {
          const a = consecutive.tryAcquire(i);
          consecutive.record(i, a, consecutive.generation, false, 1);
        }
      },
    },
    {
      name: 'tryAcquire + record (rate, sliding window)',
      run(n) {
        for (let i = 0; i < n; i++) {
          const a = rate.tryAcquire(i);
          rate.record(i, a, rate.generation, (i & 7) === 0, 1);
        }
        if (sink < 0) console.log(sink);
      },
    },
  ];
}
