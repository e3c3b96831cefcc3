import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { BUILT_IN_DEFAULTS, ConfigError, policyForTarget } from '../../src/config/index.js';
import type { ResolvedConcurrencyLimit } from '../../src/config/index.js';
import { LIMIT_DEFAULTS } from '../../src/engine/defaults.js';
import { GRADIENT_DEFAULTS, resolveGradientSettings } from '../../src/engine/gradient-limit.js';
import type { GradientLimitSettings } from '../../src/engine/gradient-limit.js';
import { FILE, load, problemsOf } from '../helpers/config.js';

const ADAPTIVE = { BREAKWATER_CONCURRENCY_LIMIT: 'adaptive' };

/** The gradient settings a configuration may set; the others are the engine's own. */
const CONFIGURABLE = ['initialLimit', 'minLimit', 'maxLimit', 'buffer', 'sampleWindowMs', 'minRttIntervalMs'] as const;
const FIXED = (Object.keys(GRADIENT_DEFAULTS) as Array<keyof GradientLimitSettings>).filter((k) => !(CONFIGURABLE as readonly string[]).includes(k));

/** min, initial and max of a resolved limit. */
function bounds(limit: ResolvedConcurrencyLimit | false): [number, number, number] {
  expect(limit, 'an adaptive limit').not.to.equal(false);
  const { minLimit, initialLimit, maxLimit } = limit as ResolvedConcurrencyLimit;
  return [minLimit, initialLimit, maxLimit];
}

