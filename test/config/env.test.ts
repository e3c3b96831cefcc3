import { expect } from 'chai';
import { BUILT_IN_DEFAULTS, ConfigError, ENV_VARIABLES, loadConfig } from '../../src/config/index.js';
import type { EffectiveConfig } from '../../src/config/index.js';
import { HEDGE_DEFAULTS } from '../../src/engine/defaults.js';

/** Loads with only these variables (never the test process's own environment). */
function load(env: Record<string, string>): EffectiveConfig {
  return loadConfig(env, { readFile: () => '' });
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  expect.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

function get(config: EffectiveConfig, path: string): unknown {
  return path.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
}

interface VariableCase {
  /** Where the value shows in the effective configuration. */
  path: string;
  good: Array<[raw: string, value: unknown]>;
  bad: string[];
  /** A phrase the message must hold to say what is accepted. */
  accepts: string;
  /** Other variables set alongside (hedge and limit settings show only with them on). */
  with?: Record<string, string>;
}

const HEDGING = { BREAKWATER_HEDGE: 'true' };
const HEDGE_ON = { enabled: true, ...HEDGE_DEFAULTS };
const ADAPTIVE = { BREAKWATER_CONCURRENCY_LIMIT: 'adaptive' };
const ADAPTIVE_ON = { ...BUILT_IN_DEFAULTS.policy.concurrencyLimit, mode: 'adaptive' };
const FROM_HEADERS = { BREAKWATER_RATE_LIMIT_FROM_HEADERS: 'true' };
const FROM_HEADERS_ON = { ...BUILT_IN_DEFAULTS.policy.rateLimit, fromHeaders: true };

const FLEET_URL = { BREAKWATER_FLEET_REDIS_URL: 'redis://127.0.0.1:6379' };
const FLEET_SERVICE = { BREAKWATER_FLEET_SERVICE: 'svc' };

const INT_NOT_INT = ['abc', '1.5', '1e3', '0x10', 'Infinity', '99999999999999999999'];

const VARIABLES: Record<string, VariableCase> = {
  BREAKWATER_ENABLED: {
    path: 'enabled',
    good: [['true', true], ['false', false], ['1', true], ['0', false], ['TRUE', true], [' False ', false]],
    bad: ['yes', 'no', 'on', '2', 'truee'],
    accepts: 'true, false, 1 or 0',
  },
  BREAKWATER_RETRY_MAX_ATTEMPTS: {
    path: 'defaults.retry.maxAttempts',
    good: [['1', 1], ['3', 3], ['10', 10], ['+4', 4]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_RETRY_BASE_DELAY_MS: {
    path: 'defaults.retry.baseDelayMs',
    good: [['0', 0], ['250', 250], ['10000', 10000]],
    bad: ['-1', '100ms', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647',
  },
  BREAKWATER_RETRY_MAX_DELAY_MS: {
    path: 'defaults.retry.maxDelayMs',
    good: [['100', 100], ['60000', 60000], ['2147483647', 2147483647]],
    bad: ['-5', '2147483648', '10s', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647',
  },
  BREAKWATER_RETRY_MULTIPLIER: {
    path: 'defaults.retry.multiplier',
    good: [['1', 1], ['1.5', 1.5], ['2', 2], ['1e1', 10], ['.5e1', 5]],
    bad: ['0.5', '0', '-2', 'x2', 'NaN', 'Infinity', '1,5'],
    accepts: 'a number >= 1',
  },
  BREAKWATER_RETRY_JITTER: {
    path: 'defaults.retry.jitter',
    good: [['full', 'full'], ['equal', 'equal'], ['decorrelated', 'decorrelated'], ['none', 'none'], ['FULL', 'full']],
    bad: ['ful', 'half', 'random', 'off'],
    accepts: 'one of none, full, equal, decorrelated',
  },
  BREAKWATER_RETRY_BUDGET_RATIO: {
    path: 'defaults.retry.budgetRatio',
    good: [['0', 0], ['0.1', 0.1], ['1', 1], ['.25', 0.25]],
    bad: ['1.01', '-0.1', '20%', 'half'],
    accepts: 'a number from 0 to 1',
  },
  BREAKWATER_RETRY_BUDGET_MIN_PER_SECOND: {
    path: 'defaults.retry.budgetMinPerSecond',
    good: [['0', 0], ['10', 10], ['1000', 1000]],
    bad: ['-1', ...INT_NOT_INT],
    accepts: 'an integer >= 0',
  },
  BREAKWATER_RETRY_BUDGET_WINDOW_MS: {
    path: 'defaults.retry.budgetWindowMs',
    good: [['1', 1], ['10000', 10000]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer from 1 to 2147483647',
  },
  BREAKWATER_TIMEOUT_MS: {
    path: 'defaults.timeoutMs',
    good: [['0', 0], ['1500', 1500], ['-0', 0]],
    bad: ['-1', '1.5s', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647 (0 = no timeout)',
  },
  BREAKWATER_DEADLINE_MS: {
    path: 'defaults.deadlineMs',
    good: [['0', 0], ['60000', 60000]],
    bad: ['-1', '3000000000', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647 (0 = no deadline)',
  },
  BREAKWATER_BREAKER: {
    path: 'defaults.breaker.mode',
    good: [['consecutive', 'consecutive'], ['rate', 'rate'], ['off', 'off'], ['Rate', 'rate']],
    bad: ['on', 'count', 'false', 'consecutiv'],
    accepts: 'one of consecutive, rate, off',
  },
  BREAKWATER_BREAKER_THRESHOLD: {
    path: 'defaults.breaker.threshold',
    good: [['1', 1], ['5', 5]],
    bad: ['0', '-3', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_BREAKER_FAILURE_RATE: {
    path: 'defaults.breaker.failureRate',
    good: [['1', 1], ['0.5', 0.5], ['0.001', 0.001]],
    bad: ['0', '1.5', '-0.5', '50%'],
    accepts: 'a number > 0 and <= 1',
  },
  BREAKWATER_BREAKER_MIN_CALLS: {
    path: 'defaults.breaker.minCalls',
    good: [['1', 1], ['100', 100]],
    bad: ['0', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_BREAKER_WINDOW_MS: {
    path: 'defaults.breaker.windowMs',
    good: [['1', 1], ['60000', 60000]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer from 1 to 2147483647',
  },
  BREAKWATER_BREAKER_SLOW_CALL_MS: {
    path: 'defaults.breaker.slowCallMs',
    good: [['0', 0], ['2000', 2000]],
    bad: ['-1', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647 (0 = no slow-call rule)',
  },
  BREAKWATER_BREAKER_SLOW_CALL_RATE: {
    path: 'defaults.breaker.slowCallRate',
    good: [['1', 1], ['0.8', 0.8]],
    bad: ['0', '1.2', 'most'],
    accepts: 'a number > 0 and <= 1',
  },
  BREAKWATER_BREAKER_OPEN_MS: {
    path: 'defaults.breaker.openMs',
    good: [['1', 1], ['30000', 30000]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer from 1 to 2147483647',
  },
  BREAKWATER_BREAKER_MAX_OPEN_MS: {
    path: 'defaults.breaker.maxOpenMs',
    good: [['5000', 5000], ['600000', 600000]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer from 1 to 2147483647',
  },
  BREAKWATER_BREAKER_HALF_OPEN_PROBES: {
    path: 'defaults.breaker.halfOpenProbes',
    good: [['1', 1], ['3', 3]],
    bad: ['0', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_BULKHEAD_MAX_CONCURRENT: {
    path: 'defaults.bulkhead',
    good: [['0', false], ['8', { maxConcurrent: 8, maxQueue: 0 }]],
    bad: ['-1', ...INT_NOT_INT],
    accepts: 'an integer >= 0 (0 = no bulkhead)',
  },
  BREAKWATER_BULKHEAD_MAX_QUEUE: {
    path: 'defaults.bulkhead',
    // Without a concurrency limit there is no bulkhead, whatever the queue.
    good: [['0', false], ['25', false]],
    bad: ['-1', ...INT_NOT_INT],
    accepts: 'an integer >= 0 (0 = no queue',
  },
  BREAKWATER_HEDGE: {
    path: 'defaults.hedge',
    good: [['true', HEDGE_ON], ['1', HEDGE_ON], [' TRUE ', HEDGE_ON], ['false', false], ['0', false]],
    bad: ['yes', 'on', 'off', '2', 'adaptive'],
    accepts: 'true, false, 1 or 0',
  },
  BREAKWATER_HEDGE_DELAY_MS: {
    path: 'defaults.hedge.delayMs',
    with: HEDGING,
    good: [['adaptive', 'adaptive'], [' Adaptive ', 'adaptive'], ['0', 0], ['40', 40], ['2147483647', 2147483647]],
    bad: ['fast', 'auto', '-1', '2147483648', '40ms', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647, or adaptive',
  },
  BREAKWATER_HEDGE_PERCENTILE: {
    path: 'defaults.hedge.percentile',
    with: HEDGING,
    good: [['0.95', 0.95], ['.5', 0.5], ['0.999', 0.999], ['9.9e-1', 0.99]],
    bad: ['0', '1', '2', '95', 'p95', '95%', '-0.5', 'NaN', 'high'],
    accepts: 'a number > 0 and < 1, the percentile as a share (0.95 for p95)',
  },
  BREAKWATER_HEDGE_MIN_DELAY_MS: {
    path: 'defaults.hedge.minDelayMs',
    with: HEDGING,
    good: [['0', 0], ['5', 5], ['10000', 10000]],
    bad: ['-1', '5ms', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647',
  },
  BREAKWATER_HEDGE_MAX_DELAY_MS: {
    path: 'defaults.hedge.maxDelayMs',
    with: HEDGING,
    good: [['1', 1], ['500', 500], ['2147483647', 2147483647]],
    bad: ['-1', '2147483648', '1s', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647',
  },
  BREAKWATER_HEDGE_MIN_SAMPLES: {
    path: 'defaults.hedge.minSamples',
    with: HEDGING,
    good: [['1', 1], ['100', 100]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_HEDGE_MAX_HEDGES: {
    path: 'defaults.hedge.maxHedges',
    with: HEDGING,
    good: [['1', 1], ['3', 3]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_HEDGE_BUDGET_RATIO: {
    path: 'defaults.hedge.budgetRatio',
    with: HEDGING,
    good: [['0', 0], ['0.1', 0.1], ['2.5', 2.5]],
    bad: ['-0.1', '10%', 'lots', 'Infinity'],
    accepts: 'a number >= 0 (0 = no hedge is ever sent)',
  },
  BREAKWATER_CONCURRENCY_LIMIT: {
    path: 'defaults.concurrencyLimit',
    good: [['adaptive', ADAPTIVE_ON], [' Adaptive ', ADAPTIVE_ON], ['off', false], ['OFF', false]],
    bad: ['on', 'true', '1', 'gradient', 'adaptiv'],
    accepts: 'one of adaptive, off',
  },
  BREAKWATER_CONCURRENCY_LIMIT_INITIAL: {
    path: 'defaults.concurrencyLimit.initialLimit',
    with: ADAPTIVE,
    // Past the default maximum is accepted: an unset maximum makes way (it rises to 5000).
    good: [['1', 1], ['20', 20], ['5000', 5000]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_CONCURRENCY_LIMIT_MIN: {
    path: 'defaults.concurrencyLimit.minLimit',
    with: ADAPTIVE,
    good: [['1', 1], ['50', 50], ['2000', 2000]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_CONCURRENCY_LIMIT_MAX: {
    path: 'defaults.concurrencyLimit.maxLimit',
    with: ADAPTIVE,
    good: [['1', 1], ['10', 10], ['100000', 100000]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_CONCURRENCY_LIMIT_BUFFER: {
    path: 'defaults.concurrencyLimit.buffer',
    with: ADAPTIVE,
    good: [['0.25', 0.25], ['.1', 0.1], ['1', 1], ['5e-2', 0.05]],
    bad: ['0', '-0.1', '1.5', '25', '25%', 'lots', 'Infinity', 'NaN'],
    accepts: 'a number > 0 and <= 1',
  },
  BREAKWATER_CONCURRENCY_LIMIT_SAMPLE_WINDOW_MS: {
    path: 'defaults.concurrencyLimit.sampleWindowMs',
    with: ADAPTIVE,
    good: [['1', 1], ['100', 100], ['2147483647', 2147483647]],
    bad: ['0', '-1', '2147483648', '250ms', ...INT_NOT_INT],
    accepts: 'an integer from 1 to 2147483647',
  },
  BREAKWATER_CONCURRENCY_LIMIT_MIN_RTT_INTERVAL_MS: {
    path: 'defaults.concurrencyLimit.minRttIntervalMs',
    with: ADAPTIVE,
    good: [['1', 1], ['30000', 30000], ['2147483647', 2147483647]],
    bad: ['0', '-1', '2147483648', '1m', ...INT_NOT_INT],
    accepts: 'an integer from 1 to 2147483647',
  },
  BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE: {
    path: 'defaults.concurrencyLimit.maxQueue',
    with: ADAPTIVE,
    good: [['0', 0], ['16', 16], ['100000', 100000]],
    bad: ['-1', ...INT_NOT_INT],
    accepts: 'an integer >= 0 (0 = no queue: an attempt finding every slot taken fails at once)',
  },
  BREAKWATER_CONCURRENCY_LIMIT_MAX_WAIT_MS: {
    path: 'defaults.concurrencyLimit.maxWaitMs',
    with: ADAPTIVE,
    good: [['0', 0], ['50', 50], ['2147483647', 2147483647]],
    bad: ['-1', '2147483648', '50ms', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647 (0 = an attempt finding every slot taken fails at once)',
  },
  BREAKWATER_RATE_LIMIT_PER_SECOND: {
    path: 'defaults.rateLimit.ratePerSecond',
    with: FROM_HEADERS,
    good: [['0', 0], ['10', 10], ['0.5', 0.5], ['.25', 0.25], ['1e3', 1000]],
    bad: ['-1', 'ten', '10/s', '10rps', 'Infinity', 'NaN'],
    accepts: 'a number >= 0 (0 = no hand-set rate)',
  },
  BREAKWATER_RATE_LIMIT_BURST: {
    path: 'defaults.rateLimit.burst',
    with: FROM_HEADERS,
    good: [['1', 1], ['20', 20]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_RATE_LIMIT_FROM_HEADERS: {
    path: 'defaults.rateLimit',
    good: [['true', FROM_HEADERS_ON], ['1', FROM_HEADERS_ON], [' TRUE ', FROM_HEADERS_ON], ['false', false], ['0', false]],
    bad: ['yes', 'on', '2', 'headers'],
    accepts: 'true, false, 1 or 0',
  },
  BREAKWATER_RATE_LIMIT_MAX_WAIT_MS: {
    path: 'defaults.rateLimit.maxWaitMs',
    with: FROM_HEADERS,
    good: [['0', 0], ['1000', 1000], ['2147483647', 2147483647]],
    bad: ['-1', '2147483648', '1s', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647 (0 = an attempt that would wait fails at once)',
  },
  BREAKWATER_MAX_TARGETS: {
    path: 'maxTargets',
    good: [['1', 1], ['5000', 5000]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_MAX_TARGET_STATES: {
    path: 'maxTargetStates',
    good: [['1', 1], ['50000', 50000]],
    bad: ['0', '-1', ...INT_NOT_INT],
    accepts: 'an integer >= 1',
  },
  BREAKWATER_TARGET_IDLE_MS: {
    path: 'targetIdleMs',
    good: [['0', 0], ['60000', 60000], ['2147483647', 2147483647]],
    bad: ['-1', '2147483648', '10m', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 2147483647 (0 = never forgotten for being idle)',
  },
  BREAKWATER_SHUTDOWN_TIMEOUT_MS: {
    path: 'shutdownTimeoutMs',
    good: [['100', 100], ['2000', 2000], ['2147483647', 2147483647]],
    bad: ['0', '99', '-1', '2147483648', '2s', ...INT_NOT_INT],
    accepts: 'an integer from 100 to 2147483647',
  },
  BREAKWATER_STATUS_PORT: {
    path: 'statusPort',
    good: [['0', 0], ['9464', 9464], ['65535', 65535]],
    bad: ['-1', '65536', ...INT_NOT_INT],
    accepts: 'an integer from 0 to 65535 (0 = no status endpoint)',
  },
  BREAKWATER_STATUS_HOST: {
    path: 'statusHost',
    good: [['0.0.0.0', '0.0.0.0'], ['::1', '::1'], ['[::1]', '::1'], ['LocalHost', 'localhost'], ['status.internal.', 'status.internal']],
    bad: ['not a host!', 'a_b', '-x.example', 'x..y', 'http://x', '127.0.0.1:80', '300.1.1.1.1'],
    accepts: 'an IP address or a host name',
  },
  BREAKWATER_STATUS_ALLOWED_HOSTS: {
    path: 'statusAllowedHosts',
    good: [['status.internal', ['status.internal']], [' a.example , 10.0.0.5,a.example ', ['a.example', '10.0.0.5']]],
    bad: ['a.example,not a host', 'http://a.example'],
    accepts: 'a comma-separated list of IP addresses and host names',
  },
  BREAKWATER_CALL_SPANS: {
    path: 'callSpans',
    good: [['true', true], ['false', false], ['1', true], ['0', false], [' True ', true]],
    bad: ['yes', 'on', '2'],
    accepts: 'true, false, 1 or 0',
  },
  BREAKWATER_REDIS_DURATION_METRIC: {
    path: 'redisDurationMetric',
    good: [['true', true], ['false', false], ['1', true], ['0', false], [' TRUE ', true]],
    bad: ['yes', 'on', '2'],
    accepts: 'true, false, 1 or 0',
  },
  BREAKWATER_PATTERNS: {
    path: 'patterns',
    good: [['true', true], ['false', false], ['1', true], ['0', false], [' TRUE ', true]],
    bad: ['yes', 'on', '2'],
    accepts: 'true, false, 1 or 0',
  },
  BREAKWATER_PATTERNS_TIME_SCALE: {
    path: 'patternsTimeScale',
    good: [['1', 1], ['60', 60], ['3600', 3600]],
    bad: ['0', '3601', '-1', ...INT_NOT_INT],
    accepts: 'an integer from 1 to 3600',
  },
  BREAKWATER_FLEET_REDIS_URL: {
    path: 'fleet.redisUrl',
    // Printed without its credentials; bad values are tested in fleet.test.ts (their message never quotes them).
    good: [['redis://:pw@127.0.0.1:6379/1', 'redis://127.0.0.1:6379/1'], [' rediss://user:pw@Cache.Internal ', 'rediss://cache.internal:6379/0']],
    bad: [],
    accepts: 'a Redis URL',
    with: FLEET_SERVICE,
  },
  BREAKWATER_FLEET_REDIS_CLUSTER: {
    path: 'fleet.redisCluster',
    good: [['true', true], ['false', false], ['1', true], ['0', false]],
    bad: ['yes', 'on'],
    accepts: 'true, false, 1 or 0',
    with: { ...FLEET_URL, ...FLEET_SERVICE },
  },
  BREAKWATER_FLEET_SERVICE: {
    path: 'fleet.service',
    good: [['checkout', 'checkout'], [' checkout ', 'checkout']],
    bad: [],
    accepts: 'a non-empty string',
    with: FLEET_URL,
  },
  BREAKWATER_FLEET_EXPECTED_INSTANCES: {
    path: 'fleet.expectedInstances',
    good: [['1', 1], ['12', 12], ['1000000', 1_000_000]],
    bad: ['0', '1000001', ...INT_NOT_INT],
    accepts: 'an integer from 1 to 1000000',
    with: { ...FLEET_URL, ...FLEET_SERVICE },
  },
  BREAKWATER_FLEET_SYNC_MS: {
    path: 'fleet.syncMs',
    good: [['10', 10], ['250', 250], ['60000', 60_000]],
    bad: ['9', '60001', ...INT_NOT_INT],
    accepts: 'an integer from 10 to 60000',
    with: { ...FLEET_URL, ...FLEET_SERVICE },
  },
  BREAKWATER_FLEET: {
    path: 'defaults.fleet',
    good: [['true', true], ['false', false], ['1', true], ['0', false]],
    bad: ['yes', 'on'],
    accepts: 'true, false, 1 or 0',
    with: { ...FLEET_URL, ...FLEET_SERVICE },
  },
  BREAKWATER_INSTRUMENTATIONS: {
    path: 'instrumentations',
    good: [
      ['all', ['http', 'fetch', 'pg', 'ioredis', 'redis']],
      ['none', []],
      ['http', ['http']],
      ['pg, http', ['http', 'pg']],
      ['redis,ioredis,redis', ['ioredis', 'redis']],
      ['HTTP,Fetch', ['http', 'fetch']],
    ],
    bad: ['mysql', 'http,mysql', 'all,http', 'none,pg', 'http,,pg', ',', 'http;pg', 'custom'],
    accepts: 'a comma-separated list of http, fetch, pg, ioredis, redis, or all, or none',
  },
};

describe('config: environment variables', () => {
  it('has a case for every variable it reads', () => {
    const covered = [...Object.keys(VARIABLES), 'BREAKWATER_CONFIG', 'BREAKWATER_STATUS_TOKEN'].sort();
    expect(covered).to.deep.equal([...ENV_VARIABLES]);
  });

  for (const [name, spec] of Object.entries(VARIABLES)) {
    describe(name, () => {
      for (const [raw, value] of spec.good) {
        it(`accepts ${JSON.stringify(raw)}`, () => {
          const config = load({ ...spec.with, [name]: raw });
          expect(get(config, spec.path)).to.deep.equal(value);
          expect(config.sources.env).to.deep.equal([name, ...Object.keys(spec.with ?? {})].sort());
        });
      }
      for (const raw of spec.bad) {
        it(`rejects ${JSON.stringify(raw)}, naming the variable, the value and what is accepted`, () => {
          const problems = problemsOf({ ...spec.with, [name]: raw });
          expect(problems).to.have.length(1);
          expect(problems[0]).to.include(`${name}=${JSON.stringify(raw)} is not accepted: expected `);
          expect(problems[0]).to.include(spec.accepts);
        });
      }
    });
  }

  it('words the message as the design asks, with a suggestion for a near miss', () => {
    expect(problemsOf({ BREAKWATER_RETRY_JITTER: 'ful' })).to.deep.equal([
      'BREAKWATER_RETRY_JITTER="ful" is not accepted: expected one of none, full, equal, decorrelated (did you mean full?)',
    ]);
  });

  it('bulkhead: a limit with a queue', () => {
    const config = load({ BREAKWATER_BULKHEAD_MAX_CONCURRENT: '4', BREAKWATER_BULKHEAD_MAX_QUEUE: '16' });
    expect(config.defaults.bulkhead).to.deep.equal({ maxConcurrent: 4, maxQueue: 16 });
  });

  it('treats an empty value as unset', () => {
    const config = load({ BREAKWATER_RETRY_MAX_ATTEMPTS: '', BREAKWATER_BREAKER: '  ' });
    expect(config.defaults.retry.maxAttempts).to.equal(3);
    expect(config.defaults.breaker.mode).to.equal('rate');
    expect(config.sources.env).to.deep.equal([]);
  });

  it('rejects an unknown BREAKWATER_* variable, suggesting the close one and listing the known ones', () => {
    const [problem] = problemsOf({ BREAKWATER_RETRY_MAX_ATEMPTS: '5' });
    expect(problem).to.match(/^BREAKWATER_RETRY_MAX_ATEMPTS is not a breakwater variable \(did you mean BREAKWATER_RETRY_MAX_ATTEMPTS\?\)/);
    for (const known of ENV_VARIABLES) expect(problem).to.include(known);
    expect(problem).not.to.include('"5"'); // an unknown variable's value is never echoed
  });

  it('suggests for words in another order, lower case and missing words; lists without a guess otherwise', () => {
    expect(problemsOf({ BREAKWATER_MAX_RETRY_ATTEMPTS: '2' })[0]).to.include('did you mean BREAKWATER_RETRY_MAX_ATTEMPTS?');
    expect(problemsOf({ breakwater_enabled: 'true' })[0]).to.include('did you mean BREAKWATER_ENABLED?');
    expect(problemsOf({ BREAKWATER_RETRY_ATTEMPTS: '2' })[0]).to.include('did you mean BREAKWATER_RETRY_MAX_ATTEMPTS?');
    expect(problemsOf({ BREAKWATER_TIMEOUT: '100' })[0]).to.include('did you mean BREAKWATER_TIMEOUT_MS?');
    const [far] = problemsOf({ BREAKWATER_SOMETHING_ELSE_ENTIRELY: 'x' });
    expect(far).not.to.include('did you mean');
    expect(far).to.include('the known ones are BREAKWATER_BREAKER, ');
  });

  it('rejects an unknown variable even when it is empty (it was meant to do something)', () => {
    expect(problemsOf({ BREAKWATER_RETRY_MAX_ATEMPTS: '' })).to.have.length(1);
  });

  it('ignores everything outside the BREAKWATER_ namespace and never echoes it', () => {
    const config = load({ HOME: '/root', OTEL_SERVICE_NAME: 'svc', BREAKWATERX: '1', SECRET_TOKEN: 'hunter2' });
    expect(config.sources.env).to.deep.equal([]);
    const problems = problemsOf({ SECRET_TOKEN: 'hunter2', BREAKWATER_RETRY_JITTER: 'bad' });
    expect(problems.join('\n')).not.to.include('hunter2');
  });

  it('reports all the problems together, not only the first', () => {
    const problems = problemsOf({
      BREAKWATER_RETRY_JITTER: 'ful',
      BREAKWATER_RETRY_MAX_ATTEMPTS: '0',
      BREAKWATER_BREAKER: 'maybe',
      BREAKWATER_TYPO: '1',
      BREAKWATER_ALSO_TYPO: '1',
    });
    expect(problems).to.have.length(5);
    expect(problems.join('\n')).to.include('BREAKWATER_RETRY_JITTER="ful"');
    expect(problems.join('\n')).to.include('BREAKWATER_RETRY_MAX_ATTEMPTS="0"');
    expect(problems.join('\n')).to.include('BREAKWATER_BREAKER="maybe"');
    // The long list of known variables is given once.
    expect(problems.filter((p) => p.includes('the known ones are'))).to.have.length(1);
    expect(() => load({ BREAKWATER_RETRY_JITTER: 'ful', BREAKWATER_BREAKER: 'maybe' }))
      .to.throw(ConfigError, /^2 problems in the breakwater configuration:\n {2}- BREAKWATER_BREAKER="maybe"/)
      .with.property('name', 'ConfigError');
  });

  it('requires the maximum delay to be at least the base delay, whichever layer sets them', () => {
    expect(problemsOf({ BREAKWATER_RETRY_BASE_DELAY_MS: '500', BREAKWATER_RETRY_MAX_DELAY_MS: '200' })).to.deep.equal([
      'BREAKWATER_RETRY_MAX_DELAY_MS="200" is not accepted: must be at least retry.baseDelayMs, which is 500 (BREAKWATER_RETRY_BASE_DELAY_MS)',
    ]);
    expect(problemsOf({ BREAKWATER_RETRY_BASE_DELAY_MS: '20000' })).to.deep.equal([
      'BREAKWATER_RETRY_BASE_DELAY_MS="20000" is not accepted: must be at most retry.maxDelayMs, which is 10000 (default)',
    ]);
    expect(problemsOf({ BREAKWATER_BREAKER_MAX_OPEN_MS: '1000' })).to.deep.equal([
      'BREAKWATER_BREAKER_MAX_OPEN_MS="1000" is not accepted: must be at least breaker.openMs, which is 5000 (default)',
    ]);
    expect(load({ BREAKWATER_RETRY_BASE_DELAY_MS: '300', BREAKWATER_RETRY_MAX_DELAY_MS: '300' }).defaults.retry.maxDelayMs).to.equal(300);
  });

  it('does not pile a comparison on a value already rejected', () => {
    expect(problemsOf({ BREAKWATER_RETRY_BASE_DELAY_MS: '20000', BREAKWATER_RETRY_MAX_DELAY_MS: 'lots' })).to.have.length(1);
  });
});
