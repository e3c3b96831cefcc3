import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { BUILT_IN_DEFAULTS, ConfigError, ENV_VARIABLES, INSTRUMENTATIONS, loadConfig } from '../../src/config/index.js';
import type { EffectiveConfig, ResolvedPolicy } from '../../src/config/index.js';
import { BREAKER_MODES, JITTER_MODES } from '../../src/engine/options.js';
import { ERROR_CATEGORIES, SEVERITIES } from '../../src/classify/types.js';

/** Bounds written out again, independently of src/config/fields.ts, as a cross-check. */
function assertValidPolicy(p: ResolvedPolicy): void {
  const int = (v: number, min: number, max = Number.MAX_SAFE_INTEGER) => expect(Number.isSafeInteger(v) && v >= min && v <= max, String(v)).to.equal(true);
  const ms = 2_147_483_647;
  expect(p.name).to.be.a('string').that.is.not.empty;
  expect(p.telemetry).to.be.a('boolean');
  int(p.timeoutMs, 0, ms);
  int(p.deadlineMs, 0, ms);
  int(p.retry.maxAttempts, 1);
  int(p.retry.baseDelayMs, 0, ms);
  int(p.retry.maxDelayMs, p.retry.baseDelayMs, ms);
  expect(p.retry.multiplier).to.be.at.least(1).and.below(Infinity);
  expect(JITTER_MODES).to.include(p.retry.jitter);
  expect(p.retry.budgetRatio).to.be.within(0, 1);
  int(p.retry.budgetMinPerSecond, 0);
  int(p.retry.budgetWindowMs, 1, ms);
  expect(BREAKER_MODES).to.include(p.breaker.mode);
  int(p.breaker.threshold, 1);
  expect(p.breaker.failureRate).to.be.above(0).and.at.most(1);
  int(p.breaker.minCalls, 1);
  int(p.breaker.windowMs, 1, ms);
  int(p.breaker.slowCallMs, 0, ms);
  expect(p.breaker.slowCallRate).to.be.above(0).and.at.most(1);
  int(p.breaker.openMs, 1, ms);
  int(p.breaker.maxOpenMs, p.breaker.openMs, ms);
  int(p.breaker.halfOpenProbes, 1);
  for (const c of p.breaker.failureCategories ?? []) expect(ERROR_CATEGORIES).to.include(c);
  if (p.bulkhead !== false) {
    int(p.bulkhead.maxConcurrent, 1);
    int(p.bulkhead.maxQueue, 0);
  }
  if (p.hedge !== false) {
    expect(p.hedge.enabled).to.equal(true);
    if (p.hedge.delayMs !== 'adaptive') int(p.hedge.delayMs, 0, ms);
    expect(p.hedge.percentile).to.be.above(0).and.below(1);
    int(p.hedge.minDelayMs, 0, ms);
    int(p.hedge.maxDelayMs, p.hedge.minDelayMs, ms);
    int(p.hedge.minSamples, 1);
    int(p.hedge.maxHedges, 1);
    expect(p.hedge.budgetRatio).to.be.at.least(0).and.below(Infinity);
  }
}

function assertValidConfig(config: EffectiveConfig): void {
  expect(config.enabled).to.be.a('boolean');
  for (const i of config.instrumentations) expect(INSTRUMENTATIONS).to.include(i);
  expect(Number.isSafeInteger(config.maxTargets) && config.maxTargets >= 1).to.equal(true);
  assertValidPolicy(config.defaults);
  for (const t of config.targets) assertValidPolicy(t.policy);
  expect(new Set(config.rules.map((r) => r.id)).size).to.equal(config.rules.length);
  // Plain data: survives a JSON round trip unchanged.
  expect(JSON.parse(JSON.stringify(config))).to.deep.equal(config);
}

function expectConfigErrorOrValid(run: () => EffectiveConfig): void {
  let config: EffectiveConfig;
  try {
    config = run();
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems.length).to.be.above(0);
    for (const p of (error as ConfigError).problems) expect(p).to.be.a('string').that.is.not.empty;
    return;
  }
  assertValidConfig(config);
}

const INTERESTING = ['', ' ', '0', '1', '-1', '2', '3.5', '1e3', '0.5', '100', '20000', '2147483648', 'NaN', 'Infinity', 'true', 'false', 'full', 'off', 'rate', 'consecutive', 'all', 'none', 'http,pg', 'all,http', '__proto__', 'constructor'];

