import { expect } from 'chai';
import type { StepResult, Variant } from '../../bench/overload/cases.js';
import { capacityPerSecond, LOAD_STEPS, VARIANTS } from '../../bench/overload/cases.js';
import { checkTargets, errorText, limitText, rateTable, unloadedP99, type RateRun } from '../../bench/overload/report.js';
import { attemptWindows, countPerWindow, errorKind, HttpStatusError, summariseStep } from '../../bench/overload/summary.js';
import { TokenBucket } from '../../bench/overload/token-bucket.js';
import { WorkerPool, type Job } from '../../bench/overload/worker-pool.js';
import type { CallOutcome } from '../../bench/tail/open-loop.js';

/** A virtual clock whose timers run when the test advances it, each `lateMs` late. */
function virtualTime(lateMs = 0) {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => void timers.push({ at: now + Math.max(0, ms) + lateMs, fn }),
    /** Runs every timer due by `until`, in order, moving the clock to each. */
    advanceTo(until: number) {
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (next === undefined || next.at > until) break;
        timers.shift();
        now = next.at;
        next.fn();
      }
      now = until;
    },
  };
}

describe('bench/overload worker pool (the HTTP dependency of fixed capacity)', () => {
  function poolWith(time: ReturnType<typeof virtualTime>, shedAfterMs = Number.POSITIVE_INFINITY) {
    const answers: { id: number; at: number; status: number }[] = [];
    const pool = new WorkerPool({ workers: 2, workMs: 10, shedAfterMs, now: time.now, setTimer: time.setTimer });
    const submit = (id: number): void => {
      const job: Job = {
        arrivedAt: time.now(),
        done: () => answers.push({ id, at: time.now(), status: 200 }),
        shed: () => answers.push({ id, at: time.now(), status: 503 }),
      };
      pool.submit(job);
    };
    return { pool, answers, submit };
  }

  it('serves W at a time, S ms each, the rest in FIFO order: latency grows with the queue', () => {
    const time = virtualTime();
    const { pool, answers, submit } = poolWith(time);
    expect(pool.capacityPerSecond).to.equal(200);
    for (let id = 0; id < 5; id++) submit(id);
    expect(pool.queued).to.equal(3);
    time.advanceTo(100);
    expect(answers).to.deep.equal([
      { id: 0, at: 10, status: 200 },
      { id: 1, at: 10, status: 200 },
      { id: 2, at: 20, status: 200 },
      { id: 3, at: 20, status: 200 },
      { id: 4, at: 30, status: 200 },
    ]);
    expect(pool.idle).to.equal(true);
    expect(pool.takeStats()).to.deep.equal({ received: 5, served: 5, shed: 0, maxQueued: 3 });
  });

  it('keeps exactly W / S a second under load however late its timers fire (work runs on a virtual schedule)', () => {
    const time = virtualTime(3);
    const { answers, submit } = poolWith(time);
    for (let id = 0; id < 10; id++) submit(id);
    time.advanceTo(1000);
    // Each worker's n-th job ends at 10 n of work plus one timer's lateness: the lateness does not add up.
    expect(answers.map((a) => a.at)).to.deep.equal([13, 13, 23, 23, 33, 33, 43, 43, 53, 53]);
  });

  it('sheds with 503, without working on it, a request that would start after waiting longer than shedAfterMs', () => {
    const time = virtualTime();
    const { pool, answers, submit } = poolWith(time, 15);
    for (let id = 0; id < 7; id++) submit(id);
    time.advanceTo(100);
    // Ids 0-3 start by 10 ms (waits 0, 0, 10, 10). At 20 ms, when the workers are free,
    // 4, 5 and 6 would start after 20 ms of waiting: shed then, and the pool is idle.
    expect(answers.filter((a) => a.status === 200).map((a) => a.id)).to.deep.equal([0, 1, 2, 3]);
    expect(answers.filter((a) => a.status === 503).map((a) => [a.id, a.at])).to.deep.equal([
      [4, 20],
      [5, 20],
      [6, 20],
    ]);
    expect(pool.idle).to.equal(true);
    expect(pool.takeStats()).to.include({ served: 4, shed: 3 });
  });

  it('refuses a pool with no workers or no work', () => {
    const time = virtualTime();
    expect(() => new WorkerPool({ workers: 0, workMs: 10, shedAfterMs: 1, now: time.now, setTimer: time.setTimer })).to.throw(RangeError);
    expect(() => new WorkerPool({ workers: 1, workMs: 0, shedAfterMs: 1, now: time.now, setTimer: time.setTimer })).to.throw(RangeError);
  });
});

