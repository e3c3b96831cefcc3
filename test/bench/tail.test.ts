import { expect } from 'chai';
import { percentile, summarise } from '../../bench/stats.js';
import { arrivalTimes, runOpenLoop } from '../../bench/tail/open-loop.js';
import { pollyHedge, type SetTimer } from '../../bench/tail/polly-hedger.js';
import { roundFigures, tableRows } from '../../bench/tail/report.js';
import type { RoundResult, Variant } from '../../bench/tail/cases.js';

/** A promise settled from outside. */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('bench/stats', () => {
  it('percentile is the nearest rank: an actual sample, with at least q of them at or below it', () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(ten, 0.5)).to.equal(5);
    expect(percentile(ten, 0.9)).to.equal(9);
    expect(percentile(ten, 0.91)).to.equal(10);
    expect(percentile(ten, 1)).to.equal(10);
    expect(percentile(ten, 0.01)).to.equal(1);
    const many = Array.from({ length: 10_000 }, (_, i) => i + 1);
    // 0.999 * 10000 is 9990.000000000002 in binary: still the 9,990th.
    expect(percentile(many, 0.999)).to.equal(9990);
    expect(percentile(many, 0.99)).to.equal(9900);
    expect(percentile([], 0.5)).to.be.NaN;
    expect(() => percentile(ten, 0)).to.throw(RangeError);
    expect(() => percentile(ten, 99)).to.throw(RangeError);
  });

  it('summarise gives the min and the median over rounds (the middle two averaged for an even count)', () => {
    expect(summarise([3, 1, 2])).to.deep.equal({ min: 1, median: 2 });
    expect(summarise([4, 1, 3, 2])).to.deep.equal({ min: 1, median: 2.5 });
  });
});

describe('bench/tail open-loop scheduler', () => {
  it('calls fall due at a constant rate from the start, with no drift', () => {
    expect(arrivalTimes(100, 200, 4)).to.deep.equal([100, 105, 110, 115]);
    const times = arrivalTimes(0, 3, 3001);
    expect(times[3000]).to.equal(1_000_000);
    expect(() => arrivalTimes(0, 0, 1)).to.throw(RangeError);
  });

  /** A virtual clock whose timers wake `lateMs` late. */
  function fakeClock(lateMs = 0) {
    const clock = { t: 1000, sleeps: [] as number[] };
    return {
      clock,
      now: () => clock.t,
      sleep: async (ms: number) => {
        clock.sleeps.push(ms);
        clock.t += ms + lateMs;
      },
    };
  }

  it('starts each call when due, whatever the earlier calls are doing (open loop), and times it from when it was due', async () => {
    const { clock, now, sleep } = fakeClock();
    const started: number[] = [];
    const first = deferred<void>();
    const done = runOpenLoop({
      ratePerSecond: 100,
      count: 4,
      now,
      sleep,
      call: (i) => {
        started.push(clock.t);
        // The first call hangs until the others have all started: a closed loop would wait for it.
        return i === 0 ? first.promise : Promise.resolve();
      },
    });
    while (started.length < 4) await flush();
    expect(started).to.deep.equal([1000, 1010, 1020, 1030]);
    clock.t = 1100;
    first.resolve();
    const outcomes = await done;
    expect(outcomes.map((o) => o.scheduledMs)).to.deep.equal([1000, 1010, 1020, 1030]);
    expect(outcomes[0]!.latencyMs).to.equal(100);
    expect(outcomes.map((o) => o.startLagMs)).to.deep.equal([0, 0, 0, 0]);
    expect(outcomes.every((o) => !o.failed)).to.equal(true);
  });

  it('a late wake-up starts the calls due meanwhile at once and charges them the lateness; the schedule does not slip', async () => {
    const { clock, now, sleep } = fakeClock(12);
    const started: number[] = [];
    const outcomes = await runOpenLoop({
      ratePerSecond: 200,
      count: 5,
      now,
      sleep,
      call: async () => void started.push(clock.t),
    });
    // Due at 1000, 1005, 1010, 1015, 1020; the timer for 1005 wakes at 1017.
    expect(started).to.deep.equal([1000, 1017, 1017, 1017, 1032]);
    expect(outcomes.map((o) => o.scheduledMs)).to.deep.equal([1000, 1005, 1010, 1015, 1020]);
    expect(outcomes.map((o) => o.startLagMs)).to.deep.equal([0, 12, 7, 2, 12]);
    expect(clock.sleeps).to.deep.equal([5, 3]);
  });

  it('a call that fails, or throws before its promise, is a failed outcome, not a failed run', async () => {
    const { now, sleep } = fakeClock();
    const outcomes = await runOpenLoop({
      ratePerSecond: 1000,
      count: 3,
      now,
      sleep,
      call: (i) => {
        if (i === 1) throw new Error('sync');
        return i === 2 ? Promise.reject(new Error('async')) : Promise.resolve();
      },
    });
    expect(outcomes.map((o) => o.failed)).to.deep.equal([false, true, true]);
    expect(outcomes.map((o) => (o.error as Error | undefined)?.message)).to.deep.equal([undefined, 'sync', 'async']);
  });
});

