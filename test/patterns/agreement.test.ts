import { expect } from 'chai';
import { ALERT_RULES } from '../../src/patterns/index.js';
import { PATTERNS } from '../../src/telemetry/names.js';
import { ALERT_NAMES, ALERT_PATTERNS, SCENARIOS } from './scenarios.js';
import { replay } from './replay.js';

/**
 * The in-process detector against every scenario the Prometheus rules are tested with
 * (test/collector/rules.test.ts runs the same ones through promtool): both must agree.
 */
describe('pattern detector agrees with the Prometheus rules on every scenario', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.fires ? 'fires' : 'stays silent'}: ${scenario.name}`, () => {
      const { firingAt, detections } = replay(scenario);
      if (scenario.fires) {
        const firing = firingAt[scenario.evalAtMinute] ?? [];
        expect(firing, scenario.why).to.have.length(1);
        expect(firing[0]?.labels).to.deep.equal(scenario.expectLabels);
        expect(firing[0]?.pattern).to.equal(scenario.pattern);
        // Recorded once, when the episode began.
        const episode = detections.filter((d) => d.minute <= scenario.evalAtMinute && JSON.stringify(d.labels) === JSON.stringify(scenario.expectLabels));
        expect(episode, 'one detection for the episode').to.have.length(1);
      } else {
        const from = scenario.silentFromMinute ?? scenario.evalAtMinute;
        for (let minute = from; minute <= scenario.evalAtMinute; minute++) {
          expect(firingAt[minute], `${scenario.why} (minute ${minute})`).to.deep.equal([]);
        }
      }
    });
  }

  it('at time scale 60 (a minute lasts a second, as in the demo and the end-to-end test) every scenario gives the same detections', () => {
    for (const scenario of SCENARIOS) {
      expect(replay(scenario, 60), scenario.name).to.deep.equal(replay(scenario));
    }
  });

  it('mirrors every alert, with its pattern, and the patterns are those src/telemetry/names.ts lists', () => {
    expect(ALERT_RULES.map((r) => [r.name, r.pattern]).sort()).to.deep.equal(Object.entries(ALERT_PATTERNS).sort());
    expect([...new Set(Object.values(ALERT_PATTERNS))].sort()).to.deep.equal([...PATTERNS].sort());
  });

  it('every alert has a scenario that fires and one that must not', () => {
    for (const alert of ALERT_NAMES) {
      expect(SCENARIOS.some((s) => s.alert === alert && s.fires), alert).to.equal(true);
      expect(SCENARIOS.some((s) => s.alert === alert && !s.fires), alert).to.equal(true);
    }
  });
});
