import { expect } from 'chai';
import fc from 'fast-check';
import { SpanKind } from '@opentelemetry/api';
import { createPolicy, type ExecuteOptions, type Policy } from '../../src/engine/policy.js';
import type { PolicyOptions } from '../../src/engine/options.js';
import type { Attempt } from '../../src/engine/attempt.js';
import { LatencyEstimator } from '../../src/engine/latency-estimator.js';
import { resolveHedge } from '../../src/engine/hedge.js';
import { RetryBudget } from '../../src/engine/retry-budget.js';
import { HEDGE_CANCELLED_CODE } from '../../src/errors.js';
import { FakeClock, seededRandom } from '../helpers/fake-clock.js';
import { OtelHarness, pointValue } from '../helpers/otel.js';

const TARGET = 'https://api.example.com:443';

function resetError(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
}

function notFound(): Error {
  return Object.assign(new Error('not found'), { status: 404 });
}

function setup(options: PolicyOptions = {}) {
  const clock = new FakeClock();
  const policy = createPolicy({
    name: 'hedge-test',
    clock,
    random: () => 0.5,
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000, jitter: 'none', budgetRatio: 10, budgetMinPerSecond: 0 },
    breaker: { mode: 'consecutive', threshold: 100 },
    hedge: { delayMs: 50, budgetRatio: 10 },
    ...options,
  });
  const hedges: { attempt: number; result: string }[] = [];
  policy.on('hedge', (e) => hedges.push({ attempt: e.attempt, result: e.result }));
  return { clock, policy, hedges };
}

interface Step {
  ms: number;
  /** Makes the error it fails with. */
  fail?: (() => Error) | undefined;
}

/** Per attempt number: how long it takes, and whether it fails. */
type Script = Record<number, Step>;

interface Seen {
  starts: { attempt: number; at: number }[];
  aborted: { attempt: number; reason: unknown; at: number }[];
}

/** An operation whose attempts take scripted times on the fake clock and honour their signal. */
function scripted(clock: FakeClock, script: Script, fallback: Step = { ms: 10 }): { op: (a: Attempt) => Promise<string>; seen: Seen } {
  const seen: Seen = { starts: [], aborted: [] };
  const op = (a: Attempt): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      seen.starts.push({ attempt: a.attempt, at: clock.now() });
      const step = script[a.attempt] ?? fallback;
      const timer = clock.setTimeout(() => {
        if (step.fail) reject(step.fail());
        else resolve(`answer ${a.attempt}`);
      }, step.ms);
      a.signal.addEventListener('abort', () => {
        clock.clearTimeout(timer);
        seen.aborted.push({ attempt: a.attempt, reason: a.signal.reason, at: clock.now() });
        reject(a.signal.reason);
      });
    });
  return { op, seen };
}

async function settle<T>(clock: FakeClock, promise: Promise<T>, step = 1): Promise<{ value?: T; error?: unknown; at: number }> {
  let done = false;
  const result: { value?: T; error?: unknown; at: number } = { at: NaN };
  promise.then(
    (v) => ((result.value = v), (result.at = clock.now()), (done = true)),
    (e) => ((result.error = e), (result.at = clock.now()), (done = true)),
  );
  for (let i = 0; i < 100_000 && !done; i++) await clock.advance(step);
  expect(done, 'execute settled').to.equal(true);
  return result;
}

const read = (extra: Partial<ExecuteOptions<string>> = {}): ExecuteOptions<string> => ({ target: TARGET, idempotent: true, ...extra });

/** Runs `n` quick calls so the target's budget has first attempts to share. */
async function warm(clock: FakeClock, policy: Policy, n: number, ms = 10): Promise<void> {
  for (let i = 0; i < n; i++) {
    const { op } = scripted(clock, {}, { ms });
    await settle(clock, policy.execute(op, read()));
  }
}

