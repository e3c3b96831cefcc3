import fc from 'fast-check';
import { expect } from 'chai';
import { createPolicy, type ExecuteOptions } from '../../src/engine/policy.js';
import type { PolicyOptions } from '../../src/engine/options.js';
import type { Attempt } from '../../src/engine/attempt.js';
import { standingWaitMs, STANDING_QUEUE_MIN_WAIT_MS, STANDING_QUEUE_MS, STANDING_QUEUE_WAIT_MS } from '../../src/engine/concurrency-gate.js';
import { getClassification, LIMITED_CODE, LimitedError } from '../../src/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { OtelHarness, pointValue } from '../helpers/otel.js';

const TARGET = 'https://api.example.com:443';

function setup(options: PolicyOptions = {}) {
  const clock = new FakeClock();
  const policy = createPolicy({
    name: 'limits-test',
    clock,
    random: () => 0.5,
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100, jitter: 'none', budgetRatio: 10 },
    breaker: false,
    ...options,
  });
  return { clock, policy };
}

/** An operation that answers after `ms` of fake time, counting how many run at once. */
function timed(clock: FakeClock, ms: number, outcome: (a: Attempt) => unknown = () => 'ok') {
  const state = { running: 0, peak: 0, calls: 0 };
  const op = (a: Attempt) =>
    new Promise((resolve, reject) => {
      state.calls++;
      state.running++;
      state.peak = Math.max(state.peak, state.running);
      clock.setTimeout(() => {
        state.running--;
        const value = outcome(a);
        if (value instanceof Error) reject(value);
        else resolve(value);
      }, ms);
    });
  return { op, state };
}

async function settleAll<T>(clock: FakeClock, promises: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  let done = false;
  const all = Promise.allSettled(promises).then((r) => ((done = true), r));
  for (let i = 0; i < 10_000 && !done; i++) await clock.advance(1);
  expect(done, 'settled').to.equal(true);
  return all;
}

const call = (extra: Partial<ExecuteOptions<unknown>> = {}): ExecuteOptions<unknown> => ({ target: TARGET, idempotent: true, ...extra });

/** A probe phase pins the limit to minRttConcurrency: a known limit for the engine's own tests. */
const PINNED = (limit: number, extra: Record<string, number> = {}) => ({ minRttConcurrency: limit, minRttSamples: 1_000_000, initialLimit: limit, ...extra });

