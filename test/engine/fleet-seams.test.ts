import { expect } from 'chai';
import { systemClock } from '../../src/engine/clock.js';
import { createPolicy, type ExecuteOptions } from '../../src/engine/policy.js';
import type { PolicyOptions } from '../../src/engine/options.js';
import type { CircuitState } from '../../src/engine/breaker/circuit.js';
import type { BreakerControl, DecisionSource, SharedBreaker, SharedBreakerSettings, SharedBudget, SharedBudgetSettings, SharedRate, SharedRateSettings, SharedState } from '../../src/engine/fleet-seams.js';
import { CircuitOpenError, LimitedError } from '../../src/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { OtelHarness, pointValue } from '../helpers/otel.js';

const TARGET = 'https://api.example.com:443';

/** A shared rate whose answers the test sets. */
class FakeRate implements SharedRate {
  source: DecisionSource = 'fleet';
  /** What reserve() answers: 0 goes. */
  wait = 0;
  reserved = 0;
  reserve(): number {
    this.reserved++;
    return this.wait;
  }
}

class FakeBreaker implements SharedBreaker {
  readonly results: boolean[] = [];
  readonly transitions: Array<[CircuitState, CircuitState, boolean]> = [];
  probes = true;
  record(_now: number, failed: boolean): void {
    this.results.push(failed);
  }
  transitioned(from: CircuitState, to: CircuitState, byFleet: boolean): void {
    this.transitions.push([from, to, byFleet]);
  }
  allowProbe(): boolean {
    return this.probes;
  }
}

class FakeBudget implements SharedBudget {
  firstAttempts = 0;
  retries = 0;
  hedges = 0;
  answer: boolean | undefined = undefined;
  hedgeAnswer: boolean | undefined = undefined;
  asked = 0;
  recordFirstAttempt(): void {
    this.firstAttempts++;
  }
  recordRetry(): void {
    this.retries++;
  }
  recordHedge(): void {
    this.hedges++;
  }
  allowsRetry(): boolean | undefined {
    this.asked++;
    return this.answer;
  }
  allowsHedge(): boolean | undefined {
    return this.hedgeAnswer;
  }
}

/** One fake per kind, with what the policy asked for. */
class FakeShared implements SharedState {
  readonly rates = new Map<string, { settings: SharedRateSettings; rate: FakeRate }>();
  readonly breakers = new Map<string, { settings: SharedBreakerSettings; control: BreakerControl; breaker: FakeBreaker }>();
  readonly budgets = new Map<string, { settings: SharedBudgetSettings; budget: FakeBudget }>();
  rate(target: string, settings: SharedRateSettings): SharedRate {
    const rate = new FakeRate();
    this.rates.set(target, { settings, rate });
    return rate;
  }
  breaker(target: string, settings: SharedBreakerSettings, control: BreakerControl): SharedBreaker {
    const breaker = new FakeBreaker();
    this.breakers.set(target, { settings, control, breaker });
    return breaker;
  }
  budget(target: string, settings: SharedBudgetSettings): SharedBudget {
    const budget = new FakeBudget();
    this.budgets.set(target, { settings, budget });
    return budget;
  }
}

function setup(options: PolicyOptions = {}) {
  const clock = new FakeClock();
  const shared = new FakeShared();
  const policy = createPolicy({ name: 'shared-test', clock, random: () => 0.5, retry: { maxAttempts: 1 }, breaker: false, shared, ...options });
  return { clock, shared, policy };
}

/** A failure the classifier takes as transient (the dependency's). */
const reset = () => Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));

const call = (extra: Partial<ExecuteOptions<unknown>> = {}): ExecuteOptions<unknown> => ({ target: TARGET, idempotent: true, ...extra });

