import { expect } from 'chai';
import fc from 'fast-check';
import { BUILT_IN_DEFAULTS, loadConfig, policyForTarget } from '../../src/config/index.js';
import type { EffectiveConfig } from '../../src/config/index.js';
import { BREAKER_MODES, JITTER_MODES } from '../../src/engine/options.js';

function load(file: unknown, env: Record<string, string> = {}): EffectiveConfig {
  const text = JSON.stringify(file);
  return loadConfig({ BREAKWATER_CONFIG: 'p.json', ...env }, { readFile: () => text });
}

describe('config: precedence (built-in < file defaults < environment < file target policy)', () => {
  it('uses the built-in defaults when nothing is set', () => {
    const config = loadConfig({});
    const { bulkhead, hedge, ...rest } = BUILT_IN_DEFAULTS.policy;
    expect(config.defaults).to.deep.equal({ ...rest, bulkhead: false, hedge: false });
    expect(bulkhead.maxConcurrent).to.equal(0);
    expect(hedge.enabled).to.equal(false);
    expect(config).to.deep.include({ enabled: true, maxTargets: 1000, targets: [], rules: [], sources: { env: [] } });
    expect(config.instrumentations).to.deep.equal(['http', 'fetch', 'pg', 'ioredis', 'redis']);
  });

  it('file defaults override built-in defaults; the environment overrides the file', () => {
    const file = { defaults: { timeoutMs: 2000, retry: { maxAttempts: 5, jitter: 'equal' } }, maxTargets: 50, instrumentations: ['pg'] };
    const fromFile = load(file);
    expect(fromFile.defaults.timeoutMs).to.equal(2000);
    expect(fromFile.defaults.retry).to.include({ maxAttempts: 5, jitter: 'equal', multiplier: 2 });
    expect(fromFile.maxTargets).to.equal(50);
    expect(fromFile.instrumentations).to.deep.equal(['pg']);

    const overridden = load(file, { BREAKWATER_RETRY_MAX_ATTEMPTS: '2', BREAKWATER_MAX_TARGETS: '70', BREAKWATER_INSTRUMENTATIONS: 'http' });
    expect(overridden.defaults.retry).to.include({ maxAttempts: 2, jitter: 'equal' });
    expect(overridden.defaults.timeoutMs).to.equal(2000);
    expect(overridden.maxTargets).to.equal(70);
    expect(overridden.instrumentations).to.deep.equal(['http']);
  });

  it('the environment sets what every policy inherits; a target policy in the file wins over it', () => {
    const file = {
      defaults: { timeoutMs: 2000, retry: { maxAttempts: 5, baseDelayMs: 50 }, breaker: { mode: 'rate', minCalls: 40 } },
      targets: [{ match: 'https://pay.example.com:*', policy: { name: 'payments', retry: { maxAttempts: 2 }, breaker: { mode: 'consecutive', threshold: 3 } } }],
    };
    const plain = load(file).targets[0]!.policy;
    expect(plain.retry).to.include({ maxAttempts: 2, baseDelayMs: 50 });
    expect(plain.breaker).to.include({ mode: 'consecutive', threshold: 3, minCalls: 40 });
    expect(plain.timeoutMs).to.equal(2000);

    const env = { BREAKWATER_RETRY_MAX_ATTEMPTS: '1', BREAKWATER_BREAKER: 'off', BREAKWATER_TIMEOUT_MS: '900', BREAKWATER_BREAKER_MIN_CALLS: '7' };
    const config = load(file, env);
    // The variables replace the file's defaults...
    expect(config.defaults.retry.maxAttempts).to.equal(1);
    expect(config.defaults.breaker.mode).to.equal('off');
    expect(config.defaults.timeoutMs).to.equal(900);
    // ...and the target inherits them where its policy says nothing (timeoutMs, minCalls)...
    const target = config.targets[0]!.policy;
    expect(target.timeoutMs).to.equal(900);
    expect(target.breaker.minCalls).to.equal(7);
    // ...but what its policy says, it keeps.
    expect(target.retry.maxAttempts).to.equal(2);
    expect(target.breaker).to.include({ mode: 'consecutive', threshold: 3 });
    expect(target.name).to.equal('payments');
    expect(target.retry.baseDelayMs).to.equal(50);
  });

  it("a baseline variable does not defeat a target's `retry: false` (the issue's case), nor its `bulkhead: false`", () => {
    const file = { targets: [{ match: 'postgresql://*', policy: { retry: false, bulkhead: false, breaker: false } }] };
    const env = { BREAKWATER_RETRY_MAX_ATTEMPTS: '3', BREAKWATER_BULKHEAD_MAX_CONCURRENT: '20', BREAKWATER_BREAKER: 'consecutive' };
    const config = load(file, env);
    expect(config.defaults.retry.maxAttempts).to.equal(3);
    expect(config.defaults.bulkhead).to.deep.equal({ maxConcurrent: 20, maxQueue: 0 });
    const pg = config.targets[0]!.policy;
    expect(pg.retry.maxAttempts).to.equal(1);
    expect(pg.bulkhead).to.equal(false);
    expect(pg.breaker.mode).to.equal('off');
    expect(policyForTarget(config, 'postgresql://db:5432/app').retry.maxAttempts).to.equal(1);
    expect(policyForTarget(config, 'https://api.example.com:443').retry.maxAttempts).to.equal(3);
  });

  it('names a target policy by its own name or pattern, never the default policy name', () => {
    const config = load({ defaults: { name: 'house' }, targets: [{ match: 'redis://*', policy: {} }, { match: 'pg://*', policy: { name: 'db' } }] });
    expect(config.defaults.name).to.equal('house');
    expect(config.targets.map((t) => t.policy.name)).to.deep.equal(['redis://*', 'db']);
  });

  it('a target can switch off what the defaults switch on', () => {
    const config = load({
      defaults: { bulkhead: { maxConcurrent: 10, maxQueue: 5 }, breaker: { mode: 'consecutive' } },
      targets: [{ match: 'a*', policy: { bulkhead: false, breaker: false, retry: false } }],
    });
    expect(config.defaults.bulkhead).to.deep.equal({ maxConcurrent: 10, maxQueue: 5 });
    expect(config.targets[0]!.policy).to.deep.include({ bulkhead: false });
    expect(config.targets[0]!.policy.breaker.mode).to.equal('off');
    expect(config.targets[0]!.policy.retry.maxAttempts).to.equal(1);
  });

  it('agrees with a model of the layering, for any values in any layer', () => {
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const layer = fc.record({
      maxAttempts: maybe(fc.integer({ min: 1, max: 10 })),
      jitter: maybe(fc.constantFrom(...JITTER_MODES)),
      mode: maybe(fc.constantFrom(...BREAKER_MODES)),
      threshold: maybe(fc.integer({ min: 1, max: 100 })),
      timeoutMs: maybe(fc.integer({ min: 0, max: 60_000 })),
      hedge: maybe(fc.boolean()),
      percentile: maybe(fc.integer({ min: 1, max: 99 }).map((n) => n / 100)),
    });
    type L = { maxAttempts?: number; jitter?: string; mode?: string; threshold?: number; timeoutMs?: number; hedge?: boolean; percentile?: number };
    const asPolicy = (l: L) =>
      strip({
        timeoutMs: l.timeoutMs,
        retry: strip({ maxAttempts: l.maxAttempts, jitter: l.jitter }),
        breaker: strip({ mode: l.mode, threshold: l.threshold }),
        hedge: strip({ enabled: l.hedge, percentile: l.percentile }),
      });
    const asEnv = (l: L) =>
      strip({
        BREAKWATER_RETRY_MAX_ATTEMPTS: l.maxAttempts?.toString(),
        BREAKWATER_RETRY_JITTER: l.jitter,
        BREAKWATER_BREAKER: l.mode,
        BREAKWATER_BREAKER_THRESHOLD: l.threshold?.toString(),
        BREAKWATER_TIMEOUT_MS: l.timeoutMs?.toString(),
        BREAKWATER_HEDGE: l.hedge?.toString(),
        BREAKWATER_HEDGE_PERCENTILE: l.percentile?.toString(),
      }) as Record<string, string>;
    fc.assert(
      fc.property(layer, layer, layer, (fileDefaults, target, env) => {
        const config = load({ defaults: asPolicy(fileDefaults), targets: [{ match: 'x*', policy: asPolicy(target) }] }, asEnv(env));
        const builtin = BUILT_IN_DEFAULTS.policy;
        const pick = <K extends keyof L>(key: K, fallback: L[K], ...layers: L[]) => layers.reduce((v, l) => l[key] ?? v, fallback);
        for (const [policy, layers] of [
          [config.defaults, [fileDefaults, env]],
          [config.targets[0]!.policy, [fileDefaults, env, target]],
        ] as const) {
          expect(policy.retry.maxAttempts).to.equal(pick('maxAttempts', builtin.retry.maxAttempts, ...layers));
          expect(policy.retry.jitter).to.equal(pick('jitter', builtin.retry.jitter, ...layers));
          expect(policy.breaker.mode).to.equal(pick('mode', builtin.breaker.mode, ...layers));
          expect(policy.breaker.threshold).to.equal(pick('threshold', builtin.breaker.threshold, ...layers));
          expect(policy.timeoutMs).to.equal(pick('timeoutMs', builtin.timeoutMs, ...layers));
          const hedging = pick('hedge', builtin.hedge.enabled, ...layers);
          expect(policy.hedge && policy.hedge.percentile).to.equal(hedging && pick('percentile', builtin.hedge.percentile, ...layers));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('config: origins (where each effective value came from)', () => {
  const FILE = [
    'defaults:', //                                   1
    '  timeoutMs: 2000', //                           2
    '  retry: { maxAttempts: 5 }', //                 3
    'targets:', //                                    4
    '  - match: "postgresql://*"', //                 5
    '    policy:', //                                 6
    '      retry: false', //                          7
    '  - match: "https://pay.example.com:*"', //      8
    '    policy: { name: payments, timeoutMs: 700 }', // 9
    'maxTargets: 50', //                              10
  ].join('\n');
  const config = loadConfig(
    { BREAKWATER_CONFIG: '/etc/bw.yaml', BREAKWATER_RETRY_MAX_ATTEMPTS: '3', BREAKWATER_BREAKER_THRESHOLD: '9', BREAKWATER_STATUS_PORT: '9465' },
    { readFile: () => FILE },
  );

  it('names the default, the variable or the file line and path of every value of the default policy', () => {
    const origins = config.origins.defaults;
    expect(origins).to.include({
      name: 'default',
      timeoutMs: '/etc/bw.yaml:2: defaults.timeoutMs',
      'retry.maxAttempts': 'BREAKWATER_RETRY_MAX_ATTEMPTS', // the variable over the file's defaults
      'breaker.threshold': 'BREAKWATER_BREAKER_THRESHOLD',
      'breaker.mode': 'default',
    });
    expect(config.defaults.retry.maxAttempts).to.equal(3);
  });

  it("shows a target's own values, and which it inherits from a variable or the defaults", () => {
    const [pg, payments] = config.origins.targets;
    expect(pg).to.include({
      name: '/etc/bw.yaml:5: targets[0].match', // unnamed: named by its pattern
      'retry.maxAttempts': '/etc/bw.yaml:7: targets[0].policy.retry', // retry: false wins over the variable
      timeoutMs: '/etc/bw.yaml:2: defaults.timeoutMs',
      'breaker.threshold': 'BREAKWATER_BREAKER_THRESHOLD',
      'breaker.openMs': 'default',
    });
    expect(payments).to.include({
      name: '/etc/bw.yaml:9: targets[1].policy.name',
      timeoutMs: '/etc/bw.yaml:9: targets[1].policy.timeoutMs',
      'retry.maxAttempts': 'BREAKWATER_RETRY_MAX_ATTEMPTS',
    });
    expect(config.targets.map((t) => t.policy.retry.maxAttempts)).to.deep.equal([1, 3]);
  });

  it('covers every value of every policy, and the top-level settings', () => {
    const keys = (policy: object, prefix = ''): string[] =>
      Object.entries(policy).flatMap(([k, v]) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
    for (const [policy, origins] of [[config.defaults, config.origins.defaults], ...config.targets.map((t, i) => [t.policy, config.origins.targets[i]!] as const)] as const) {
      // `bulkhead: false` is maxConcurrent 0, `hedge: false` is enabled false.
      const shown = keys(policy).map((k) => (k === 'bulkhead' ? 'bulkhead.maxConcurrent' : k === 'hedge' ? 'hedge.enabled' : k));
      for (const key of shown) expect(origins, key).to.have.property(key).that.is.a('string').and.not.empty;
    }
    expect(config.origins.top).to.include({ maxTargets: '/etc/bw.yaml:10: maxTargets', statusPort: 'BREAKWATER_STATUS_PORT', enabled: 'default' });
  });
});

describe('config: policyForTarget', () => {
  const config = load({
    defaults: { name: 'fallback' },
    targets: [
      { match: 'https://api.example.com:*', policy: { name: 'api' } },
      { match: 'https://*.example.com:443', policy: { name: 'wildcard' } },
      { match: 'redis://cache:637?/*', policy: { name: 'cache' } },
    ],
  });

  it('gives the first target whose glob matches, else the defaults', () => {
    expect(policyForTarget(config, 'https://api.example.com:443').name).to.equal('api'); // matches two: the first wins
    expect(policyForTarget(config, 'https://www.example.com:443').name).to.equal('wildcard');
    expect(policyForTarget(config, 'redis://cache:6379/0').name).to.equal('cache');
    expect(policyForTarget(config, 'redis://cache:16379/0').name).to.equal('fallback');
    expect(policyForTarget(config, 'postgresql://db:5432/app')).to.equal(config.defaults);
  });

  it('matches target keys case-insensitively (host names are)', () => {
    expect(policyForTarget(config, 'https://API.Example.com:8443').name).to.equal('api');
  });

  it('returns the same frozen policy object each time', () => {
    const policy = policyForTarget(config, 'https://api.example.com:443');
    expect(policyForTarget(config, 'https://api.example.com:443')).to.equal(policy);
    expect(Object.isFrozen(policy)).to.equal(true);
    expect(Object.isFrozen(policy.retry)).to.equal(true);
    expect(Object.isFrozen(config.targets)).to.equal(true);
  });
});

/** Drops undefined properties (and empty objects), as a user's file would not have them. */
function strip(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(object).filter(([, v]) => v !== undefined && !(typeof v === 'object' && v !== null && Object.keys(v).length === 0)),
  );
}