const envValue = fc.oneof(fc.constantFrom(...INTERESTING), fc.string(), fc.integer().map(String), fc.double().map(String));
const envName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...ENV_VARIABLES.filter((n) => n !== 'BREAKWATER_CONFIG')) },
  { weight: 1, arbitrary: fc.string().map((s) => `BREAKWATER_${s}`) },
  { weight: 1, arbitrary: fc.constantFrom('HOME', 'PATH', 'OTEL_SERVICE_NAME', 'breakwater_enabled', '__proto__', 'constructor') },
);

/** Near-valid file content: the schema's own keys with random values, so validation goes deep. */
const scalar = fc.oneof(fc.constantFrom<unknown>(0, 1, -1, 0.5, 3, 100, 20000, true, false, null, 'full', 'off', 'rate', 'x*', '5xx', '40001', [], {}), fc.string(), fc.integer());
const policy = fc.record(
  {
    name: scalar,
    timeoutMs: scalar,
    deadlineMs: scalar,
    telemetry: scalar,
    retry: fc.oneof(fc.constant(false), scalar, fc.record({ maxAttempts: scalar, baseDelayMs: scalar, maxDelayMs: scalar, jitter: scalar, multiplier: scalar }, { requiredKeys: [] })),
    breaker: fc.oneof(fc.constant(false), fc.record({ mode: scalar, threshold: scalar, failureRate: scalar, openMs: scalar, maxOpenMs: scalar, failureCategories: fc.oneof(scalar, fc.array(fc.constantFrom('network', 'timeout', 'nope'))) }, { requiredKeys: [] })),
    bulkhead: fc.oneof(fc.constant(false), fc.record({ maxConcurrent: scalar, maxQueue: scalar }, { requiredKeys: [] })),
    hedge: fc.oneof(fc.constant(false), scalar, fc.record({ enabled: scalar, delayMs: fc.oneof(scalar, fc.constantFrom('adaptive', 'Adaptive')), percentile: scalar, minDelayMs: scalar, maxDelayMs: scalar, maxHedges: scalar }, { requiredKeys: [] })),
    maxAtempts: scalar,
  },
  { requiredKeys: [] },
);
const leafCondition = fc.record(
  {
    message: scalar,
    messageRegex: fc.oneof(scalar, fc.constantFrom('(', 'a+', '\\p{L}')),
    messageRegexFlags: fc.constantFrom('i', 'g', 'u', 'iu', 'zz'),
    status: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
    sqlstate: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
    code: scalar,
    client: fc.constantFrom('pg', 'http', 'nope'),
  },
  { requiredKeys: [] },
);
/** Two levels of nesting are enough to reach every branch of the condition validator. */
const condition = fc.tuple(leafCondition, fc.option(fc.array(leafCondition, { maxLength: 2 })), fc.option(leafCondition)).map(([leaf, any, not]) => ({
  ...leaf,
  ...(any === null ? {} : { any }),
  ...(not === null ? {} : { not }),
}));
const fileContent = fc.record(
  {
    enabled: scalar,
    maxTargets: scalar,
    instrumentations: fc.oneof(scalar, fc.array(fc.constantFrom('http', 'pg', 'all', 'none', 'mysql'))),
    defaults: fc.oneof(policy, scalar),
    targets: fc.oneof(scalar, fc.array(fc.record({ match: fc.oneof(fc.constantFrom('a*', 'b*', 'a*'), scalar), policy }, { requiredKeys: [] }), { maxLength: 3 })),
    classification: fc.record({ rules: fc.array(fc.record({ id: fc.constantFrom('a', 'b', 'builtin:x', ''), when: condition, category: fc.constantFrom('network', 'nope'), severity: fc.constantFrom('low', 'nope') }, { requiredKeys: [] }), { maxLength: 3 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
const fileText = fc.oneof(
  fileContent.map((c) => stringify(c)),
  fileContent.map((c) => JSON.stringify(c)),
  fc.string(),
  fc.constantFrom('a: [', '{"a": 1,,}', 'x: &a [*a]', '? [1]\n: 2', 'defaults: !!binary aGVsbG8=', '---\n---\n', '\uFEFFmaxTargets: 3'),
);

/** Files that are valid by construction, within the bounds of every field. */
const validPolicy = fc.record(
  {
    name: fc.constantFrom('api', 'db', 'cache'),
    timeoutMs: fc.integer({ min: 0, max: 100_000 }),
    deadlineMs: fc.integer({ min: 0, max: 100_000 }),
    telemetry: fc.boolean(),
    retry: fc.oneof(
      fc.constant(false),
      fc.record(
        {
          maxAttempts: fc.integer({ min: 1, max: 10 }),
          baseDelayMs: fc.integer({ min: 0, max: 100 }),
          maxDelayMs: fc.integer({ min: 100, max: 100_000 }),
          multiplier: fc.integer({ min: 10, max: 40 }).map((n) => n / 10),
          jitter: fc.constantFrom(...JITTER_MODES),
          budgetRatio: fc.integer({ min: 0, max: 100 }).map((n) => n / 100),
        },
        { requiredKeys: [] },
      ),
    ),
    breaker: fc.oneof(
      fc.constant(false),
      fc.record(
        {
          mode: fc.constantFrom(...BREAKER_MODES),
          threshold: fc.integer({ min: 1, max: 50 }),
          failureRate: fc.integer({ min: 1, max: 100 }).map((n) => n / 100),
          openMs: fc.integer({ min: 1, max: 5000 }),
          maxOpenMs: fc.integer({ min: 60_000, max: 600_000 }),
          failureCategories: fc.subarray([...ERROR_CATEGORIES]),
        },
        { requiredKeys: [] },
      ),
    ),
    bulkhead: fc.oneof(fc.constant(false), fc.record({ maxConcurrent: fc.integer({ min: 0, max: 64 }), maxQueue: fc.integer({ min: 0, max: 64 }) }, { requiredKeys: [] })),
    hedge: fc.oneof(
      fc.constant(false),
      fc.record(
        {
          enabled: fc.boolean(),
          delayMs: fc.oneof(fc.constant('adaptive'), fc.integer({ min: 0, max: 5000 })),
          percentile: fc.integer({ min: 1, max: 999 }).map((n) => n / 1000),
          minDelayMs: fc.integer({ min: 0, max: 100 }),
          maxDelayMs: fc.integer({ min: 100, max: 100_000 }),
          minSamples: fc.integer({ min: 1, max: 100 }),
          maxHedges: fc.integer({ min: 1, max: 3 }),
          budgetRatio: fc.integer({ min: 0, max: 300 }).map((n) => n / 100),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);
const validRule = fc.record(
  {
    when: fc.oneof(
      fc.record({ status: fc.constantFrom<unknown>(402, '5xx', [500, 503]), target: fc.constantFrom('https://*', ['a*', 'b*']) }, { requiredKeys: ['status'] }),
      fc.record({ sqlstate: fc.constantFrom<unknown>('40001', ['23', '40P01']), client: fc.constant('pg') }, { requiredKeys: ['sqlstate'] }),
      fc.record({ messageRegex: fc.constantFrom('timed? out', '^ERR'), messageRegexFlags: fc.constantFrom('i', 'is') }, { requiredKeys: ['messageRegex'] }),
      fc.constant({ any: [{ code: 'ECONNRESET' }, { not: { name: 'AbortError' } }] }),
    ),
    category: fc.constantFrom(...ERROR_CATEGORIES),
    severity: fc.option(fc.constantFrom(...SEVERITIES), { nil: undefined }),
    transient: fc.option(fc.boolean(), { nil: undefined }),
  },
  { requiredKeys: ['when', 'category'] },
);
const validFile = fc.record(
  {
    enabled: fc.boolean(),
    maxTargets: fc.integer({ min: 1, max: 10_000 }),
    instrumentations: fc.oneof(fc.constantFrom<unknown>('all', 'none'), fc.subarray([...INSTRUMENTATIONS], { minLength: 1 })),
    defaults: validPolicy,
    targets: fc.uniqueArray(fc.record({ match: fc.constantFrom('a*', 'b*', 'https://*', 'redis://cache:637?/*'), policy: validPolicy }), { maxLength: 3, selector: (t) => t.match }),
    classification: fc.array(validRule, { maxLength: 3 }).map((rules) => ({ rules: rules.map((r, i) => ({ id: `rule-${i}`, ...strip(r) })) })),
  },
  { requiredKeys: [] },
);

function strip(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

describe('config: loadConfig', () => {
  it('exports a ConfigError with a name and the list of problems', () => {
    const error = new ConfigError(['one', 'two']);
    expect(error).to.be.instanceOf(Error);
    expect(error.name).to.equal('ConfigError');
    expect(error.problems).to.deep.equal(['one', 'two']);
    expect(error.message).to.equal('2 problems in the breakwater configuration:\n  - one\n  - two');
    expect(new ConfigError(['only']).message).to.equal('only');
  });

  it('reads process.env by default', () => {
    const saved = process.env['BREAKWATER_RETRY_MAX_ATTEMPTS'];
    process.env['BREAKWATER_RETRY_MAX_ATTEMPTS'] = '6';
    try {
      expect(loadConfig().defaults.retry.maxAttempts).to.equal(6);
    } finally {
      if (saved === undefined) delete process.env['BREAKWATER_RETRY_MAX_ATTEMPTS'];
      else process.env['BREAKWATER_RETRY_MAX_ATTEMPTS'] = saved;
    }
  });

  it('returns a deeply frozen configuration', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).to.equal(true);
    expect(Object.isFrozen(config.defaults.breaker)).to.equal(true);
    expect(Object.isFrozen(config.instrumentations)).to.equal(true);
    expect(Object.isFrozen(config.sources.env)).to.equal(true);
    expect(Object.isFrozen(BUILT_IN_DEFAULTS.policy.retry)).to.equal(true);
  });

  it('reports the reader failing with something that is not an Error', () => {
    expect(() => loadConfig({ BREAKWATER_CONFIG: 'x' }, { readFile: () => { throw 'nope'; } })).to.throw(ConfigError, 'cannot read');
  });

  it('either returns a valid configuration or throws a ConfigError, for any environment', () => {
    fc.assert(
      fc.property(fc.dictionary(envName, envValue, { maxKeys: 8 }), (env) => {
        expectConfigErrorOrValid(() => loadConfig(env, { readFile: () => '' }));
      }),
      { numRuns: 300 },
    );
  });

  it('either returns a valid configuration or throws a ConfigError, for any file with any environment', () => {
    fc.assert(
      fc.property(fileText, fc.dictionary(envName, envValue, { maxKeys: 3 }), (text, env) => {
        expectConfigErrorOrValid(() => loadConfig({ ...env, BREAKWATER_CONFIG: 'f.yaml' }, { readFile: () => text }));
      }),
      { numRuns: 200 },
    );
  });

  it('accepts any valid file, and its printed result loads back to the same configuration', () => {
    fc.assert(
      fc.property(validFile, (content) => {
        const config = loadConfig({ BREAKWATER_CONFIG: 'f.yaml' }, { readFile: () => stringify(content) });
        assertValidConfig(config);
        const printed = stringify({
          defaults: config.defaults,
          targets: config.targets,
          classification: { rules: config.rules },
          instrumentations: config.instrumentations.length === 0 ? 'none' : config.instrumentations,
          maxTargets: config.maxTargets,
          enabled: config.enabled,
        });
        const again = loadConfig({ BREAKWATER_CONFIG: 'f.yaml' }, { readFile: () => printed });
        // Values, not origins: the printed file writes them on other lines.
        expect({ ...again, origins: undefined }).to.deep.equal({ ...config, origins: undefined });
      }),
      { numRuns: 60 },
    );
  });
});

describe('config: documentation', () => {
  let docs: string;
  before(() => {
    docs = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  });

  it('documents every variable', () => {
    for (const name of ENV_VARIABLES) expect(docs, name).to.include(`\`${name}\``);
  });

  it('documents every file key of a policy', () => {
    for (const key of ['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'multiplier', 'jitter', 'budgetRatio', 'budgetMinPerSecond', 'budgetWindowMs', 'threshold', 'failureRate', 'minCalls', 'windowMs', 'slowCallMs', 'slowCallRate', 'openMs', 'maxOpenMs', 'halfOpenProbes', 'failureCategories', 'maxConcurrent', 'maxQueue', 'timeoutMs', 'deadlineMs', 'telemetry', 'hedge', 'delayMs', 'percentile', 'minDelayMs', 'minSamples', 'maxHedges']) {
      expect(docs, key).to.include(key);
    }
  });
});