describe('hedging', () => {
  describe('LatencyEstimator', () => {
    it('gives each quantile within 10% of the exact one', () => {
      const estimator = new LatencyEstimator(1_000_000);
      const random = seededRandom(7);
      const samples: number[] = [];
      for (let i = 0; i < 5000; i++) {
        const ms = random() < 0.9 ? 1 + random() * 9 : 100 + random() * 900;
        samples.push(ms);
        estimator.record(ms);
      }
      samples.sort((a, b) => a - b);
      for (const q of [0.5, 0.9, 0.95, 0.99]) {
        const exact = samples[Math.ceil(q * samples.length) - 1]!;
        const estimate = estimator.quantile(q);
        expect(estimate, `p${q * 100}`).to.be.within(exact, exact * 1.1 + 1e-9);
      }
    });

    it('follows a target that slows down within a few hundred samples', () => {
      const estimator = new LatencyEstimator(200);
      for (let i = 0; i < 2000; i++) estimator.record(5);
      expect(estimator.quantile(0.95)).to.be.below(6);
      for (let i = 0; i < 800; i++) estimator.record(50);
      expect(estimator.quantile(0.95)).to.be.within(50, 55);
      expect(estimator.quantile(0.5)).to.be.within(50, 55);
    });

    it('is NaN with no samples and ignores NaN, negative and infinite ones', () => {
      const estimator = new LatencyEstimator();
      expect(estimator.quantile(0.95)).to.be.NaN;
      estimator.record(NaN);
      estimator.record(-1);
      estimator.record(Infinity);
      expect(estimator.sampleCount).to.equal(0);
      estimator.record(0);
      expect(estimator.quantile(0.95)).to.be.at.most(0.01);
    });

    it('property: a quantile is within the range of the samples (to the bucket width) and grows with q', () => {
      fc.assert(
        fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 500 }), (samples) => {
          const estimator = new LatencyEstimator(100);
          for (const s of samples) estimator.record(s);
          const max = Math.max(...samples);
          let previous = 0;
          for (const q of [0.01, 0.5, 0.9, 0.95, 0.999]) {
            const value = estimator.quantile(q);
            expect(value).to.be.at.least(previous);
            expect(value).to.be.at.most(Math.max(0.01, Math.min(max, 600_000) * 1.1) + 1e-6);
            previous = value;
          }
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('settings', () => {
    it('rejects values out of range, naming them', () => {
      expect(() => resolveHedge({ percentile: 1 })).to.throw(RangeError, /hedge.percentile is 1/);
      expect(() => resolveHedge({ delayMs: -1 })).to.throw(RangeError, /hedge.delayMs/);
      expect(() => resolveHedge({ maxHedges: 0 })).to.throw(RangeError, /hedge.maxHedges/);
      expect(() => resolveHedge({ minDelayMs: 10, maxDelayMs: 5 })).to.throw(RangeError, /hedge.maxDelayMs/);
      expect(resolveHedge({})).to.include({ percentile: 0.95, maxHedges: 1, budgetRatio: 0.1 });
      expect(resolveHedge({ delayMs: 20 }, resolveHedge({ maxHedges: 3 }))).to.include({ fixedDelayMs: 20, maxHedges: 3 });
    });

    it('Policy.hedging says whether the policy has hedge settings (adapters prepare a second connection when it does)', () => {
      expect(createPolicy({ telemetry: false }).hedging).to.equal(false);
      expect(createPolicy({ telemetry: false, hedge: false }).hedging).to.equal(false);
      expect(createPolicy({ telemetry: false, hedge: {} }).hedging).to.equal(true);
    });
  });

  describe('a hedged call', () => {
    it('sends a backup after the delay; the first answer wins and the slow attempt is cancelled', async () => {
      const { clock, policy, hedges } = setup();
      const { op, seen } = scripted(clock, { 1: { ms: 5000 }, 2: { ms: 10 } });
      const { value, at } = await settle(clock, policy.execute(op, read()));
      expect(value).to.equal('answer 2');
      expect(at).to.equal(60);
      expect(seen.starts).to.deep.equal([
        { attempt: 1, at: 0 },
        { attempt: 2, at: 50 },
      ]);
      expect(seen.aborted).to.have.length(1);
      expect(seen.aborted[0]).to.include({ attempt: 1, at: 60 });
      expect((seen.aborted[0]!.reason as { code: string }).code).to.equal(HEDGE_CANCELLED_CODE);
      expect(hedges).to.deep.equal([{ attempt: 2, result: 'won' }]);
    });

    it('sends no backup when the first attempt answers within the delay', async () => {
      const { clock, policy, hedges } = setup();
      const { op, seen } = scripted(clock, { 1: { ms: 49 } });
      const { value } = await settle(clock, policy.execute(op, read()));
      expect(value).to.equal('answer 1');
      expect(seen.starts).to.have.length(1);
      expect(hedges).to.deep.equal([]);
    });

    it('keeps the first attempt when it answers before the backup: the backup is cancelled', async () => {
      const { clock, policy, hedges } = setup();
      const { op, seen } = scripted(clock, { 1: { ms: 70 }, 2: { ms: 100 } });
      const { value, at } = await settle(clock, policy.execute(op, read()));
      expect(value).to.equal('answer 1');
      expect(at).to.equal(70);
      expect(seen.aborted.map((a) => a.attempt)).to.deep.equal([2]);
      expect(hedges).to.deep.equal([{ attempt: 2, result: 'cancelled' }]);
    });

    it('never hedges a call that is not safe to send twice, nor one the caller opts out of', async () => {
      const { clock, policy, hedges } = setup();
      for (const options of [{ target: TARGET }, read({ hedgeable: false }), read({ hedge: false }), read({ canReplay: () => true })]) {
        const { op, seen } = scripted(clock, { 1: { ms: 500 } });
        const { value } = await settle(clock, policy.execute(op, options as ExecuteOptions<string>));
        expect(value).to.equal('answer 1');
        expect(seen.starts, JSON.stringify(options)).to.have.length(1);
      }
      expect(hedges).to.deep.equal([]);
    });

    it('hedges a hand-written call given settings, on a policy with no hedging of its own', async () => {
      const { clock, policy } = setup({ hedge: false });
      const { op, seen } = scripted(clock, { 1: { ms: 500 } });
      await settle(clock, policy.execute(op, read({ hedge: { delayMs: 20, budgetRatio: 10 } })));
      expect(seen.starts.map((s) => s.at)).to.deep.equal([0, 20]);
      const plain = scripted(clock, { 1: { ms: 500 } });
      await settle(clock, policy.execute(plain.op, read()));
      expect(plain.seen.starts).to.have.length(1);
    });

    it('sends up to maxHedges backups, one per delay', async () => {
      const { clock, policy, hedges } = setup({ hedge: { delayMs: 50, maxHedges: 2, budgetRatio: 10 } });
      const { op, seen } = scripted(clock, { 1: { ms: 5000 }, 2: { ms: 5000 }, 3: { ms: 30 } });
      const { value, at } = await settle(clock, policy.execute(op, read()));
      expect(value).to.equal('answer 3');
      expect(at).to.equal(130);
      expect(seen.starts.map((s) => s.at)).to.deep.equal([0, 50, 100]);
      expect(hedges).to.deep.equal([
        { attempt: 2, result: 'cancelled' },
        { attempt: 3, result: 'won' },
      ]);
    });

    it('waits for the attempt still running when a backup fails transiently', async () => {
      const { clock, policy, hedges } = setup();
      const { op, seen } = scripted(clock, { 1: { ms: 200 }, 2: { ms: 5, fail: resetError } });
      const { value, at } = await settle(clock, policy.execute(op, read()));
      expect(value).to.equal('answer 1');
      expect(at).to.equal(200);
      expect(seen.starts).to.have.length(2);
      expect(hedges).to.deep.equal([{ attempt: 2, result: 'lost' }]);
    });

    it('ends the call with a failure that is the dependency\'s last word (not transient), cancelling the others', async () => {
      const { clock, policy } = setup();
      const { op, seen } = scripted(clock, { 1: { ms: 5000 }, 2: { ms: 5, fail: notFound } });
      const { error, at } = await settle(clock, policy.execute(op, read()));
      expect((error as { status: number }).status).to.equal(404);
      expect(at).to.equal(55);
      expect(seen.aborted.map((a) => a.attempt)).to.deep.equal([1]);
    });

    it('retries after every attempt of a round failed; the retry is not hedged, since the target is failing', async () => {
      const { clock, policy } = setup();
      const { op, seen } = scripted(clock, { 1: { ms: 80, fail: resetError }, 2: { ms: 40, fail: resetError }, 3: { ms: 500 } });
      const { value, at } = await settle(clock, policy.execute(op, read()));
      expect(value).to.equal('answer 3');
      // round 1: attempt 1 at 0, hedge 2 at 50; both failed by 90; backoff 100; the retry at 190.
      expect(seen.starts.map((s) => [s.attempt, s.at])).to.deep.equal([
        [1, 0],
        [2, 50],
        [3, 190],
      ]);
      expect(at).to.equal(690);
    });

    it('cancels every attempt when the caller aborts', async () => {
      const { clock, policy } = setup();
      const controller = new AbortController();
      const { op, seen } = scripted(clock, { 1: { ms: 5000 }, 2: { ms: 5000 } });
      const pending = policy.execute(op, read({ signal: controller.signal }));
      await clock.advance(60);
      controller.abort(new Error('caller gave up'));
      const { error } = await settle(clock, pending);
      expect((error as Error).message).to.equal('caller gave up');
      expect(seen.aborted.map((a) => a.attempt).sort()).to.deep.equal([1, 2]);
    });

    it('times out each attempt on its own timeout', async () => {
      const { clock, policy } = setup({ timeoutMs: 100, retry: false });
      const { op, seen } = scripted(clock, { 1: { ms: 5000 }, 2: { ms: 5000 } });
      const { error, at } = await settle(clock, policy.execute(op, read()));
      expect((error as { code: string }).code).to.equal('BREAKWATER_TIMEOUT');
      // attempt 1 times out at 100 while the hedge (from 50) runs; the hedge times out at 150.
      expect(at).to.equal(150);
      expect(seen.starts).to.have.length(2);
    });
  });

  describe('when not to hedge', () => {
    it('no hedge while the breaker is not closed', async () => {
      const { clock, policy, hedges } = setup({ breaker: { mode: 'consecutive', threshold: 1, openMs: 1000, halfOpenProbes: 1 }, retry: false });
      const failing = scripted(clock, { 1: { ms: 1, fail: resetError } });
      await settle(clock, policy.execute(failing.op, read()));
      await clock.advance(1000); // half-open: the next call is the probe
      const { op, seen } = scripted(clock, { 1: { ms: 500 } });
      const { value } = await settle(clock, policy.execute(op, read()));
      expect(value).to.equal('answer 1');
      expect(seen.starts).to.have.length(1);
      expect(hedges).to.deep.equal([]);
    });

    it('no hedge while the target\'s latest attempt failed; hedging resumes after a success', async () => {
      const { clock, policy } = setup({ retry: false });
      await settle(clock, policy.execute(scripted(clock, { 1: { ms: 1, fail: resetError } }).op, read()));
      const stalled = scripted(clock, { 1: { ms: 300 } });
      await settle(clock, policy.execute(stalled.op, read()));
      expect(stalled.seen.starts).to.have.length(1);
      const again = scripted(clock, { 1: { ms: 300 } });
      await settle(clock, policy.execute(again.op, read()));
      expect(again.seen.starts).to.have.length(2);
    });

    it('no hedge when what is left of the deadline is less than a typical attempt', async () => {
      const { clock, policy } = setup({ deadlineMs: 100, hedge: { delayMs: 50, budgetRatio: 10 } });
      await warm(clock, policy, 30, 60); // typical attempt: 60 ms
      const { op, seen } = scripted(clock, { 1: { ms: 90 } });
      await settle(clock, policy.execute(op, read()));
      expect(seen.starts).to.have.length(1);
    });

    it('adaptive with minSamples 0: no hedge (and no timer) before the first answer', async () => {
      const { clock, policy } = setup({ hedge: { minSamples: 0, budgetRatio: 10 }, timeoutMs: 100, retry: false });
      const { op, seen } = scripted(clock, { 1: { ms: 1000 } });
      const { error, at } = await settle(clock, policy.execute(op, read()));
      expect((error as { code: string }).code).to.equal('BREAKWATER_TIMEOUT');
      expect(at).to.equal(100);
      expect(seen.starts).to.have.length(1);
    });

    it('adaptive: no hedge before minSamples answers, then after about the p95 of recent latency', async () => {
      const { clock, policy } = setup({ hedge: { minSamples: 20, budgetRatio: 10 } });
      const early = scripted(clock, { 1: { ms: 1000 } });
      await settle(clock, policy.execute(early.op, read()));
      expect(early.seen.starts).to.have.length(1);
      await warm(clock, policy, 40, 20);
      const { op, seen } = scripted(clock, { 1: { ms: 1000 } });
      const start = clock.now();
      await settle(clock, policy.execute(op, read()));
      expect(seen.starts).to.have.length(2);
      // p95 of a stream of 20 ms answers (and one 1000 ms) is 20 ms, to the estimator's 10%.
      expect(seen.starts[1]!.at - start).to.be.within(20, 23);
    });
  });

  describe('the budget', () => {
    it('hedges no more than budgetRatio of first attempts', async () => {
      const { clock, policy, hedges } = setup({ hedge: { delayMs: 50, budgetRatio: 0.1 } });
      let hedgesSent = 0;
      for (let i = 0; i < 200; i++) {
        const { op, seen } = scripted(clock, { 1: { ms: 200 } }); // every call is slow
        await settle(clock, policy.execute(op, read()), 5);
        hedgesSent += seen.starts.length - 1;
      }
      const stats = policy.circuit(TARGET).stats.retryBudget!;
      expect(hedgesSent).to.equal(hedges.length);
      expect(stats.hedges + stats.retries).to.be.at.most(0.1 * stats.firstAttempts);
      expect(hedgesSent).to.be.greaterThan(0);
    });

    it('property: hedges are granted only while retries and hedges stay within the hedge share', () => {
      fc.assert(
        fc.property(
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.array(fc.record({ gap: fc.integer({ min: 0, max: 300 }), kind: fc.constantFrom('first', 'retry', 'hedge') }), { maxLength: 300 }),
          (retryRatio, hedgeRatio, events) => {
            const budget = new RetryBudget({ ratio: retryRatio, minPerSecond: 1, windowMs: 1000 });
            let now = 0;
            for (const e of events) {
              now += e.gap;
              if (e.kind === 'first') budget.recordFirstAttempt(now);
              else if (e.kind === 'retry') {
                if (budget.tryAcquireRetry(now)) {
                  const s = budget.stats(now);
                  expect(s.retries + s.hedges).to.be.at.most(retryRatio * s.firstAttempts + 1 + 1e-9);
                }
              } else if (budget.tryAcquireHedge(now, hedgeRatio)) {
                const s = budget.stats(now);
                expect(s.retries + s.hedges).to.be.at.most(hedgeRatio * s.firstAttempts + 1e-9);
              }
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it('property: a policy under random latencies and failures never sends more hedges than its share allows', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ ms: fc.integer({ min: 1, max: 400 }), fail: fc.boolean(), gap: fc.integer({ min: 0, max: 100 }) }), { minLength: 1, maxLength: 60 }),
          fc.double({ min: 0, max: 0.5, noNaN: true }),
          async (calls, ratio) => {
            const { clock, policy, hedges } = setup({ retry: { maxAttempts: 2, baseDelayMs: 10, jitter: 'none', budgetRatio: 0.5, budgetMinPerSecond: 0 }, hedge: { delayMs: 30, budgetRatio: ratio } });
            const budget = () => policy.circuit(TARGET).stats.retryBudget!;
            policy.on('hedge', () => {
              const s = budget();
              // Checked when each hedge's result is known; the window only grows within a run this short.
              expect(s.hedges + s.retries).to.be.at.most(Math.max(ratio, 0.5) * s.firstAttempts + 1e-9);
            });
            const pending: Promise<unknown>[] = [];
            for (const c of calls) {
              const { op } = scripted(clock, { 1: { ms: c.ms, fail: c.fail ? resetError : undefined } }, { ms: c.ms });
              pending.push(policy.execute(op, read()).catch(() => undefined));
              await clock.advance(c.gap);
            }
            await settle(clock, Promise.all(pending), 10);
            const s = budget();
            expect(s.hedges).to.equal(hedges.length);
          },
        ),
        { numRuns: 40 },
      );
    });
  });

  describe('telemetry', () => {
    let otel: OtelHarness;
    beforeEach(() => (otel = new OtelHarness().install()));
    afterEach(() => otel.uninstall());

    it('each attempt is a span; the backup says so, and every attempt says what came of it; resilience.hedges counts backups', async () => {
      const { clock, policy } = setup();
      const { op } = scripted(clock, { 1: { ms: 5000 }, 2: { ms: 10 } });
      await settle(clock, policy.execute(op, read({ client: 'http', attemptSpan: { name: 'GET', kind: SpanKind.CLIENT } })));
      const spans = otel.spans().filter((s) => s.name === 'GET');
      expect(spans).to.have.length(2);
      const [first, backup] = [spans.find((s) => s.attributes['resilience.attempt'] === 1)!, spans.find((s) => s.attributes['resilience.attempt'] === 2)!];
      expect(first.attributes).to.include({ 'resilience.hedge.result': 'cancelled', 'resilience.outcome': 'cancelled' });
      expect(first.attributes['resilience.hedge']).to.equal(undefined);
      expect(backup.attributes).to.include({ 'resilience.hedge': true, 'resilience.hedge.result': 'won', 'resilience.hedge.delay_ms': 50, 'resilience.outcome': 'success', 'http.request.resend_count': 1 });
      expect(backup.parentSpanContext?.spanId).to.equal(first.parentSpanContext?.spanId);
      const metrics = await otel.collect();
      const hedgesMetric = metrics.get('resilience.hedges')!;
      expect(hedgesMetric.dataPoints.map((p) => [p.attributes['resilience.hedge.result'], p.value])).to.deep.equal([['won', 1]]);
      expect(pointValue(metrics.get('resilience.attempts'), { 'resilience.outcome': 'success' })).to.equal(1);
      expect(pointValue(metrics.get('resilience.attempts'), { 'resilience.outcome': 'cancelled' })).to.equal(1);
    });

    it('a skipped hedge is an event on the unanswered attempt, with the reason', async () => {
      const { clock, policy } = setup({ hedge: { delayMs: 50, budgetRatio: 0 } });
      const { op } = scripted(clock, { 1: { ms: 100 } });
      await settle(clock, policy.execute(op, read()));
      const [span] = otel.spans();
      expect(span!.events.map((e) => [e.name, e.attributes?.['resilience.hedge.skipped']])).to.deep.equal([['resilience.hedge.skipped', 'budget']]);
    });
  });
});