describe('bench/overload token bucket (the rate-limited dependency)', () => {
  it('serves the burst, then the rate; refuses with Retry-After in whole seconds (at least 1) and states what is left', () => {
    const bucket = new TokenBucket(10, 10);
    const first = Array.from({ length: 10 }, () => bucket.take(0));
    expect(first.every((a) => a.ok)).to.equal(true);
    expect(first[9]).to.deep.equal({ ok: true, remaining: 0, resetSeconds: 1 });
    expect(bucket.take(0)).to.deep.equal({ ok: false, remaining: 0, resetSeconds: 1, retryAfterSeconds: 1 });
    // 100 ms later one token has come back.
    expect(bucket.take(100).ok).to.equal(true);
    expect(bucket.take(100).ok).to.equal(false);
    // A full bucket again after a second: nothing to wait for.
    expect(bucket.take(2000)).to.deep.equal({ ok: true, remaining: 9, resetSeconds: 1 });
    expect(() => new TokenBucket(0, 1)).to.throw(RangeError);
  });

  it('admits at most burst + rate x t over any t', () => {
    const bucket = new TokenBucket(100, 100);
    let served = 0;
    for (let t = 0; t < 3000; t += 1) for (let k = 0; k < 3; k++) if (bucket.take(t).ok) served++;
    expect(served).to.be.within(399, 400);
  });
});

describe('bench/overload summary', () => {
  const ok = (scheduledMs: number, latencyMs: number): CallOutcome => ({ scheduledMs, startLagMs: 0, latencyMs, failed: false });
  const failed = (scheduledMs: number, error: unknown): CallOutcome => ({ scheduledMs, startLagMs: 1, latencyMs: 1, failed: true, error });

  it('errorKind names breakwater codes, HTTP statuses, SQLSTATEs, a cause code, else the name', () => {
    expect(errorKind(Object.assign(new Error('x'), { code: 'BREAKWATER_LIMITED' }))).to.equal('BREAKWATER_LIMITED');
    expect(errorKind(new HttpStatusError(503))).to.equal('HTTP 503');
    expect(errorKind(Object.assign(new Error('sorry, too many clients already'), { code: '53300' }))).to.equal('53300');
    expect(errorKind(new Error('fetch failed', { cause: { code: 'ECONNRESET' } }))).to.equal('ECONNRESET');
    expect(errorKind(new TypeError('x'))).to.equal('TypeError');
    expect(errorKind('plain')).to.equal('plain');
  });

  it('summariseStep: goodput is the successes that ended in the window; latencies and errors are of the calls due in it', () => {
    const outcomes = [
      failed(500, new HttpStatusError(503)), // warm-up
      ok(900, 200), // due in the warm-up, ends in the window: goodput, not latency
      ok(1000, 10),
      ok(1500, 30),
      failed(1600, Object.assign(new Error(), { code: 'BREAKWATER_LIMITED' })),
      ok(1900, 500), // due in the window, ends after it: latency, not goodput
      ok(2100, 10), // after the window
    ];
    const step = summariseStep(outcomes, 1000, 1, 5);
    expect(step).to.deep.equal({
      offeredPerSecond: 5,
      calls: 4,
      successes: 3,
      goodputPerSecond: 3,
      p50Ms: 30,
      p99Ms: 500,
      errors: { BREAKWATER_LIMITED: 1 },
      warmupErrors: { 'HTTP 503': 1 },
      startLagP99Ms: 1,
    });
  });

  it('countPerWindow counts whole windows only', () => {
    expect(countPerWindow([0, 999, 1000, 2500, 2999, 3000, -1], 0, 3500, 1000)).to.deep.equal([2, 1, 2]);
    expect(countPerWindow([5], 0, 999, 1000)).to.deep.equal([]);
  });

  it('attemptWindows counts from the first 429 (or the first request when none came), with the 429s in the same windows', () => {
    const arrivals = [
      { at: 100, status: 200 },
      { at: 400, status: 200 },
      { at: 500, status: 429 },
      { at: 700, status: 429 },
      { at: 1600, status: 200 },
      { at: 2400, status: 429 }, // in the second window, 1500..2500
      { at: 2600, status: 429 }, // past the last whole window
    ];
    expect(attemptWindows(arrivals, 2700)).to.deep.equal({ first429AfterMs: 400, perSecond: [2, 2], refused: 3 });
    const paced = arrivals.map((a) => ({ ...a, status: 200 }));
    // From the first request, 100: 100, 400, 500, 700 in the first second, 1600 in the second.
    expect(attemptWindows(paced, 2100)).to.deep.equal({ first429AfterMs: undefined, perSecond: [4, 1], refused: 0 });
    expect(attemptWindows([], 1000)).to.deep.equal({ first429AfterMs: undefined, perSecond: [], refused: 0 });
  });
});

