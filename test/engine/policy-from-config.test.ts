import { expect } from 'chai';
import { createClassifier } from '../../src/classify/classify.js';
import { loadConfig, policyForTarget } from '../../src/config/index.js';
import { createPolicy } from '../../src/engine/policy.js';
import { getClassification } from '../../src/errors.js';
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
