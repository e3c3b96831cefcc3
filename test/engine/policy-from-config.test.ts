import { expect } from 'chai';
import { createClassifier } from '../../src/classify/classify.js';
import { loadConfig, policyForTarget } from '../../src/config/index.js';
import type { EffectiveConfig } from '../../src/config/index.js';
import { GRADIENT_DEFAULTS } from '../../src/engine/gradient-limit.js';
import { createPolicy } from '../../src/engine/policy.js';
import { getClassification, LIMITED_CODE, LimitedError } from '../../src/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';

const TARGET = 'https://payments.example.com:443';

describe('a policy built from the configuration', () => {
  it('behaves as the environment and the file say', async () => {
    const file = JSON.stringify({
      targets: [{ match: 'https://payments.*', policy: { name: 'payments', retry: { maxAttempts: 5, baseDelayMs: 1 } } }],
      classification: { rules: [{ id: 'declined', when: { status: 402 }, category: 'business_logic' }] },
    });
    const config = loadConfig(
      { BREAKWATER_CONFIG: '/etc/bw.json', BREAKWATER_RETRY_MAX_ATTEMPTS: '2', BREAKWATER_BREAKER: 'consecutive', BREAKWATER_BREAKER_THRESHOLD: '2' },
      { readFile: () => file },
    );
    const clock = new FakeClock();
    const policy = createPolicy({ ...policyForTarget(config, TARGET), clock, classifier: createClassifier(config.rules) });
    expect(policy.name).to.equal('payments');

    let calls = 0;
    const failing = policy.execute(async () => {
      calls++;
      throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    }, { target: TARGET, idempotent: true });
    const settled = failing.catch((e) => e);
    await clock.runAll();
    await settled;
    expect(calls, 'the environment caps attempts at 2 over the file\'s 5').to.equal(2);
    expect(policy.circuit(TARGET).state, 'two consecutive failures open it').to.equal('open');

    policy.circuit(TARGET).reset();
    const declined = Object.assign(new Error('payment required'), { status: 402 });
    const error = await policy.execute(async () => Promise.reject(declined), { target: TARGET, idempotent: true }).catch((e) => e);
    expect(error).to.equal(declined);
    expect(getClassification(error)).to.include({ category: 'business_logic', rule: 'declined' });
  });
});

describe('a policy built from the configuration: hedging', () => {
  const SEARCH = 'https://search.example.com:443';
  const file = JSON.stringify({ targets: [{ match: 'https://search.*', policy: { name: 'search', hedge: { enabled: true, delayMs: 40, budgetRatio: 10 } } }] });
  const config = loadConfig({ BREAKWATER_CONFIG: '/etc/bw.json', BREAKWATER_HEDGE_MAX_HEDGES: '2' }, { readFile: () => file });

  /** Runs one read whose attempts answer after `ms` each; the starting times of its attempts. */
  async function starts(target: string, ms: number): Promise<number[]> {
    const clock = new FakeClock();
    const policy = createPolicy({ ...policyForTarget(config, target), clock });
    const started: number[] = [];
    const call = policy.execute(
      (attempt) =>
        new Promise<string>((resolve, reject) => {
          started.push(clock.now());
          const timer = clock.setTimeout(() => resolve('rows'), ms);
          attempt.signal.addEventListener('abort', () => (clock.clearTimeout(timer), reject(attempt.signal.reason)));
        }),
      { target, idempotent: true },
    );
    await clock.runAll();
    expect(await call).to.equal('rows');
    return started;
  }

  it('sends backups after the configured delay, as many as the variable allows, for the target the file hedges', async () => {
    expect(await starts(SEARCH, 100)).to.deep.equal([0, 40, 80]);
  });

  it('sends none for a target whose policy does not hedge', async () => {
    expect(await starts(TARGET, 100)).to.deep.equal([0]);
  });
});

describe('a policy built from the configuration: overload protection', () => {
  interface Run {
    /** When each attempt started, in order. */
    starts: number[];
    /** The most attempts in flight at once. */
    maxInFlight: number;
    outcomes: PromiseSettledResult<string>[];
  }

  /** Starts `calls` calls to the target at once, each attempt answering after `ms`; runs them to the end. */
  async function run(config: EffectiveConfig, target: string, calls: number, ms: number): Promise<Run> {
    const clock = new FakeClock();
    const policy = createPolicy({ ...policyForTarget(config, target), clock });
    const starts: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const op = () =>
      new Promise<string>((resolve) => {
        starts.push(clock.now());
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        clock.setTimeout(() => (inFlight--, resolve('ok')), ms);
      });
    const all = Promise.allSettled(Array.from({ length: calls }, () => policy.execute(op, { target, idempotent: true })));
    await clock.runAll();
    return { starts, maxInFlight, outcomes: await all };
  }

  it('spaces attempts at the configured rate, and fails at once, unretried, one that would wait too long', async () => {
    const config = loadConfig({ BREAKWATER_RATE_LIMIT_PER_SECOND: '10', BREAKWATER_RATE_LIMIT_MAX_WAIT_MS: '250' });
    const { starts, outcomes } = await run(config, TARGET, 4, 1);
    expect(starts, 'one attempt every 100 ms; the fourth would start at 300 ms, past its 250 ms wait').to.deep.equal([0, 100, 200]);
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as unknown);
    expect(rejected).to.have.length(1);
    expect(rejected[0]).to.be.instanceOf(LimitedError).and.to.include({ code: LIMITED_CODE, reason: 'rate' });
    expect(getClassification(rejected[0])).to.include({ category: 'resource', transient: false });
  });

  it('pins the adaptive limit at minRttConcurrency during its first probe, for the target the file limits only', async () => {
    const file = JSON.stringify({ targets: [{ match: 'https://inventory.*', policy: { name: 'inventory', concurrencyLimit: { mode: 'adaptive', maxWaitMs: 1000 } } }] });
    const config = loadConfig({ BREAKWATER_CONFIG: '/etc/bw.json' }, { readFile: () => file });
    const probe = GRADIENT_DEFAULTS.minRttConcurrency;
    const limited = await run(config, 'https://inventory.example.com:443', 3 * probe, 50);
    expect(limited.maxInFlight).to.equal(probe);
    // The others wait in the queue for a slot: `probe` at a time, every 50 ms.
    expect(limited.starts).to.deep.equal(Array.from({ length: 3 * probe }, (_, i) => 50 * Math.floor(i / probe)));
    expect(limited.outcomes.every((o) => o.status === 'fulfilled')).to.equal(true);

    const free = await run(config, TARGET, 3 * probe, 50);
    expect(free.maxInFlight).to.equal(3 * probe);
  });
});