describe('overload protection in the engine', () => {
  describe('adaptive concurrency', () => {
    it('an attempt over the limit waits in the queue and goes when a slot frees', async () => {
      const { clock, policy } = setup({ concurrencyLimit: { ...PINNED(2), maxQueue: 4, maxWaitMs: 1000 } });
      const { op, state } = timed(clock, 100);
      const results = await settleAll(clock, [policy.execute(op, call()), policy.execute(op, call()), policy.execute(op, call())]);
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'fulfilled']);
      expect(state.peak).to.equal(2);
      expect(clock.now()).to.be.within(200, 202);
      expect(policy.circuit(TARGET).stats.concurrency).to.include({ inFlight: 0, queued: 0 });
    });

    it('with the queue full, an attempt is turned away at once: LimitedError, resource, not transient, never retried', async () => {
      const { clock, policy } = setup({ concurrencyLimit: { ...PINNED(1), maxQueue: 0 } });
      const { op, state } = timed(clock, 100);
      const results = await settleAll(clock, [policy.execute(op, call()), policy.execute(op, call())]);
      expect(results[0]!.status).to.equal('fulfilled');
      const error = (results[1] as PromiseRejectedResult).reason as LimitedError;
      expect(error).to.be.instanceOf(LimitedError);
      expect(error).to.include({ code: LIMITED_CODE, reason: 'concurrency' });
      expect(getClassification(error)).to.include({ category: 'resource', transient: false });
      expect(state.calls).to.equal(1);
    });

    it('a wait longer than maxWaitMs (or the deadline) gives up with LimitedError', async () => {
      const { clock, policy } = setup({ concurrencyLimit: { ...PINNED(1), maxQueue: 4, maxWaitMs: 30 } });
      const { op } = timed(clock, 100);
      const results = await settleAll(clock, [policy.execute(op, call()), policy.execute(op, call())]);
      expect(((results[1] as PromiseRejectedResult).reason as LimitedError).reason).to.equal('concurrency');
    });

    it(`a queue that has not emptied for ${STANDING_QUEUE_MS} ms stands: the newest waiter goes first and new waiters wait at most ${STANDING_QUEUE_WAIT_MS} ms`, async () => {
      const { clock, policy } = setup({ concurrencyLimit: { ...PINNED(1), maxQueue: 64, maxWaitMs: 1000 } });
      const order: number[] = [];
      const op = (n: number) => () => new Promise<number>((resolve) => clock.setTimeout(() => (order.push(n), resolve(n)), 40));
      const stats = () => policy.circuit(TARGET).stats.concurrency!;
      // A burst: first come, first served, each waiting as long as maxWaitMs allows.
      const burst = [0, 1, 2, 3].map((n) => policy.execute(op(n), call()));
      expect(stats()).to.include({ queued: 3, standing: false });
      await clock.advance(99);
      expect(stats().standing).to.equal(false);
      await clock.advance(1);
      expect(stats(), '100 ms without emptying').to.include({ queued: 1, standing: true });
      // Standing: a newcomer gets the short wait, and the newest goes before the oldest.
      const late = [4, 5].map((n) => policy.execute(op(n), call()));
      await settleAll(clock, [...burst, ...late.map((p) => p.catch((e) => e))]);
      expect(order.slice(0, 3), 'first come, first served before it stood').to.deep.equal([0, 1, 2]);
      const lateResults = await Promise.all(late.map((p) => p.then(String, (e: LimitedError) => e.reason)));
      // Waiter 3 (from the burst) still waits its long wait; 4 and 5 give up after 5 ms (40 ms is left on the slot).
      expect(lateResults).to.deep.equal(['concurrency', 'concurrency']);
      expect(order).to.deep.equal([0, 1, 2, 3]);
    });

    it(`standing, the wait is a tenth of the target's minRtt, within ${STANDING_QUEUE_MIN_WAIT_MS}-${STANDING_QUEUE_WAIT_MS} ms (${STANDING_QUEUE_WAIT_MS} ms until minRtt is measured)`, () => {
      expect([NaN, 0, -1, 0.5, 10, 11, 21, 50, 80, 1000, Infinity].map(standingWaitMs)).to.deep.equal([5, 5, 5, 1, 1, 1.1, 2.1, 5, 5, 5, 5]);
      fc.assert(
        fc.property(fc.double({ noNaN: false }), (minRtt) => {
          const wait = standingWaitMs(minRtt);
          return wait >= STANDING_QUEUE_MIN_WAIT_MS && wait <= STANDING_QUEUE_WAIT_MS;
        }),
      );
    });

    it('standing, with minRtt measured at 20 ms a newcomer waits 2 ms for a slot, not 5', async () => {
      const { clock, policy } = setup({ concurrencyLimit: { minRttConcurrency: 1, minRttSamples: 1, initialLimit: 1, maxLimit: 1, maxQueue: 64, maxWaitMs: 1000 } });
      const op = (ms: number) => () => new Promise<number>((resolve) => clock.setTimeout(() => resolve(ms), ms));
      await settleAll(clock, [policy.execute(op(20), call())]); // the probe: minRtt 20 ms
      expect(policy.circuit(TARGET).stats.concurrency!.minRttMs).to.equal(20);
      // The limit is 1: a 300 ms attempt holds it, others queue for over 100 ms and the queue stands.
      const holder = policy.execute(op(300), call());
      const queued = [1, 2, 3].map(() => policy.execute(op(1), call()).catch((e: LimitedError) => e));
      await clock.advance(150);
      expect(policy.circuit(TARGET).stats.concurrency).to.include({ standing: true });
      const started = clock.now();
      const newcomer = policy.execute(op(1), call()).then(
        () => 'admitted',
        (e: LimitedError) => `${e.reason} after ${clock.now() - started} ms`,
      );
      await clock.advance(10);
      expect(await newcomer).to.equal('concurrency after 2 ms');
      await settleAll(clock, [holder, ...queued]);
    });

    it('standing, the newest waiter takes a freed slot; once the queue stays empty for the interval it is first come, first served again', async () => {
      const { clock, policy } = setup({ concurrencyLimit: { ...PINNED(1), maxQueue: 64, maxWaitMs: 1000 } });
      const order: number[] = [];
      const op = (n: number, ms: number) => () => new Promise<number>((resolve) => clock.setTimeout(() => (order.push(n), resolve(n)), ms));
      const stats = () => policy.circuit(TARGET).stats.concurrency!;
      const running = [policy.execute(op(0, 150), call()), policy.execute(op(1, 1), call())];
      await clock.advance(120);
      expect(stats().standing).to.equal(true);
      // Two newcomers within the short wait of the slot freeing at 150 ms (the second is newest).
      await clock.advance(27);
      const a = policy.execute(op(2, 1), call());
      await clock.advance(1);
      const b = policy.execute(op(3, 1), call());
      const results = await settleAll(clock, [...running, a, b]);
      // Each freed slot went to the newest waiter: 3, then 2 (within its 5 ms), then 1, queued first.
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(order).to.deep.equal([0, 3, 2, 1]);
      // Empty a moment: still standing. Empty for the interval: a burst queue again.
      expect(stats().standing).to.equal(true);
      expect(stats().queued).to.equal(0);
      await clock.advance(STANDING_QUEUE_MS);
      expect(stats().standing).to.equal(false);
    });

    it("PostgreSQL refusing a connection for want of slots (53300) caps the limit under the attempts in flight; the cap rises by one a second", async () => {
      const { clock, policy } = setup({ concurrencyLimit: { initialLimit: 30, minRttSamples: 1, maxQueue: 0 } });
      const tooMany = () => Object.assign(new Error('sorry, too many clients already'), { code: '53300', severity: 'FATAL' });
      let running = 0;
      const op = () => {
        running++;
        return new Promise((resolve, reject) =>
          clock.setTimeout(() => {
            running--;
            if (running >= 5) reject(tooMany());
            else resolve('ok');
          }, 10),
        );
      };
      // The probe (3 in flight) sets minRtt; then 8 at once: the attempts finding 5 or more others refused.
      await settleAll(clock, [policy.execute(op, call({ client: 'pg' })), policy.execute(op, call({ client: 'pg' }))]);
      const burst = Array.from({ length: 8 }, () => policy.execute(op, call({ client: 'pg' })).catch((e: Error) => e));
      await settleAll(clock, burst);
      const stats = policy.circuit(TARGET).stats.concurrency!;
      expect(stats.refusalCeiling, JSON.stringify(stats)).to.be.a('number').and.to.be.below(8);
      expect(stats.limit).to.equal(stats.refusalCeiling);
      const capped = stats.refusalCeiling!;
      await clock.advance(1000);
      // The cap is raised when the limit next hears of time passing (an attempt ending); the limit may then grow to it.
      await settleAll(clock, [policy.execute(op, call({ client: 'pg' }))]);
      expect(policy.circuit(TARGET).stats.concurrency!.refusalCeiling).to.equal(capped + 1);
    });

    it('a retry takes a slot too, and a retry turned away ends the call with the previous failure (suppressed: limited)', async () => {
      const { clock, policy } = setup({ concurrencyLimit: { ...PINNED(1), maxQueue: 0 } });
      const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      const failing = timed(clock, 50, reset);
      const slow = timed(clock, 500);
      const gaveUp: string[] = [];
      policy.on('giveUp', (e) => gaveUp.push(e.reason));
      const first = policy.execute(failing.op, call());
      await clock.advance(20); // the failing call's first attempt is in flight
      const other = policy.execute(slow.op, call()); // turned away now: the failing call holds the slot
      const results = await settleAll(clock, [first, other.catch((e) => e)]);
      // After its failure the first call's retry found the slot free (the other call was turned away) and retried.
      expect(failing.state.calls).to.equal(3);
      expect(((results[1] as PromiseFulfilledResult<unknown>).value as LimitedError).reason).to.equal('concurrency');
      expect(gaveUp).to.deep.equal(['max_attempts']);
    });
  });

  describe('rate', () => {
    it('a hand-set rate spaces attempts; the wait is on the span', async () => {
      const otel = new OtelHarness().install();
      try {
        const { clock, policy } = setup({ rateLimit: { ratePerSecond: 10, burst: 1, maxWaitMs: 1000 } });
        const { op } = timed(clock, 1);
        const starts: number[] = [];
        const record = (a: Attempt) => (starts.push(clock.now()), op(a));
        await settleAll(clock, [policy.execute(record, call()), policy.execute(record, call()), policy.execute(record, call())]);
        expect(starts).to.deep.equal([0, 100, 200]);
        const waits = otel.spans().map((s) => s.attributes['resilience.limit.wait_ms']).filter((w) => w !== undefined);
        expect(waits).to.deep.equal([100, 200]);
      } finally {
        await otel.uninstall();
      }
    });

    it('a call that would wait past maxWaitMs or its deadline fails at once, counted in resilience.limited', async () => {
      const otel = new OtelHarness().install();
      try {
        const { clock, policy } = setup({ rateLimit: { ratePerSecond: 1, burst: 1, maxWaitMs: 5000 }, deadlineMs: 500 });
        const { op, state } = timed(clock, 1);
        const results = await settleAll(clock, [policy.execute(op, call()), policy.execute(op, call())]);
        const error = (results[1] as PromiseRejectedResult).reason as LimitedError;
        expect(error).to.include({ reason: 'rate' });
        expect(error.retryAfterMs).to.be.within(900, 1000);
        expect(state.calls).to.equal(1);
        expect(clock.now()).to.be.below(10); // failed at once, without waiting
        const m = await otel.collect();
        expect(pointValue(m.get('resilience.limited'), { 'resilience.limit.reason': 'rate' })).to.equal(1);
      } finally {
        await otel.uninstall();
      }
    });

    it("a 429's Retry-After pauses every new attempt to the target, not only the call's own retry", async () => {
      const { clock, policy } = setup({ rateLimit: { fromHeaders: true, maxWaitMs: 500 }, retry: false });
      const tooMany = Object.assign(new Error('429'), { status: 429, headers: { 'retry-after': '2' } });
      const failing = timed(clock, 1, () => tooMany);
      await settleAll(clock, [policy.execute(failing.op, call())]);
      const { op, state } = timed(clock, 1);
      const [blocked] = await settleAll(clock, [policy.execute(op, call())]);
      expect(((blocked as PromiseRejectedResult).reason as LimitedError).reason).to.equal('rate');
      expect(state.calls).to.equal(0);
      await clock.advance(2000);
      const [after] = await settleAll(clock, [policy.execute(op, call())]);
      expect(after!.status).to.equal('fulfilled');
    });

    it('RateLimit headers an adapter reports pace the next attempts: remaining 0 pauses until the reset', async () => {
      const { clock, policy } = setup({ rateLimit: { fromHeaders: true, maxWaitMs: 5000 } });
      const headers: Record<string, string> = { 'ratelimit-remaining': '0', 'ratelimit-reset': '1' };
      const starts: number[] = [];
      const op = async (a: Attempt) => {
        starts.push(clock.now());
        expect(a.wantsRateLimit).to.equal(true);
        a.reportRateLimit((name) => headers[name], 200);
        return 'ok';
      };
      await settleAll(clock, [policy.execute(op, call())]);
      await settleAll(clock, [policy.execute(op, call())]);
      expect(starts[1]! - starts[0]!).to.be.within(1000, 1001);
    });

    it('without a rate limit, an attempt does not ask for headers', async () => {
      const { clock, policy } = setup();
      let wanted: boolean | undefined;
      await settleAll(clock, [policy.execute(async (a: Attempt) => ((wanted = a.wantsRateLimit), 'ok'), call())]);
      expect(wanted).to.equal(false);
    });
  });

  describe('composition', () => {
    it('a hedge goes only when the concurrency limit has room: none at the limit (skipped: limited)', async () => {
      const otel = new OtelHarness().install();
      try {
        const { clock, policy } = setup({ concurrencyLimit: { ...PINNED(1), maxQueue: 0 }, hedge: { delayMs: 20, budgetRatio: 10 } });
        const { op, state } = timed(clock, 100);
        await settleAll(clock, [policy.execute(op, call())]);
        expect(state.calls).to.equal(1);
        const skipped = otel.spans().flatMap((s) => s.events.map((e) => e.attributes?.['resilience.hedge.skipped']));
        expect(skipped).to.deep.equal(['limited']);
      } finally {
        await otel.uninstall();
      }
    });

    it('with room, the hedge takes a slot of its own', async () => {
      const { clock, policy } = setup({ concurrencyLimit: { ...PINNED(2), maxQueue: 0 }, hedge: { delayMs: 20, budgetRatio: 10 } });
      const { op, state } = timed(clock, 100);
      await settleAll(clock, [policy.execute(op, call())]);
      expect(state.calls).to.equal(2);
      expect(state.peak).to.equal(2);
      expect(policy.circuit(TARGET).stats.concurrency).to.include({ inFlight: 0 });
    });

    it('the breaker is asked first: an open breaker rejects without touching the limits', async () => {
      const { clock, policy } = setup({ breaker: { mode: 'consecutive', threshold: 1, openMs: 10_000 }, retry: false, rateLimit: { ratePerSecond: 1, burst: 1 } });
      const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      await settleAll(clock, [policy.execute(timed(clock, 1, reset).op, call())]);
      const [rejected] = await settleAll(clock, [policy.execute(timed(clock, 1).op, call())]);
      expect(((rejected as PromiseRejectedResult).reason as { code: string }).code).to.equal('BREAKWATER_CIRCUIT_OPEN');
      expect(policy.circuit(TARGET).stats.rate!.tokens).to.be.below(0.01); // the first call took the only token; the rejected call took none
    });

    it('a static bulkhead and the adaptive limit both hold', async () => {
      const { clock, policy } = setup({ bulkhead: { maxConcurrent: 3, maxQueue: 10 }, concurrencyLimit: { ...PINNED(2), maxQueue: 10, maxWaitMs: 10_000 } });
      const { op, state } = timed(clock, 100);
      const results = await settleAll(clock, Array.from({ length: 5 }, () => policy.execute(op, call())));
      expect(results.every((r) => r.status === 'fulfilled')).to.equal(true);
      expect(state.peak).to.equal(2);
    });
  });

  describe('telemetry', () => {
    it('the limit and in-flight gauges per target', async () => {
      const otel = new OtelHarness().install();
      try {
        // A name of its own: the gauges also see the other tests' policies on TARGET until
        // the GC collects them, and their limits differ.
        const { clock, policy } = setup({ name: 'limits-gauges-test', concurrencyLimit: { ...PINNED(3), maxQueue: 0 } });
        const { op } = timed(clock, 100);
        const pending = [policy.execute(op, call()), policy.execute(op, call())];
        await clock.advance(10);
        const m = await otel.collect();
        const series = { 'resilience.target': TARGET, 'resilience.policy': 'limits-gauges-test' };
        expect(pointValue(m.get('resilience.concurrency.limit'), series)).to.equal(3);
        expect(pointValue(m.get('resilience.concurrency.in_flight'), series)).to.equal(2);
        await settleAll(clock, pending);
      } finally {
        await otel.uninstall();
      }
    });
  });
});
