import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, policyForTarget } from '../../src/config/index.js';
import type { EffectiveConfig } from '../../src/config/index.js';
import { HEDGE_DEFAULTS } from '../../src/engine/defaults.js';

const FILE = '/etc/bw.yaml';

/** Loads with this file text (none when undefined) and only these variables. */
function load(text: string | undefined, env: Record<string, string> = {}): EffectiveConfig {
  return loadConfig(text === undefined ? env : { BREAKWATER_CONFIG: FILE, ...env }, { readFile: () => text ?? '' });
}

function problemsOf(text: string | undefined, env: Record<string, string> = {}): string[] {
  try {
    load(text, env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  expect.fail('expected a ConfigError');
}

describe('config: hedging', () => {
  it('is off unless asked for, with the engine defaults ready for when it is on', () => {
    expect(load(undefined).defaults.hedge).to.equal(false);
    expect(load(undefined, { BREAKWATER_HEDGE: 'true' }).defaults.hedge).to.deep.equal({ enabled: true, ...HEDGE_DEFAULTS });
    expect(HEDGE_DEFAULTS.delayMs).to.equal('adaptive');
  });

  it('reads every variable together', () => {
    const config = load(undefined, {
      BREAKWATER_HEDGE: '1',
      BREAKWATER_HEDGE_DELAY_MS: '35',
      BREAKWATER_HEDGE_PERCENTILE: '0.99',
      BREAKWATER_HEDGE_MIN_DELAY_MS: '2',
      BREAKWATER_HEDGE_MAX_DELAY_MS: '800',
      BREAKWATER_HEDGE_MIN_SAMPLES: '50',
      BREAKWATER_HEDGE_MAX_HEDGES: '2',
      BREAKWATER_HEDGE_BUDGET_RATIO: '0.05',
    });
    expect(config.defaults.hedge).to.deep.equal({ enabled: true, delayMs: 35, percentile: 0.99, minDelayMs: 2, maxDelayMs: 800, minSamples: 50, maxHedges: 2, budgetRatio: 0.05 });
    expect(config.origins.defaults).to.include({ 'hedge.enabled': 'BREAKWATER_HEDGE', 'hedge.delayMs': 'BREAKWATER_HEDGE_DELAY_MS', 'hedge.budgetRatio': 'BREAKWATER_HEDGE_BUDGET_RATIO' });
  });

  it('stops on a bad value, naming the variable, the value and what is accepted', () => {
    expect(problemsOf(undefined, { BREAKWATER_HEDGE_DELAY_MS: 'fast' })).to.deep.equal([
      'BREAKWATER_HEDGE_DELAY_MS="fast" is not accepted: expected an integer from 0 to 2147483647, or adaptive',
    ]);
    expect(problemsOf(undefined, { BREAKWATER_HEDGE_PERCENTILE: '2' })).to.deep.equal([
      'BREAKWATER_HEDGE_PERCENTILE="2" is not accepted: expected a number > 0 and < 1, the percentile as a share (0.95 for p95) (did you mean 0.02?)',
    ]);
    expect(problemsOf(undefined, { BREAKWATER_HEDGE_MAX_HEDGES: '0' })).to.deep.equal(['BREAKWATER_HEDGE_MAX_HEDGES="0" is not accepted: expected an integer >= 1']);
    expect(problemsOf(undefined, { BREAKWATER_HEDGE: 'on' })).to.deep.equal(['BREAKWATER_HEDGE="on" is not accepted: expected true, false, 1 or 0']);
  });

  it('reads a percentile written as a percentage as a slip, and says which share was meant', () => {
    for (const [raw, meant] of [['95', '0.95'], ['p95', '0.95'], ['P99.9', '0.999'], ['99%', '0.99']] as const) {
      expect(problemsOf(undefined, { BREAKWATER_HEDGE_PERCENTILE: raw })[0], raw).to.match(new RegExp(`\\(did you mean ${meant.replace('.', '\\.')}\\?\\)$`));
    }
    for (const raw of ['1', '0', '100', 'high']) expect(problemsOf(undefined, { BREAKWATER_HEDGE_PERCENTILE: raw })[0], raw).not.to.include('did you mean');
    expect(problemsOf('defaults:\n  hedge: { percentile: 95 }\n')).to.deep.equal([
      `${FILE}:2: defaults.hedge.percentile: 95 is not accepted: expected a number > 0 and < 1, the percentile as a share (0.95 for p95) (did you mean 0.95?)`,
    ]);
  });

  it('suggests adaptive for a near miss of it', () => {
    expect(problemsOf(undefined, { BREAKWATER_HEDGE_DELAY_MS: 'adaptiv' })[0]).to.match(/expected an integer from 0 to 2147483647, or adaptive \(did you mean adaptive\?\)$/);
  });

  it('reads the hedge section of a file, with "adaptive" or a number of milliseconds', () => {
    const text = [
      'defaults:', //                                           1
      '  hedge:', //                                            2
      '    enabled: true', //                                   3
      '    delayMs: adaptive', //                               4
      '    percentile: 0.9', //                                 5
      '    minDelayMs: 3', //                                   6
      '    maxDelayMs: 400', //                                 7
      '    minSamples: 10', //                                  8
      '    maxHedges: 2', //                                    9
      '    budgetRatio: 0.2', //                                10
      'targets:', //                                            11
      '  - match: "https://search.example.com:*"', //           12
      '    policy: { hedge: { delayMs: 25 } }', //              13
    ].join('\n');
    const config = load(text);
    expect(config.defaults.hedge).to.deep.equal({ enabled: true, delayMs: 'adaptive', percentile: 0.9, minDelayMs: 3, maxDelayMs: 400, minSamples: 10, maxHedges: 2, budgetRatio: 0.2 });
    expect(config.targets[0]!.policy.hedge).to.deep.include({ enabled: true, delayMs: 25, percentile: 0.9 });
    expect(config.origins.targets[0]).to.include({ 'hedge.delayMs': `${FILE}:13: targets[0].policy.hedge.delayMs`, 'hedge.enabled': `${FILE}:3: defaults.hedge.enabled` });
  });

  it('names the file, line, key, value and what is accepted for a bad hedge value or section', () => {
    const text = ['defaults:', '  hedge:', '    delayMs: fast', '    maxHedges: 0', '    budgetRatio: -1', '    enabled: "yes"', 'targets:', '  - match: "a*"', '    policy: { hedge: true }'].join('\n');
    expect(problemsOf(text)).to.deep.equal([
      `${FILE}:3: defaults.hedge.delayMs: "fast" is not accepted: expected an integer from 0 to 2147483647, or "adaptive"`,
      `${FILE}:4: defaults.hedge.maxHedges: 0 is not accepted: expected an integer >= 1`,
      `${FILE}:5: defaults.hedge.budgetRatio: -1 is not accepted: expected a number >= 0 (0 = no hedge is ever sent)`,
      `${FILE}:6: defaults.hedge.enabled: "yes" is not accepted: expected true or false`,
      `${FILE}:9: targets[0].policy.hedge: true is not accepted: expected a mapping with any of enabled, delayMs, percentile, minDelayMs, maxDelayMs, minSamples, maxHedges, budgetRatio, or false`,
    ]);
    expect(problemsOf('defaults:\n  hedge: { delay_ms: 5 }\n')).to.deep.equal([`${FILE}:2: defaults.hedge.delay_ms: unknown key (did you mean delayMs?)`]);
  });

  it('requires maxDelayMs to be at least minDelayMs, whichever layer sets them', () => {
    expect(problemsOf(undefined, { BREAKWATER_HEDGE_MIN_DELAY_MS: '500', BREAKWATER_HEDGE_MAX_DELAY_MS: '200' })).to.deep.equal([
      'BREAKWATER_HEDGE_MAX_DELAY_MS="200" is not accepted: must be at least hedge.minDelayMs, which is 500 (BREAKWATER_HEDGE_MIN_DELAY_MS)',
    ]);
    expect(problemsOf(undefined, { BREAKWATER_HEDGE_MIN_DELAY_MS: '20000' })).to.deep.equal([
      `BREAKWATER_HEDGE_MIN_DELAY_MS="20000" is not accepted: must be at most hedge.maxDelayMs, which is ${HEDGE_DEFAULTS.maxDelayMs} (default)`,
    ]);
    const perTarget = 'targets:\n  - match: "a*"\n    policy: { hedge: { minDelayMs: 900 } }\n';
    expect(problemsOf(perTarget, { BREAKWATER_HEDGE_MAX_DELAY_MS: '400' })).to.deep.equal([
      `${FILE}:3: targets[0].policy.hedge.minDelayMs: 900 is not accepted: must be at most hedge.maxDelayMs, which is 400 (BREAKWATER_HEDGE_MAX_DELAY_MS)`,
    ]);
    expect(load(undefined, { BREAKWATER_HEDGE: 'true', BREAKWATER_HEDGE_MIN_DELAY_MS: '300', BREAKWATER_HEDGE_MAX_DELAY_MS: '300' }).defaults.hedge).to.include({ minDelayMs: 300, maxDelayMs: 300 });
  });

  it('layers as every policy value does: built-in < file defaults < environment < file target policy', () => {
    const text = [
      'defaults:', //                                           1
      '  hedge: { enabled: true, percentile: 0.9, maxHedges: 3, minSamples: 7 }', // 2
      'targets:', //                                            3
      '  - match: "https://search.example.com:*"', //           4
      '    policy: { hedge: { percentile: 0.5 } }', //          5
      '  - match: "postgresql://*"', //                         6
      '    policy: { hedge: false }', //                        7
    ].join('\n');
    const fileOnly = load(text);
    expect(fileOnly.defaults.hedge).to.include({ percentile: 0.9, maxHedges: 3, budgetRatio: HEDGE_DEFAULTS.budgetRatio });

    const config = load(text, { BREAKWATER_HEDGE_PERCENTILE: '0.99', BREAKWATER_HEDGE_MAX_HEDGES: '2', BREAKWATER_HEDGE: 'true' });
    const [search, pg] = config.targets.map((t) => t.policy);
    // The variables win over the file's defaults...
    expect(config.defaults.hedge).to.include({ percentile: 0.99, maxHedges: 2, minSamples: 7, budgetRatio: HEDGE_DEFAULTS.budgetRatio });
    expect(config.origins.defaults).to.include({
      'hedge.percentile': 'BREAKWATER_HEDGE_PERCENTILE',
      'hedge.maxHedges': 'BREAKWATER_HEDGE_MAX_HEDGES',
      'hedge.minSamples': `${FILE}:2: defaults.hedge.minSamples`,
      'hedge.budgetRatio': 'default',
    });
    // ...and a target's own values win over the variables; the rest it inherits.
    expect(search!.hedge).to.include({ enabled: true, percentile: 0.5, maxHedges: 2, minSamples: 7 });
    expect(config.origins.targets[0]).to.include({ 'hedge.percentile': `${FILE}:5: targets[0].policy.hedge.percentile`, 'hedge.maxHedges': 'BREAKWATER_HEDGE_MAX_HEDGES' });
    // `hedge: false` for a target holds against BREAKWATER_HEDGE=true.
    expect(pg!.hedge).to.equal(false);
    expect(config.origins.targets[1]).to.include({ 'hedge.enabled': `${FILE}:7: targets[1].policy.hedge` });
  });

  it('a target policy in the file turns hedging on for that target only', () => {
    const text = 'targets:\n  - match: "https://search.example.com:*"\n    policy: { name: search, hedge: { enabled: true, delayMs: 40 } }\n';
    const config = load(text, { BREAKWATER_HEDGE_MAX_HEDGES: '2' });
    expect(config.defaults.hedge).to.equal(false);
    expect(policyForTarget(config, 'https://search.example.com:443').hedge).to.deep.equal({ ...HEDGE_DEFAULTS, enabled: true, delayMs: 40, maxHedges: 2 });
    expect(policyForTarget(config, 'https://api.example.com:443').hedge).to.equal(false);
    expect(policyForTarget(config, 'postgresql://db:5432/app').hedge).to.equal(false);
  });

  it('takes the example of docs/configuration.md, "Hedging"', () => {
    const docs = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    const example = /^## Hedging\n[\s\S]*?```yaml\n([\s\S]*?)```/m.exec(docs)?.[1];
    expect(example, 'the example').to.be.a('string');
    const config = load(example);
    expect(policyForTarget(config, 'https://search.example.com:443').hedge).to.include({ enabled: true, delayMs: 'adaptive', percentile: 0.95 });
    expect(config.defaults.hedge).to.equal(false);
  });

  it('reads a printed policy back as it was (hedge keeps `enabled`)', () => {
    const config = load('defaults:\n  hedge: { enabled: true, delayMs: 30 }\ntargets:\n  - match: "a*"\n    policy: { hedge: false }\n');
    const again = load(JSON.stringify({ defaults: config.defaults, targets: config.targets }));
    expect(again.defaults).to.deep.equal(config.defaults);
    expect(again.targets).to.deep.equal(config.targets);
  });
});