describe('bench/overload report', () => {
  function step(p99Ms: number, goodputPerSecond: number, limitTrace: StepResult['limitTrace'] = []): StepResult {
    return { offeredPerSecond: 1, calls: 1, successes: 1, goodputPerSecond, p50Ms: 1, p99Ms, errors: {}, warmupErrors: {}, startLagP99Ms: 0, limitTrace };
  }
  function results(figures: Partial<Record<Variant, [p99: number, goodput: number][]>>): Map<Variant, StepResult[]> {
    return new Map(VARIANTS.map((v) => [v, (figures[v] ?? LOAD_STEPS.map(() => [10, 1] as [number, number])).map(([p99, goodput]) => step(p99, goodput))]));
  }
  const steps = (last: [number, number], first: [number, number] = [10, 400]): [number, number][] => LOAD_STEPS.map((_, i) => (i === 0 ? first : i === LOAD_STEPS.length - 1 ? last : [10, 800]));

  it('errorText lists kinds by count; limitText gives the measured part\'s median and range', () => {
    expect(errorText({})).to.equal('–');
    expect(errorText({ 'HTTP 503': 3, BREAKWATER_LIMITED: 10, A: 3 })).to.equal('BREAKWATER_LIMITED 10, A 3, HTTP 503 3');
    const trace: StepResult['limitTrace'] = [
      [0.5, 3, 3, 0, null, null],
      [4, 12, 10, 0, 10.5, 12],
      [4.1, 14, 14, 2, 10.5, 11],
      [4.2, 13, 13, 0, 10.5, 14],
    ];
    expect(limitText(step(1, 1, trace), 4)).to.equal('13 (12–14)');
    expect(limitText(step(1, 1), 4)).to.equal('');
  });

  it('checkTargets: goodput share of capacity and p99 against twice the unprotected p99 at the lowest load, per adaptive variant', () => {
    const capacity = capacityPerSecond('http');
    const r = results({ none: steps([2000, 100], [15, 400]), adaptive: steps([29, 0.95 * capacity]), 'adaptive-noqueue': steps([31, 0.85 * capacity]) });
    const [adaptive, noqueue] = checkTargets('http', r);
    expect(adaptive).to.deep.include({ variant: 'adaptive', unloadedP99Ms: 15, unloadedFrom: 'none', goodputMet: true, p99Met: true });
    expect(adaptive!.goodputShare).to.be.closeTo(0.95, 1e-9);
    expect(noqueue).to.deep.include({ variant: 'adaptive-noqueue', goodputMet: false, p99Met: false });
  });

  it('the unloaded p99 falls back to the next variant when the unprotected one admitted nothing at the lowest load; nothing admitted misses', () => {
    const r = results({ none: steps([NaN, 0], [NaN, 0]), bulkhead: steps([20, 800], [22, 425]), adaptive: steps([NaN, 0]) });
    expect(unloadedP99(r)).to.deep.equal({ p99Ms: 22, from: 'bulkhead' });
    expect(checkTargets('pg', r)[0]).to.deep.include({ p99Met: false, goodputMet: false });
  });

  it('rateTable bolds a mean over the stated rate with fromHeaders on only', () => {
    const run = (variant: RateRun['variant'], perSecond: number[]): RateRun => ({
      mode: 'retry-after',
      variant,
      windows: { first429AfterMs: 420, perSecond, refused: 10 },
      client: step(1, 90),
    });
    const table = rateTable([run('headers-off', [300, 300]), run('headers-on', [1, 376]), run('headers-on', [100, 100])]).split('\n');
    expect(table).to.have.length(5);
    expect(table[2]).to.contain('| off | 0.42 | 300, 300 (2 s) | 10 (2%) | 90 |');
    expect(table[3]).to.contain('| on | 0.42 | **189**, 376 (2 s) |');
    expect(table[4]).to.contain('| on | 0.42 | 100, 100 (2 s) | 10 (5%) |');
  });
});