describe('shared state seams in the engine (fleet mode, with fakes)', () => {
  describe('rate', () => {
    it('a hand-set rate is asked of the shared rate, with the policy\'s rate and burst, in place of the local bucket', async () => {
      const { shared, policy } = setup({ rateLimit: { ratePerSecond: 5, burst: 1 } });
      // The local bucket (burst 1) would turn the second call away; the fleet's answers decide.
      for (let i = 0; i < 5; i++) expect(await policy.execute(() => 'ok', call())).to.equal('ok');
      const { settings, rate } = shared.rates.get(TARGET)!;
      expect(settings).to.deep.equal({ ratePerSecond: 5, burst: 1 });
      expect(rate.reserved).to.equal(5);
      expect(policy.circuit(TARGET).stats.rate).to.deep.include({ decision: 'fleet', source: 'configured' });
      rate.source = 'local';
      expect(policy.circuit(TARGET).stats.rate!.decision).to.equal('local');
    });

    it('a wait the shared rate asks for is waited within maxWaitMs; past it the call fails with LimitedError', async () => {
      const { clock, shared, policy } = setup({ rateLimit: { ratePerSecond: 5, burst: 1, maxWaitMs: 100 } });
      await policy.execute(() => 'ok', call());
      const rate = shared.rates.get(TARGET)!.rate;
      rate.wait = 40;
      const waiting = policy.execute(() => 'late', call());
      await clock.advance(40);
      rate.wait = 0;
      await clock.advance(40);
      expect(await waiting).to.equal('late');
      rate.wait = 500;
      let error: unknown;
      await policy.execute(() => 'never', call()).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(LimitedError).with.property('reason', 'rate');
    });

    it('no shared rate without a hand-set rate: the dependency\'s headers alone stay local', async () => {
      const { shared, policy } = setup({ rateLimit: { fromHeaders: true } });
      await policy.execute(() => 'ok', call());
      expect(shared.rates.size).to.equal(0);
      expect(policy.circuit(TARGET).stats.rate!.decision).to.equal('local');
    });

    it('a dependency\'s Retry-After still pauses the target before the shared rate is asked (no token spent meanwhile)', async () => {
      const { clock, shared, policy } = setup({ rateLimit: { ratePerSecond: 5, burst: 1, fromHeaders: true, maxWaitMs: 10 } });
      const limited = Object.assign(new Error('429'), { status: 429, headers: { 'retry-after': '1' } });
      await policy.execute(() => Promise.reject(limited), call({ client: 'http' })).catch(() => undefined);
      const rate = shared.rates.get(TARGET)!.rate;
      const before = rate.reserved;
      const error = await policy.execute(() => 'no', call()).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(LimitedError);
      expect(rate.reserved, 'nothing asked of the fleet during the pause').to.equal(before);
      await clock.advance(1000);
      expect(await policy.execute(() => 'yes', call())).to.equal('yes');
      expect(rate.reserved).to.equal(before + 1);
    });

    it('a hedge the shared rate turns away gives back the concurrency slot it took', async () => {
      const { clock, shared, policy } = setup({
        rateLimit: { ratePerSecond: 5, burst: 1 },
        concurrencyLimit: { minRttConcurrency: 4, minRttSamples: 1_000_000, initialLimit: 4 },
        hedge: { delayMs: 10, budgetRatio: 10 },
      });
      const skipped: string[] = [];
      policy.on('hedge', () => skipped.push('sent'));
      await policy.execute(() => 'warm', call());
      const rate = shared.rates.get(TARGET)!.rate;
      const before = rate.reserved;
      const slow = policy.execute(() => new Promise((resolve) => clock.setTimeout(() => resolve('slow'), 50)), call({ hedgeable: true }));
      rate.wait = 1000;
      await clock.advance(60);
      expect(await slow).to.equal('slow');
      expect(skipped).to.deep.equal([]);
      expect(rate.reserved, 'the first attempt, then the hedge asked and turned away').to.equal(before + 2);
      expect(policy.circuit(TARGET).stats.concurrency!.inFlight).to.equal(0);
    });

    it('telemetry: the attempt span and the resilience.limited point carry resilience.decision.source', async () => {
      const otel = new OtelHarness().install();
      try {
        const { shared, policy } = setup({ rateLimit: { ratePerSecond: 5, burst: 1, maxWaitMs: 0 } });
        await policy.execute(() => 'ok', call());
        const rate = shared.rates.get(TARGET)!.rate;
        rate.source = 'local';
        await policy.execute(() => 'ok', call());
        rate.wait = 10;
        rate.source = 'fleet';
        await policy.execute(() => 'no', call()).catch(() => undefined);
        expect(otel.spans().filter((s) => s.name === 'shared-test attempt').map((s) => s.attributes['resilience.decision.source'])).to.deep.equal(['fleet', 'local']);
        const metrics = await otel.collect();
        expect(pointValue(metrics.get('resilience.limited'), { 'resilience.limit.reason': 'rate', 'resilience.decision.source': 'fleet' })).to.equal(1);
        // Without fleet mode the decision is local, and says so.
        const local = createPolicy({ name: 'local-test', rateLimit: { ratePerSecond: 1, burst: 1, maxWaitMs: 0 }, retry: { maxAttempts: 1 } });
        await local.execute(() => 'ok', call());
        await local.execute(() => 'no', call()).catch(() => undefined);
        const again = await otel.collect();
        expect(pointValue(again.get('resilience.limited'), { 'resilience.policy': 'local-test', 'resilience.decision.source': 'local' })).to.equal(1);
      } finally {
        await otel.uninstall();
      }
    });
  });

  describe('breaker', () => {
    it('reports every result and transition to the shared breaker, and follows the fleet through its control', async () => {
      const { clock, shared, policy } = setup({ breaker: { mode: 'consecutive', threshold: 2, openMs: 1000 } });
      const transitions: string[] = [];
      policy.on('transition', (e) => transitions.push(`${e.from}>${e.to}`));
      await policy.execute(() => 'ok', call());
      const { settings, control, breaker } = shared.breakers.get(TARGET)!;
      expect(settings, 'the fleet counts with the policy\'s rule').to.deep.equal({ rule: { mode: 'consecutive', threshold: 2 }, openMs: 1000, maxOpenMs: 60_000 });
      await policy.execute(reset, call()).catch(() => undefined);
      expect(breaker.results).to.deep.equal([false, true]);
      // The fleet says the target is down: the local breaker opens without a local failure more, for the fleet's remaining period.
      control.open(300);
      expect(policy.circuit(TARGET).state).to.equal('open');
      expect(policy.circuit(TARGET).stats.openRemainingMs).to.equal(300);
      control.open(700);
      expect(policy.circuit(TARGET).stats.openRemainingMs, 'open already: held at least as long as the fleet says').to.equal(700);
      expect(await policy.execute(() => 'no', call()).catch((e: unknown) => e)).to.be.instanceOf(CircuitOpenError);
      control.close();
      expect(policy.circuit(TARGET).state).to.equal('closed');
      expect(breaker.transitions).to.deep.equal([
        ['closed', 'open', true],
        ['open', 'closed', true],
      ]);
      expect(transitions).to.deep.equal(['closed>open', 'open>closed']);
      // A local opening is reported as local.
      await policy.execute(reset, call()).catch(() => undefined);
      await policy.execute(reset, call()).catch(() => undefined);
      expect(breaker.transitions.at(-1)).to.deep.equal(['closed', 'open', false]);
      // Half-open, a probe goes only when the fleet allows it.
      breaker.probes = false;
      await clock.advance(1000);
      expect(await policy.execute(() => 'no', call()).catch((e: unknown) => e)).to.be.instanceOf(CircuitOpenError);
      breaker.probes = true;
      const counted = breaker.results.length;
      expect(await policy.execute(() => 'probe', call())).to.equal('probe');
      expect(policy.circuit(TARGET).state).to.equal('closed');
      expect(breaker.results.length, 'a probe\'s result is a transition, not a counted outcome').to.equal(counted);
      expect(breaker.transitions.slice(-2)).to.deep.equal([
        ['open', 'half_open', false],
        ['half_open', 'closed', false],
      ]);
    });

    it('a breaker that is off shares nothing; the rate rule is shared with its defaults filled in', async () => {
      const { shared } = setup({ breaker: { mode: 'off' } });
      const { shared: rated, policy } = setup({ breaker: { mode: 'rate', minCalls: 20 } });
      await policy.execute(() => 'ok', call());
      expect(shared.breakers.size).to.equal(0);
      expect(rated.breakers.get(TARGET)!.settings.rule).to.deep.equal({ mode: 'rate', failureRate: 0.5, minCalls: 20, windowMs: 30_000, slowCallMs: 0, slowCallRate: 1 });
    });

    it('an isolated breaker stays open whatever the fleet says; telemetry marks a transition the fleet decided', async () => {
      const otel = new OtelHarness().install();
      try {
        const { shared, policy } = setup({ breaker: { mode: 'consecutive', threshold: 5 } });
        await policy.execute(() => 'ok', call());
        const { control } = shared.breakers.get(TARGET)!;
        control.open(2500);
        const span = otel.spans().find((s) => s.name === 'resilience.circuit.transition')!;
        expect(span.attributes).to.include({ 'resilience.circuit.to': 'open', 'resilience.decision.source': 'fleet' });
        expect(span.events.map((e) => [e.name, e.attributes])).to.deep.equal([['resilience.circuit.fleet_opened', { 'resilience.circuit.open_ms': 2500 }]]);
        const metrics = await otel.collect();
        expect(pointValue(metrics.get('resilience.circuit.transitions'), { 'resilience.circuit.to': 'open', 'resilience.decision.source': 'fleet' })).to.equal(1);
        policy.circuit(TARGET).isolate();
        control.close();
        control.open(10);
        expect(policy.circuit(TARGET).state).to.equal('open');
        expect(policy.circuit(TARGET).stats.openRemainingMs, 'isolated: the fleet shortens nothing').to.equal(Infinity);
      } finally {
        await otel.uninstall();
      }
    });
  });

  describe('retry budget', () => {
    it('first attempts, retries and hedges are reported; a retry is the fleet\'s decision when it gives one, the local budget\'s otherwise', async () => {
      const otel = new OtelHarness().install();
      try {
        // The real clock: a backoff of 0 ms passes by itself.
        const { shared, policy } = setup({ clock: systemClock, retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0, budgetRatio: 0, budgetMinPerSecond: 0 } });
        const suppressed: string[] = [];
        policy.on('giveUp', (e) => suppressed.push(e.reason));
        const failing = reset;
        await policy.execute(failing, call()).catch(() => undefined);
        const { settings, budget } = shared.budgets.get(TARGET)!;
        expect(settings).to.deep.equal({ ratio: 0, minPerSecond: 0, windowMs: 10_000 });
        expect(budget.firstAttempts).to.equal(1);
        // undefined: the local budget (ratio 0, no floor) says no.
        expect(suppressed).to.deep.equal(['budget']);
        budget.answer = true;
        let attempts = 0;
        await policy.execute(() => (attempts++, failing()), call()).catch(() => undefined);
        expect(attempts, 'the fleet had room: retried though the local budget had none').to.equal(2);
        expect(budget.retries).to.equal(1);
        budget.answer = false;
        await policy.execute(failing, call()).catch(() => undefined);
        expect(suppressed).to.deep.equal(['budget', 'max_attempts', 'budget']);
        expect(budget.firstAttempts).to.equal(3);
        const metrics = await otel.collect();
        const point = (source: string) => pointValue(metrics.get('resilience.retries.suppressed'), { 'resilience.retry.suppressed': 'budget', 'resilience.decision.source': source });
        expect([point('local'), point('fleet')], 'whose budget said no').to.deep.equal([1, 1]);
      } finally {
        await otel.uninstall();
      }
    });

    it('a hedge is the fleet\'s decision when it gives one, and is reported', async () => {
      const clock = new FakeClock();
      const { shared, policy } = setup({ clock, hedge: { delayMs: 10, budgetRatio: 0.5 } });
      const hedges: string[] = [];
      policy.on('hedge', () => hedges.push('sent'));
      const slow = () => policy.execute(() => new Promise((resolve) => clock.setTimeout(() => resolve('slow'), 50)), call({ hedgeable: true }));
      let running = slow();
      const { settings, budget } = shared.budgets.get(TARGET)!;
      expect(settings.ratio, 'no retry budget: the fleet limits hedges only').to.equal(Infinity);
      budget.hedgeAnswer = false;
      await clock.advance(60);
      await running;
      expect([hedges.length, budget.hedges]).to.deep.equal([0, 0]);
      budget.hedgeAnswer = true;
      running = slow();
      await clock.advance(60);
      await running;
      expect([hedges.length, budget.hedges], 'the fleet had room though this instance\'s window (one first attempt) had none').to.deep.equal([1, 1]);
    });
  });

  it('without shared state nothing is asked, and decisions say local', async () => {
    const policy = createPolicy({ rateLimit: { ratePerSecond: 100, burst: 10 }, retry: { maxAttempts: 1 } });
    await policy.execute(() => 'ok', call());
    expect(policy.circuit(TARGET).stats.rate!.decision).to.equal('local');
  });
});
