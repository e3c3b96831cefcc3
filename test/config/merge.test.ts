import { expect } from 'chai';
import fc from 'fast-check';
import { BUILT_IN_DEFAULTS, loadConfig, policyForTarget } from '../../src/config/index.js';
import type { EffectiveConfig } from '../../src/config/index.js';
import { BREAKER_MODES, JITTER_MODES } from '../../src/engine/options.js';

function load(file: unknown, env: Record<string, string> = {}): EffectiveConfig {
  const text = JSON.stringify(file);
  return loadConfig({ BREAKWATER_CONFIG: 'p.json', ...env }, { readFile: () => text });
}

describe('config: precedence (built-in < file defaults < file target < environment)', () => {
  it('uses the built-in defaults when nothing is set', () => {
    const config = loadConfig({});
    const { bulkhead, ...rest } = BUILT_IN_DEFAULTS.policy;
    expect(config.defaults).to.deep.equal({ ...rest, bulkhead: false });
    expect(bulkhead.maxConcurrent).to.equal(0);
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

  it('a target policy is layered over the file defaults, and the environment over both', () => {
    const file = {
      defaults: { timeoutMs: 2000, retry: { maxAttempts: 5, baseDelayMs: 50 }, breaker: { mode: 'rate', minCalls: 40 } },
      targets: [{ match: 'https://pay.example.com:*', policy: { name: 'payments', retry: { maxAttempts: 2 }, breaker: { mode: 'consecutive', threshold: 3 } } }],
    };
    const plain = load(file).targets[0]!.policy;
    expect(plain.retry).to.include({ maxAttempts: 2, baseDelayMs: 50 });
    expect(plain.breaker).to.include({ mode: 'consecutive', threshold: 3, minCalls: 40 });
    expect(plain.timeoutMs).to.equal(2000);

    // The operator's variables win over the target's own values for the keys they set...
    const env = { BREAKWATER_RETRY_MAX_ATTEMPTS: '1', BREAKWATER_BREAKER: 'off', BREAKWATER_TIMEOUT_MS: '900' };
    const withEnv = load(file, env).targets[0]!.policy;
    expect(withEnv.retry.maxAttempts).to.equal(1);
    expect(withEnv.breaker.mode).to.equal('off');
    expect(withEnv.timeoutMs).to.equal(900);
    // ...and leave the rest of the target's policy as the file wrote it.
    expect(withEnv.name).to.equal('payments');
    expect(withEnv.breaker.threshold).to.equal(3);
    expect(withEnv.retry.baseDelayMs).to.equal(50);
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
    });
    type L = { maxAttempts?: number; jitter?: string; mode?: string; threshold?: number; timeoutMs?: number };
    const asPolicy = (l: L) => strip({ timeoutMs: l.timeoutMs, retry: strip({ maxAttempts: l.maxAttempts, jitter: l.jitter }), breaker: strip({ mode: l.mode, threshold: l.threshold }) });
    const asEnv = (l: L) =>
      strip({
        BREAKWATER_RETRY_MAX_ATTEMPTS: l.maxAttempts?.toString(),
        BREAKWATER_RETRY_JITTER: l.jitter,
        BREAKWATER_BREAKER: l.mode,
        BREAKWATER_BREAKER_THRESHOLD: l.threshold?.toString(),
        BREAKWATER_TIMEOUT_MS: l.timeoutMs?.toString(),
      }) as Record<string, string>;
    fc.assert(
      fc.property(layer, layer, layer, (fileDefaults, target, env) => {
        const config = load({ defaults: asPolicy(fileDefaults), targets: [{ match: 'x*', policy: asPolicy(target) }] }, asEnv(env));
        const builtin = BUILT_IN_DEFAULTS.policy;
        const pick = <K extends keyof L>(key: K, fallback: L[K], ...layers: L[]) => layers.reduce((v, l) => l[key] ?? v, fallback);
        for (const [policy, layers] of [
          [config.defaults, [fileDefaults, env]],
          [config.targets[0]!.policy, [fileDefaults, target, env]],
        ] as const) {
          expect(policy.retry.maxAttempts).to.equal(pick('maxAttempts', builtin.retry.maxAttempts, ...layers));
          expect(policy.retry.jitter).to.equal(pick('jitter', builtin.retry.jitter, ...layers));
          expect(policy.breaker.mode).to.equal(pick('mode', builtin.breaker.mode, ...layers));
          expect(policy.breaker.threshold).to.equal(pick('threshold', builtin.breaker.threshold, ...layers));
          expect(policy.timeoutMs).to.equal(pick('timeoutMs', builtin.timeoutMs, ...layers));
        }
      }),
      { numRuns: 200 },
    );
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