describe('config: overload protection (concurrencyLimit, rateLimit)', () => {
  it('is off unless asked for, with the engine defaults ready for when it is on', () => {
    expect(load(undefined).defaults).to.include({ concurrencyLimit: false, rateLimit: false });

    const limit = load(undefined, ADAPTIVE).defaults.concurrencyLimit as ResolvedConcurrencyLimit;
    const gradient = Object.fromEntries(CONFIGURABLE.map((key) => [key, GRADIENT_DEFAULTS[key]]));
    expect(limit).to.deep.equal({ mode: 'adaptive', ...gradient, maxQueue: LIMIT_DEFAULTS.maxQueue, maxWaitMs: LIMIT_DEFAULTS.maxWaitMs });
    // The engine reads it as its own defaults, the settings a configuration cannot set included.
    expect(resolveGradientSettings(limit)).to.deep.equal(GRADIENT_DEFAULTS);

    const rate = { ratePerSecond: 0, burst: LIMIT_DEFAULTS.rateBurst, fromHeaders: false, maxWaitMs: LIMIT_DEFAULTS.rateMaxWaitMs };
    expect(load(undefined, { BREAKWATER_RATE_LIMIT_FROM_HEADERS: 'true' }).defaults.rateLimit).to.deep.equal({ ...rate, fromHeaders: true });
    expect(load(undefined, { BREAKWATER_RATE_LIMIT_PER_SECOND: '10' }).defaults.rateLimit).to.deep.equal({ ...rate, ratePerSecond: 10 });
    // Neither a rate nor the headers: no rate limit, whatever else is set.
    expect(load(undefined, { BREAKWATER_RATE_LIMIT_PER_SECOND: '0', BREAKWATER_RATE_LIMIT_BURST: '5' }).defaults.rateLimit).to.equal(false);
    expect(load(undefined, { BREAKWATER_CONCURRENCY_LIMIT: 'off', BREAKWATER_CONCURRENCY_LIMIT_MAX: '5' }).defaults.concurrencyLimit).to.equal(false);
  });

  it('reads every variable together', () => {
    const config = load(undefined, {
      BREAKWATER_CONCURRENCY_LIMIT: 'ADAPTIVE',
      BREAKWATER_CONCURRENCY_LIMIT_INITIAL: '40',
      BREAKWATER_CONCURRENCY_LIMIT_MIN: '4',
      BREAKWATER_CONCURRENCY_LIMIT_MAX: '400',
      BREAKWATER_CONCURRENCY_LIMIT_BUFFER: '0.5',
      BREAKWATER_CONCURRENCY_LIMIT_SAMPLE_WINDOW_MS: '500',
      BREAKWATER_CONCURRENCY_LIMIT_MIN_RTT_INTERVAL_MS: '30000',
      BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE: '8',
      BREAKWATER_CONCURRENCY_LIMIT_MAX_WAIT_MS: '20',
      BREAKWATER_RATE_LIMIT_PER_SECOND: '2.5',
      BREAKWATER_RATE_LIMIT_BURST: '5',
      BREAKWATER_RATE_LIMIT_FROM_HEADERS: '1',
      BREAKWATER_RATE_LIMIT_MAX_WAIT_MS: '300',
    });
    expect(config.defaults.concurrencyLimit).to.deep.equal({
      mode: 'adaptive',
      initialLimit: 40,
      minLimit: 4,
      maxLimit: 400,
      buffer: 0.5,
      sampleWindowMs: 500,
      minRttIntervalMs: 30000,
      maxQueue: 8,
      maxWaitMs: 20,
    });
    expect(config.defaults.rateLimit).to.deep.equal({ ratePerSecond: 2.5, burst: 5, fromHeaders: true, maxWaitMs: 300 });
    expect(config.origins.defaults).to.include({
      'concurrencyLimit.mode': 'BREAKWATER_CONCURRENCY_LIMIT',
      'concurrencyLimit.initialLimit': 'BREAKWATER_CONCURRENCY_LIMIT_INITIAL',
      'concurrencyLimit.minRttIntervalMs': 'BREAKWATER_CONCURRENCY_LIMIT_MIN_RTT_INTERVAL_MS',
      'concurrencyLimit.maxWaitMs': 'BREAKWATER_CONCURRENCY_LIMIT_MAX_WAIT_MS',
      'rateLimit.ratePerSecond': 'BREAKWATER_RATE_LIMIT_PER_SECOND',
      'rateLimit.fromHeaders': 'BREAKWATER_RATE_LIMIT_FROM_HEADERS',
      'rateLimit.maxWaitMs': 'BREAKWATER_RATE_LIMIT_MAX_WAIT_MS',
    });
  });

  it('stops on a bad value, naming the variable, the value and what is accepted', () => {
    expect(
      problemsOf(undefined, {
        BREAKWATER_CONCURRENCY_LIMIT: 'adaptiv',
        BREAKWATER_CONCURRENCY_LIMIT_BUFFER: '25',
        BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE: '-1',
        BREAKWATER_RATE_LIMIT_PER_SECOND: '10/s',
        BREAKWATER_RATE_LIMIT_BURST: '0',
        BREAKWATER_RATE_LIMIT_FROM_HEADERS: 'yes',
        BREAKWATER_RATE_LIMIT_MAX_WAIT_MS: '1s',
      }),
    ).to.deep.equal([
      'BREAKWATER_CONCURRENCY_LIMIT="adaptiv" is not accepted: expected one of adaptive, off (did you mean adaptive?)',
      'BREAKWATER_CONCURRENCY_LIMIT_BUFFER="25" is not accepted: expected a number > 0 and <= 1',
      'BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE="-1" is not accepted: expected an integer >= 0 (0 = no queue: an attempt finding every slot taken fails at once)',
      'BREAKWATER_RATE_LIMIT_BURST="0" is not accepted: expected an integer >= 1',
      'BREAKWATER_RATE_LIMIT_FROM_HEADERS="yes" is not accepted: expected true, false, 1 or 0',
      'BREAKWATER_RATE_LIMIT_MAX_WAIT_MS="1s" is not accepted: expected an integer from 0 to 2147483647 (0 = an attempt that would wait fails at once)',
      'BREAKWATER_RATE_LIMIT_PER_SECOND="10/s" is not accepted: expected a number >= 0 (0 = no hand-set rate)',
    ]);
    expect(problemsOf(undefined, { BREAKWATER_CONCURRENCY_LIMIT: 'on' })).to.deep.equal(['BREAKWATER_CONCURRENCY_LIMIT="on" is not accepted: expected one of adaptive, off']);
  });

  it('reads the concurrencyLimit and rateLimit sections of a file', () => {
    const text = [
      'defaults:', //                                                 1
      '  concurrencyLimit:', //                                       2
      '    mode: adaptive', //                                        3
      '    initialLimit: 10', //                                      4
      '    minLimit: 2', //                                           5
      '    maxLimit: 100', //                                         6
      '    buffer: 0.1', //                                           7
      '    sampleWindowMs: 100', //                                   8
      '    minRttIntervalMs: 10000', //                               9
      '    maxQueue: 0', //                                           10
      '    maxWaitMs: 0', //                                          11
      '  rateLimit: { ratePerSecond: 50, burst: 10, fromHeaders: true, maxWaitMs: 200 }', // 12
      'targets:', //                                                  13
      '  - match: "https://api.example.com:*"', //                    14
      '    policy: { concurrencyLimit: { maxQueue: 4 }, rateLimit: { ratePerSecond: 0 } }', // 15
    ].join('\n');
    const config = load(text);
    expect(config.defaults.concurrencyLimit).to.deep.equal({ mode: 'adaptive', initialLimit: 10, minLimit: 2, maxLimit: 100, buffer: 0.1, sampleWindowMs: 100, minRttIntervalMs: 10000, maxQueue: 0, maxWaitMs: 0 });
    expect(config.defaults.rateLimit).to.deep.equal({ ratePerSecond: 50, burst: 10, fromHeaders: true, maxWaitMs: 200 });
    const target = config.targets[0]!.policy;
    expect(target.concurrencyLimit).to.include({ mode: 'adaptive', maxQueue: 4, minLimit: 2 });
    // No hand-set rate for this target, but the headers still count: the rate limit stays on.
    expect(target.rateLimit).to.deep.equal({ ratePerSecond: 0, burst: 10, fromHeaders: true, maxWaitMs: 200 });
    expect(config.origins.targets[0]).to.include({
      'concurrencyLimit.maxQueue': `${FILE}:15: targets[0].policy.concurrencyLimit.maxQueue`,
      'concurrencyLimit.mode': `${FILE}:3: defaults.concurrencyLimit.mode`,
      'rateLimit.ratePerSecond': `${FILE}:15: targets[0].policy.rateLimit.ratePerSecond`,
      'rateLimit.burst': `${FILE}:12: defaults.rateLimit.burst`,
    });
  });

  it('names the file, line, key, value and what is accepted for a bad value or section', () => {
    const text = [
      'defaults:', //                                                 1
      '  concurrencyLimit:', //                                       2
      '    mode: on', //                                              3
      '    buffer: 0', //                                             4
      '    smoothing: 0.2', //                                        5
      '  rateLimit: { ratePerSecond: "10", fromHeaders: "yes", rate_per_second: 5 }', // 6
      'targets:', //                                                  7
      '  - match: "a*"', //                                           8
      '    policy: { concurrencyLimit: true, rateLimit: 10 }', //    9
    ].join('\n');
    expect(problemsOf(text)).to.deep.equal([
      `${FILE}:3: defaults.concurrencyLimit.mode: "on" is not accepted: expected one of adaptive, off`,
      `${FILE}:4: defaults.concurrencyLimit.buffer: 0 is not accepted: expected a number > 0 and <= 1`,
      `${FILE}:5: defaults.concurrencyLimit.smoothing: unknown key (expected one of mode, initialLimit, minLimit, maxLimit, buffer, sampleWindowMs, minRttIntervalMs, maxQueue, maxWaitMs)`,
      `${FILE}:6: defaults.rateLimit.ratePerSecond: "10" is not accepted: expected a number >= 0 (0 = no hand-set rate)`,
      `${FILE}:6: defaults.rateLimit.fromHeaders: "yes" is not accepted: expected true or false`,
      `${FILE}:6: defaults.rateLimit.rate_per_second: unknown key (did you mean ratePerSecond?)`,
      `${FILE}:9: targets[0].policy.concurrencyLimit: true is not accepted: expected a mapping with any of mode, initialLimit, minLimit, maxLimit, buffer, sampleWindowMs, minRttIntervalMs, maxQueue, maxWaitMs, or false`,
      `${FILE}:9: targets[0].policy.rateLimit: 10 is not accepted: expected a mapping with any of ratePerSecond, burst, fromHeaders, maxWaitMs, or false`,
    ]);
  });

  it('requires minLimit <= initialLimit <= maxLimit, whichever layer sets them, naming each wrong value once', () => {
    expect(problemsOf(undefined, { BREAKWATER_CONCURRENCY_LIMIT_MIN: '50', BREAKWATER_CONCURRENCY_LIMIT_MAX: '10' })).to.deep.equal([
      'BREAKWATER_CONCURRENCY_LIMIT_MAX="10" is not accepted: must be at least concurrencyLimit.minLimit, which is 50 (BREAKWATER_CONCURRENCY_LIMIT_MIN)',
    ]);
    expect(problemsOf(undefined, { BREAKWATER_CONCURRENCY_LIMIT_INITIAL: '30', BREAKWATER_CONCURRENCY_LIMIT_MAX: '20' })).to.deep.equal([
      'BREAKWATER_CONCURRENCY_LIMIT_MAX="20" is not accepted: must be at least concurrencyLimit.initialLimit, which is 30 (BREAKWATER_CONCURRENCY_LIMIT_INITIAL)',
    ]);
    expect(problemsOf(undefined, { BREAKWATER_CONCURRENCY_LIMIT_MIN: '5', BREAKWATER_CONCURRENCY_LIMIT_INITIAL: '3', BREAKWATER_CONCURRENCY_LIMIT_MAX: '2' })).to.deep.equal([
      'BREAKWATER_CONCURRENCY_LIMIT_MAX="2" is not accepted: must be at least concurrencyLimit.minLimit, which is 5 (BREAKWATER_CONCURRENCY_LIMIT_MIN)',
      'BREAKWATER_CONCURRENCY_LIMIT_INITIAL="3" is not accepted: must be at least concurrencyLimit.minLimit, which is 5 (BREAKWATER_CONCURRENCY_LIMIT_MIN)',
    ]);
    // The value of the higher layer is the one called wrong.
    expect(problemsOf('defaults:\n  concurrencyLimit: { initialLimit: 5 }\n', { BREAKWATER_CONCURRENCY_LIMIT_MIN: '10' })).to.deep.equal([
      `BREAKWATER_CONCURRENCY_LIMIT_MIN="10" is not accepted: must be at most concurrencyLimit.initialLimit, which is 5 (${FILE}:2: defaults.concurrencyLimit.initialLimit)`,
    ]);
    expect(problemsOf('targets:\n  - match: "a*"\n    policy: { concurrencyLimit: { maxLimit: 30 } }\n', { BREAKWATER_CONCURRENCY_LIMIT_MIN: '50' })).to.deep.equal([
      `${FILE}:3: targets[0].policy.concurrencyLimit.maxLimit: 30 is not accepted: must be at least concurrencyLimit.minLimit, which is 50 (BREAKWATER_CONCURRENCY_LIMIT_MIN)`,
    ]);
    const equal = { BREAKWATER_CONCURRENCY_LIMIT_MIN: '7', BREAKWATER_CONCURRENCY_LIMIT_INITIAL: '7', BREAKWATER_CONCURRENCY_LIMIT_MAX: '7' };
    expect(bounds(load(undefined, { ...ADAPTIVE, ...equal }).defaults.concurrencyLimit)).to.deep.equal([7, 7, 7]);
  });

  it('moves an unset initial or maximum limit to fit the limits that are set, as the engine does', () => {
    const fit = (env: Record<string, string>) => load(undefined, { ...ADAPTIVE, ...env });
    const byMax = fit({ BREAKWATER_CONCURRENCY_LIMIT_MAX: '10' });
    expect(bounds(byMax.defaults.concurrencyLimit)).to.deep.equal([1, 10, 10]);
    expect(byMax.origins.defaults).to.include({ 'concurrencyLimit.initialLimit': 'default, fitted to concurrencyLimit.maxLimit', 'concurrencyLimit.minLimit': 'default' });
    const byMin = fit({ BREAKWATER_CONCURRENCY_LIMIT_MIN: '50' });
    expect(bounds(byMin.defaults.concurrencyLimit)).to.deep.equal([50, 50, 1000]);
    expect(byMin.origins.defaults).to.include({ 'concurrencyLimit.initialLimit': 'default, fitted to concurrencyLimit.minLimit', 'concurrencyLimit.maxLimit': 'default' });
    // The engine fits its defaults the same way.
    for (const partial of [{ maxLimit: 10 }, { minLimit: 50 }, { minLimit: 2000 }, { minLimit: 5, maxLimit: 8 }]) {
      const env = { BREAKWATER_CONCURRENCY_LIMIT_MIN: partial.minLimit?.toString() ?? '', BREAKWATER_CONCURRENCY_LIMIT_MAX: partial.maxLimit?.toString() ?? '' };
      const { minLimit, initialLimit, maxLimit } = resolveGradientSettings(partial);
      expect(bounds(fit(env).defaults.concurrencyLimit), JSON.stringify(partial)).to.deep.equal([minLimit, initialLimit, maxLimit]);
    }
    // An initial limit above the default maximum raises it, where the engine would refuse it.
    const byInitial = fit({ BREAKWATER_CONCURRENCY_LIMIT_INITIAL: '2000' });
    expect(bounds(byInitial.defaults.concurrencyLimit)).to.deep.equal([1, 2000, 2000]);
    expect(byInitial.origins.defaults['concurrencyLimit.maxLimit']).to.equal('default, fitted to concurrencyLimit.initialLimit');
    // Per policy: a target's own bounds move the defaults again.
    const config = load('targets:\n  - match: "a*"\n    policy: { concurrencyLimit: { minLimit: 5 } }\n', { ...ADAPTIVE, BREAKWATER_CONCURRENCY_LIMIT_MAX: '8' });
    expect(bounds(config.defaults.concurrencyLimit)).to.deep.equal([1, 8, 8]);
    expect(bounds(config.targets[0]!.policy.concurrencyLimit)).to.deep.equal([5, 8, 8]);
  });

  it('hands the engine only limits it accepts, and refuses exactly the conflicting ones', () => {
    const value = fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined });
    const triple = fc.record({ minLimit: value, initialLimit: value, maxLimit: value });
    fc.assert(
      fc.property(triple, triple, (inEnv, inTarget) => {
        const env: Record<string, string> = { ...ADAPTIVE };
        if (inEnv.minLimit !== undefined) env['BREAKWATER_CONCURRENCY_LIMIT_MIN'] = String(inEnv.minLimit);
        if (inEnv.initialLimit !== undefined) env['BREAKWATER_CONCURRENCY_LIMIT_INITIAL'] = String(inEnv.initialLimit);
        if (inEnv.maxLimit !== undefined) env['BREAKWATER_CONCURRENCY_LIMIT_MAX'] = String(inEnv.maxLimit);
        const text = JSON.stringify({ targets: [{ match: 'a*', policy: { concurrencyLimit: JSON.parse(JSON.stringify(inTarget)) } }] });
        // What each policy sets, the target's values over the variables'.
        const set = { ...JSON.parse(JSON.stringify(inEnv)), ...JSON.parse(JSON.stringify(inTarget)) } as Partial<Record<'minLimit' | 'initialLimit' | 'maxLimit', number>>;
        const conflicts = (s: typeof set) =>
          (s.minLimit ?? 0) > (s.maxLimit ?? Infinity) || (s.minLimit ?? 0) > (s.initialLimit ?? Infinity) || (s.initialLimit ?? 0) > (s.maxLimit ?? Infinity);
        let config;
        try {
          config = load(text, env);
        } catch (error) {
          expect(error).to.be.instanceOf(ConfigError);
          expect(conflicts(inEnv) || conflicts(set), (error as ConfigError).message).to.equal(true);
          return;
        }
        expect(conflicts(inEnv) || conflicts(set)).to.equal(false);
        for (const [policy, given] of [
          [config.defaults, inEnv],
          [config.targets[0]!.policy, set],
        ] as const) {
          const limit = policy.concurrencyLimit as ResolvedConcurrencyLimit;
          const engine = resolveGradientSettings(limit);
          expect(bounds(limit)).to.deep.equal([engine.minLimit, engine.initialLimit, engine.maxLimit]);
          for (const key of ['minLimit', 'initialLimit', 'maxLimit'] as const) if (given[key] !== undefined) expect(limit[key]).to.equal(given[key]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('layers as every policy value does: built-in < file defaults < environment < file target policy', () => {
    const text = [
      'defaults:', //                                                        1
      '  concurrencyLimit: { mode: adaptive, maxQueue: 10, maxLimit: 300 }', // 2
      '  rateLimit: { ratePerSecond: 20, burst: 4 }', //                     3
      'targets:', //                                                         4
      '  - match: "https://api.example.com:*"', //                           5
      '    policy: { concurrencyLimit: { maxQueue: 2 }, rateLimit: { burst: 1 } }', // 6
      '  - match: "postgresql://*"', //                                      7
      '    policy: { concurrencyLimit: false, rateLimit: false }', //        8
    ].join('\n');
    const config = load(text, { BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE: '5', BREAKWATER_RATE_LIMIT_PER_SECOND: '50', BREAKWATER_RATE_LIMIT_FROM_HEADERS: 'true' });
    const [api, pg] = config.targets.map((t) => t.policy);
    // The variables win over the file's defaults...
    expect(config.defaults.concurrencyLimit).to.include({ maxQueue: 5, maxLimit: 300 });
    expect(config.defaults.rateLimit).to.deep.include({ ratePerSecond: 50, burst: 4, fromHeaders: true });
    expect(config.origins.defaults).to.include({
      'concurrencyLimit.maxQueue': 'BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE',
      'concurrencyLimit.maxLimit': `${FILE}:2: defaults.concurrencyLimit.maxLimit`,
      'rateLimit.burst': `${FILE}:3: defaults.rateLimit.burst`,
    });
    // ...and a target's own values win over the variables; the rest it inherits.
    expect(api!.concurrencyLimit).to.include({ mode: 'adaptive', maxQueue: 2, maxLimit: 300 });
    expect(api!.rateLimit).to.deep.equal({ ratePerSecond: 50, burst: 1, fromHeaders: true, maxWaitMs: LIMIT_DEFAULTS.rateMaxWaitMs });
    // `false` for a target holds against the variables that turn the rate limit on.
    expect(pg).to.include({ concurrencyLimit: false, rateLimit: false });
    expect(config.origins.targets[1]).to.include({
      'concurrencyLimit.mode': `${FILE}:8: targets[1].policy.concurrencyLimit`,
      'rateLimit.ratePerSecond': `${FILE}:8: targets[1].policy.rateLimit`,
      'rateLimit.fromHeaders': `${FILE}:8: targets[1].policy.rateLimit`,
    });
  });

  it('a target policy in the file turns adaptive concurrency on for that target only', () => {
    const text = 'targets:\n  - match: "https://inventory.example.com:*"\n    policy: { name: inventory, concurrencyLimit: { mode: adaptive, maxLimit: 200 } }\n';
    const config = load(text, { BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE: '20' });
    expect(config.defaults.concurrencyLimit).to.equal(false);
    expect(policyForTarget(config, 'https://inventory.example.com:443').concurrencyLimit).to.deep.equal({
      ...BUILT_IN_DEFAULTS.policy.concurrencyLimit,
      mode: 'adaptive',
      maxLimit: 200,
      maxQueue: 20,
    });
    expect(policyForTarget(config, 'https://api.example.com:443').concurrencyLimit).to.equal(false);
  });

  it('takes the example of docs/configuration.md, "Overload protection", and documents the settings it leaves to the engine', () => {
    const docs = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    const section = /^## Overload protection\n([\s\S]*?)^## /m.exec(docs)?.[1];
    expect(section, 'the section').to.be.a('string');
    const example = /```yaml\n([\s\S]*?)```/.exec(section!)?.[1];
    const config = load(example);
    expect(policyForTarget(config, 'https://inventory.example.com:443').concurrencyLimit).to.include({ mode: 'adaptive' });
    expect(config.defaults.concurrencyLimit).to.equal(false);
    expect(section).to.include('`BREAKWATER_LIMITED`');
    for (const key of FIXED) expect(section!.replace(/\s+/g, ' '), key).to.include(`\`${key}\` ${GRADIENT_DEFAULTS[key]}`);
  });

  it('reads a printed policy back as it was', () => {
    const config = load('defaults:\n  concurrencyLimit: { mode: adaptive, maxLimit: 50 }\n  rateLimit: { fromHeaders: true }\ntargets:\n  - match: "a*"\n    policy: { concurrencyLimit: false, rateLimit: false }\n');
    const again = load(JSON.stringify({ defaults: config.defaults, targets: config.targets }));
    expect(again.defaults).to.deep.equal(config.defaults);
    expect(again.targets).to.deep.equal(config.targets);
  });
});