describe('bench/tail Polly-style hedger', () => {
  /** Timers fired by hand. */
  function manualTimers() {
    const pending: { fn: () => void; ms: number; cancelled: boolean }[] = [];
    const setTimer: SetTimer = (fn, ms) => {
      const entry = { fn, ms, cancelled: false };
      pending.push(entry);
      return () => void (entry.cancelled = true);
    };
    const fire = (): void => {
      const entry = pending.find((e) => !e.cancelled);
      if (!entry) throw new Error('no timer pending');
      entry.cancelled = true;
      entry.fn();
    };
    return { pending, setTimer, fire, armed: () => pending.filter((e) => !e.cancelled).length };
  }

  /** Attempts that answer when told to. */
  function attempts() {
    const list: { index: number; signal: AbortSignal; answer: ReturnType<typeof deferred<string>> }[] = [];
    const attempt = (signal: AbortSignal, index: number): Promise<string> => {
      const answer = deferred<string>();
      list.push({ index, signal, answer });
      return answer.promise;
    };
    return { list, attempt };
  }

  it('an answer before the delay: one attempt, and the timer is cancelled', async () => {
    const timers = manualTimers();
    const { list, attempt } = attempts();
    const call = pollyHedge(attempt, { delayMs: 10, setTimer: timers.setTimer });
    await flush();
    expect(list).to.have.length(1);
    expect(timers.pending[0]!.ms).to.equal(10);
    list[0]!.answer.resolve('first');
    expect(await call).to.equal('first');
    expect(timers.armed()).to.equal(0);
    expect(list[0]!.signal.aborted).to.equal(false);
  });

  it('no answer by the delay: one backup; the first answer wins and the other attempt is aborted', async () => {
    for (const winner of [0, 1]) {
      const timers = manualTimers();
      const { list, attempt } = attempts();
      const call = pollyHedge(attempt, { delayMs: 10, maxHedgedAttempts: 1, setTimer: timers.setTimer });
      await flush();
      timers.fire();
      await flush();
      expect(list.map((a) => a.index)).to.deep.equal([0, 1]);
      // MaxHedgedAttempts = 1: no third attempt, however long both take.
      expect(timers.armed()).to.equal(0);
      list[winner]!.answer.resolve(`answer ${winner}`);
      expect(await call).to.equal(`answer ${winner}`);
      expect(list.map((a) => a.signal.aborted)).to.deep.equal([winner !== 0, winner !== 1]);
      // The loser's late answer changes nothing.
      list[1 - winner]!.answer.resolve('late');
      await flush();
    }
  });

  it('a failure starts the backup at once; the call fails only when every attempt has, with the last failure', async () => {
    const timers = manualTimers();
    const { list, attempt } = attempts();
    const call = pollyHedge(attempt, { delayMs: 10, setTimer: timers.setTimer });
    await flush();
    list[0]!.answer.reject(new Error('first failed'));
    await flush();
    expect(list).to.have.length(2);
    expect(timers.armed()).to.equal(0);
    list[1]!.answer.reject(new Error('backup failed'));
    let failure: unknown;
    await call.catch((error: unknown) => (failure = error));
    expect((failure as Error).message).to.equal('backup failed');
  });

  it('a failure while the other attempt runs waits for it', async () => {
    const timers = manualTimers();
    const { list, attempt } = attempts();
    const call = pollyHedge(attempt, { delayMs: 10, setTimer: timers.setTimer });
    await flush();
    timers.fire();
    await flush();
    list[1]!.answer.reject(new Error('backup failed'));
    await flush();
    list[0]!.answer.resolve('slow but fine');
    expect(await call).to.equal('slow but fine');
  });

  it('with real timers: a slow first attempt loses to the backup sent after the delay, and is aborted', async () => {
    const aborted: boolean[] = [];
    const started = performance.now();
    const result = await pollyHedge(
      (signal, index) =>
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => resolve(`attempt ${index}`), index === 0 ? 500 : 1);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            aborted[index] = true;
            reject(signal.reason);
          });
        }),
      { delayMs: 5 },
    );
    expect(result).to.equal('attempt 1');
    expect(aborted[0]).to.equal(true);
    expect(performance.now() - started).to.be.below(200);
  });
});

describe('bench/tail report', () => {
  /** 1,000 calls: 980 at 2 ms, 20 at 200 ms (the last one 250), as the unhedged variant sees them. */
  function round(variant: Variant, slowMs: number, serverRequests: number): RoundResult {
    const latenciesMs = [...Array.from({ length: 980 }, () => 2), ...Array.from({ length: 19 }, () => slowMs), slowMs + 50];
    return { client: 'http', variant, latenciesMs, errors: 0, errorSamples: [], startLagMs: { p99: 1, 'p99.9': 3 }, newConnections: 2, gcPauseMaxMs: 4.25, serverRequests };
  }

  it('a round\'s percentiles come from its calls, its extra load from what the server received', () => {
    const figures = roundFigures(round('none', 200, 1000));
    expect(figures).to.include({ p50: 2, p99: 200, 'p99.9': 200, extraLoad: 0, startLagP999: 3, newConnections: 2, gcPauseMax: 4.25 });
    expect(roundFigures(round('adaptive', 10, 1048)).extraLoad).to.be.closeTo(0.048, 1e-9);
  });

  it('the table bolds a hedged variant that misses a target: p99.9 cut less than 10x, or over 5% extra requests', () => {
    const rounds = new Map<Variant, RoundResult[]>([
      ['none', [round('none', 200, 1000)]],
      ['adaptive', [round('adaptive', 10, 1048)]],
      ['polly', [round('polly', 40, 1070)]],
    ]);
    const [none, adaptive, polly] = tableRows('http', rounds).split('\n');
    expect(none).to.not.include('**');
    expect(none!.endsWith('| 3.0 / 3.0 | 2 / 2 | 4.3 / 4.3 |'), none).to.equal(true); // start lag, connections, longest GC pause
    expect(adaptive).to.include('| 4.8% / 4.8% |').and.include('| 20.0 / 20.0 |');
    expect(polly).to.include('| **7.0%** / **7.0%** |').and.include('| **5.0** / **5.0** |');
  });
});
