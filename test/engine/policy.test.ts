import { expect } from 'chai';
import { createPolicy, type ExecuteOptions } from '../../src/engine/policy.js';
import type { PolicyOptions } from '../../src/engine/options.js';
import { AttemptTimeoutError, BulkheadRejectedError, CircuitOpenError, DeadlineExceededError, getClassification } from '../../src/errors.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';

const TARGET = 'https://api.example.com:443';

function resetError(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
}

class NotFoundError extends Error {
  status = 404;
}

function setup(options: PolicyOptions = {}) {
  const clock = new FakeClock();
  const policy = createPolicy({
    name: 'test',
    clock,
    random: () => 0.5,
    retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, jitter: 'none', budgetRatio: 10 },
    breaker: { mode: 'consecutive', threshold: 100 },
    ...options,
  });
  return { clock, policy };
}

/** Runs execute while advancing the fake clock until it settles. */
async function settle<T>(clock: FakeClock, promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  let done = false;
  const result: { value?: T; error?: unknown } = {};
  promise.then(
    (v) => ((result.value = v), (done = true)),
    (e) => ((result.error = e), (done = true)),
  );
  for (let i = 0; i < 1000 && !done; i++) await clock.advance(10);
  expect(done, 'execute settled').to.equal(true);
  return result;
}

const idempotent = (extra: Partial<ExecuteOptions<any>> = {}): ExecuteOptions<any> => ({ target: TARGET, idempotent: true, ...extra });

describe('policy.execute', () => {
  it('retries transient failures of an idempotent call with exponential backoff, then succeeds', async () => {
    const { clock, policy } = setup();
    const startedAt: number[] = [];
    const { value } = await settle(
      clock,
      policy.execute(async ({ attempt }) => {
        startedAt.push(clock.now());
        if (attempt < 3) throw resetError();
        return 'ok';
      }, idempotent()),
    );
    expect(value).to.equal('ok');
    expect(startedAt).to.deep.equal([0, 100, 300]); // waits of 100 then 200
  });

  it('gives up after maxAttempts and rethrows the operation\'s own last error, classification attached', async () => {
    const { clock, policy } = setup();
    const errors: Error[] = [];
    const { error } = await settle(
      clock,
      policy.execute(async () => {
        const e = resetError();
        errors.push(e);
        throw e;
      }, idempotent()),
    );
    expect(errors).to.have.length(4);
    expect(error).to.equal(errors[3]);
    expect((error as NodeJS.ErrnoException).code).to.equal('ECONNRESET');
    expect(error).to.be.instanceOf(Error);
    expect(Object.keys(error as object)).to.deep.equal(['code', 'syscall']);
    expect(getClassification(error)).to.include({ category: 'network', transient: true });
  });

  it('never retries a call not marked idempotent', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    const { error } = await settle(
      clock,
      policy.execute(async () => {
        calls++;
        throw resetError();
      }, { target: TARGET }),
    );
    expect(calls).to.equal(1);
    expect((error as NodeJS.ErrnoException).code).to.equal('ECONNRESET');
  });

  it('an adapter\'s canReplay overrides idempotent (in_transaction, or a statement that never ran)', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    await settle(
      clock,
      policy.execute(async () => {
        calls++;
        throw resetError();
      }, { target: TARGET, idempotent: true, canReplay: () => 'in_transaction' }),
    );
    expect(calls).to.equal(1);
    calls = 0;
    await settle(
      clock,
      policy.execute(async () => {
        calls++;
        throw resetError();
      }, { target: TARGET, idempotent: false, canReplay: () => true }),
    );
    expect(calls).to.equal(4);
  });

  it('does not retry failures that are not transient', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    const { error } = await settle(
      clock,
      policy.execute(async () => {
        calls++;
        throw new NotFoundError('no such thing');
      }, idempotent()),
    );
    expect(calls).to.equal(1);
    expect(error).to.be.instanceOf(NotFoundError);
    expect(getClassification(error)?.category).to.equal('not_found');
  });

  it('honours Retry-After up to maxDelayMs', async () => {
    const { clock, policy } = setup({ retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 2000, jitter: 'none', budgetRatio: 10 } });
    const startedAt: number[] = [];
    const rateLimited = (seconds: string) => Object.assign(new Error('slow down'), { status: 429, headers: { 'retry-after': seconds } });
    await settle(
      clock,
      policy.execute(async ({ attempt }) => {
        startedAt.push(clock.now());
        if (attempt === 1) throw rateLimited('1');
        if (attempt === 2) throw rateLimited('30');
        return 'ok';
      }, idempotent()),
    );
    expect(startedAt).to.deep.equal([0, 1000, 3000]); // 1 s asked; 30 s asked, capped at 2 s
  });

  it('aborts an attempt at its timeout through the signal and retries it', async () => {
    const { clock, policy } = setup({ timeoutMs: 50 });
    const reasons: unknown[] = [];
    const { value } = await settle(
      clock,
      policy.execute(({ attempt, signal }) => {
        if (attempt === 2) return 'second';
        return new Promise((_, reject) => signal.addEventListener('abort', () => (reasons.push(signal.reason), reject(signal.reason))));
      }, idempotent()),
    );
    expect(value).to.equal('second');
    expect(reasons).to.have.length(1);
    expect((reasons[0] as Error).name).to.equal('TimeoutError');
    expect((reasons[0] as NodeJS.ErrnoException).code).to.equal('BREAKWATER_TIMEOUT');
  });

  it('onAbort: a listener runs once with the timeout\'s reason; one removed by offAbort never runs; one that throws stops neither the others nor the retry', async () => {
    const { clock, policy } = setup({ timeoutMs: 50 });
    const heard: string[] = [];
    const { value } = await settle(
      clock,
      policy.execute((attempt) => {
        if (attempt.attempt === 2) return 'second';
        const removed = (): void => void heard.push('removed');
        attempt.onAbort(() => {
          throw new Error('an adapter bug');
        });
        attempt.onAbort(removed);
        attempt.onAbort((reason) => heard.push((reason as NodeJS.ErrnoException).code!));
        attempt.offAbort(removed);
        return new Promise((_, reject) => attempt.onAbort(reject));
      }, idempotent()),
    );
    expect(value).to.equal('second');
    expect(heard).to.deep.equal(['BREAKWATER_TIMEOUT']);
  });

  it('onAbort on an attempt already aborted runs the listener on a later microtask; after success nothing runs', async () => {
    const { clock, policy } = setup({ timeoutMs: 50, retry: false });
    let late: unknown;
    let heardAfterSuccess = false;
    const controller = new AbortController();
    const ok = await policy.execute(async (attempt) => {
      attempt.onAbort(() => (heardAfterSuccess = true));
      return 'ok';
    }, idempotent({ signal: controller.signal }));
    controller.abort(new Error('too late'));
    await clock.advance(100);
    expect(ok).to.equal('ok');
    expect(heardAfterSuccess).to.equal(false);
    const { error } = await settle(
      clock,
      policy.execute((attempt) => {
        clock.setTimeout(() => {
          let sync = true;
          attempt.onAbort((reason) => (late = { reason, sync }));
          sync = false;
        }, 60);
        return new Promise(() => {});
      }, idempotent()),
    );
    await clock.advance(20); // past the listener's registration at 60 ms
    expect((error as NodeJS.ErrnoException).code).to.equal('BREAKWATER_TIMEOUT');
    expect(late).to.deep.equal({ reason: error, sync: false });
  });

  it('times out an operation that ignores its signal', async () => {
    const { clock, policy } = setup({ timeoutMs: 50, retry: false });
    const { error } = await settle(clock, policy.execute(() => new Promise(() => {}), idempotent()));
    expect((error as Error).name).to.equal('TimeoutError');
    expect(getClassification(error)?.category).to.equal('timeout');
  });

  it('stops retrying when the next wait would pass the deadline, and trims the last attempt to it', async () => {
    const { clock, policy } = setup({ deadlineMs: 350, timeoutMs: 1000 });
    const startedAt: number[] = [];
    const { error } = await settle(
      clock,
      policy.execute(({ attempt, signal }) => {
        startedAt.push(clock.now());
        if (attempt < 3) return Promise.reject(resetError());
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      }, idempotent()),
    );
    expect(startedAt).to.deep.equal([0, 100, 300]);
    expect((error as NodeJS.ErrnoException).code).to.equal('BREAKWATER_DEADLINE_EXCEEDED');
    expect(clock.now()).to.be.lessThan(400);
  });

  it('the caller\'s signal cancels the running attempt at once', async () => {
    const { clock, policy } = setup({ timeoutMs: 10_000 });
    const controller = new AbortController();
    let attemptSignal: AbortSignal | undefined;
    const promise = policy.execute(({ signal }) => {
      attemptSignal = signal;
      return new Promise(() => {});
    }, idempotent({ signal: controller.signal }));
    await flushMicrotasks();
    const reason = new Error('user went away');
    controller.abort(reason);
    const { error } = await settle(clock, promise);
    expect(error).to.equal(reason);
    expect(attemptSignal?.aborted).to.equal(true);
    expect(clock.now()).to.be.lessThan(100);
  });

  it('the caller\'s signal cancels a backoff wait at once, with no further attempt', async () => {
    const { clock, policy } = setup({ retry: { maxAttempts: 5, baseDelayMs: 10_000, jitter: 'none', budgetRatio: 10 } });
    const controller = new AbortController();
    let calls = 0;
    const promise = policy.execute(async () => {
      calls++;
      throw resetError();
    }, idempotent({ signal: controller.signal }));
    await clock.advance(1);
    controller.abort();
    const { error } = await settle(clock, promise);
    expect((error as Error).name).to.equal('AbortError');
    expect(calls).to.equal(1);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('an already-aborted signal fails at once without calling the operation', async () => {
    const { policy } = setup();
    let calls = 0;
    const controller = new AbortController();
    controller.abort();
    let caught: unknown;
    await policy.execute(() => calls++, idempotent({ signal: controller.signal })).catch((e) => (caught = e));
    expect(calls).to.equal(0);
    expect((caught as Error).name).to.equal('AbortError');
  });

  it('opens the breaker after consecutive failures; an open breaker rejects without calling the operation', async () => {
    const { clock, policy } = setup({ retry: false, breaker: { mode: 'consecutive', threshold: 3, openMs: 1000 } });
    let calls = 0;
    const failing = () => policy.execute(async () => (calls++, Promise.reject(resetError())), idempotent());
    for (let i = 0; i < 3; i++) await settle(clock, failing());
    expect(policy.circuit(TARGET).state).to.equal('open');
    const { error } = await settle(clock, failing());
    expect(calls).to.equal(3);
    expect(error).to.be.instanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).code).to.equal('BREAKWATER_CIRCUIT_OPEN');
    expect(getClassification(error)?.category).to.equal('circuit_open');
    await clock.advance(1000);
    const { value } = await settle(clock, policy.execute(async () => 'probe ok', idempotent()));
    expect(value).to.equal('probe ok');
    expect(policy.circuit(TARGET).state).to.equal('closed');
  });

  it('a 404 or a validation error does not count against the dependency', async () => {
    const { clock, policy } = setup({ retry: false, breaker: { mode: 'consecutive', threshold: 2 } });
    for (let i = 0; i < 5; i++) await settle(clock, policy.execute(async () => Promise.reject(new NotFoundError('x')), idempotent()));
    expect(policy.circuit(TARGET).state).to.equal('closed');
  });

  it('which classifications count is configurable', async () => {
    const { clock, policy } = setup({ retry: false, breaker: { mode: 'consecutive', threshold: 2, failureCategories: ['not_found'] } });
    for (let i = 0; i < 2; i++) await settle(clock, policy.execute(async () => Promise.reject(new NotFoundError('x')), idempotent()));
    expect(policy.circuit(TARGET).state).to.equal('open');
  });

  it('stops retrying once the breaker opened (breaker_open), returning the last own error', async () => {
    const { clock, policy } = setup({ breaker: { mode: 'consecutive', threshold: 2 } });
    let calls = 0;
    const { error } = await settle(clock, policy.execute(async () => (calls++, Promise.reject(resetError())), idempotent()));
    expect(calls).to.equal(2);
    expect((error as NodeJS.ErrnoException).code).to.equal('ECONNRESET');
  });

  it('the retry budget caps retries across calls to a target', async () => {
    const { clock, policy } = setup({ retry: { maxAttempts: 3, baseDelayMs: 1, jitter: 'none', budgetRatio: 0.5, budgetMinPerSecond: 0 } });
    let calls = 0;
    const runs = [];
    for (let i = 0; i < 10; i++) runs.push(settle(clock, policy.execute(async () => (calls++, Promise.reject(resetError())), idempotent())));
    await Promise.all(runs);
    expect(calls).to.equal(15); // 10 first attempts + 5 retries allowed by the budget
  });

  it('the bulkhead queues within bounds and rejects the rest, classified resource', async () => {
    const { clock, policy } = setup({ retry: false, bulkhead: { maxConcurrent: 1, maxQueue: 1 } });
    const releases: Array<() => void> = [];
    const op = () => new Promise<string>((resolve) => releases.push(() => resolve('done')));
    const first = policy.execute(op, idempotent());
    const second = policy.execute(op, idempotent());
    const third = policy.execute(op, idempotent());
    const thirdResult = await third.catch((e) => e);
    expect(thirdResult).to.be.instanceOf(BulkheadRejectedError);
    expect(getClassification(thirdResult)?.category).to.equal('resource');
    await clock.advance(1);
    expect(releases).to.have.length(1);
    releases[0]!();
    expect(await first).to.equal('done');
    await clock.advance(1);
    releases[1]!();
    expect(await second).to.equal('done');
  });

  it('the caller\'s abort takes a bulkhead waiter out of the queue and rejects it with the caller\'s reason', async () => {
    const { clock, policy } = setup({ retry: false, bulkhead: { maxConcurrent: 1, maxQueue: 1 } });
    const releases: Array<() => void> = [];
    let calls = 0;
    const op = () => (calls++, new Promise<string>((resolve) => releases.push(() => resolve('done'))));
    const first = policy.execute(op, idempotent());
    const controller = new AbortController();
    const waiting = policy.execute(op, idempotent({ signal: controller.signal })).catch((e: unknown) => e);
    expect(policy.circuit(TARGET).stats.bulkhead).to.deep.equal({ running: 1, queued: 1 });
    const reason = new Error('user went away');
    controller.abort(reason);
    expect(await waiting).to.equal(reason);
    expect(policy.circuit(TARGET).stats.bulkhead, 'its queue place is free').to.deep.equal({ running: 1, queued: 0 });
    // The freed place takes a new waiter, and the slot goes to it, not to the gone one.
    const next = policy.execute(op, idempotent());
    releases[0]!();
    expect(await first).to.equal('done');
    await clock.advance(1);
    expect(calls).to.equal(2);
    releases[1]!();
    expect(await next).to.equal('done');
    expect(policy.circuit(TARGET).stats.bulkhead).to.deep.equal({ running: 0, queued: 0 });
  });

  it('the deadline takes a bulkhead waiter out of the queue and rejects it with DeadlineExceededError', async () => {
    const { clock, policy } = setup({ retry: false, deadlineMs: 100, bulkhead: { maxConcurrent: 1, maxQueue: 1 } });
    let calls = 0;
    const hang = () => (calls++, new Promise<string>(() => {}));
    // Both start at 0 and meet their deadline at 100; the running call's attempt expires
    // first, but it gives its slot back only after the waiter's deadline rejected it.
    const running = policy.execute(hang, idempotent()).catch((e: unknown) => e);
    const waiting = policy.execute(hang, idempotent()).catch((e: unknown) => e);
    await clock.advance(99);
    expect(policy.circuit(TARGET).stats.bulkhead, 'still waiting before its deadline').to.deep.equal({ running: 1, queued: 1 });
    await clock.advance(1);
    const error = await waiting;
    expect(error).to.be.instanceOf(DeadlineExceededError);
    expect((error as DeadlineExceededError).code).to.equal('BREAKWATER_DEADLINE_EXCEEDED');
    expect(await running).to.be.instanceOf(DeadlineExceededError);
    expect(calls, 'the waiter never ran').to.equal(1);
    expect(policy.circuit(TARGET).stats.bulkhead, 'the slot was not handed to the gone waiter').to.deep.equal({ running: 0, queued: 0 });
    expect(await policy.execute(async () => 'next', idempotent())).to.equal('next');
  });

  it('a caller\'s signal that calls listener functions only (as the http adapter\'s own) cancels a running attempt and a bulkhead wait', async () => {
    class LightSignal {
      aborted = false;
      reason: unknown;
      listeners: Array<() => void> = [];
      addEventListener(_type: string, listener: () => void) {
        this.listeners.push(listener);
      }
      removeEventListener(_type: string, listener: () => void) {
        this.listeners = this.listeners.filter((l) => l !== listener);
      }
      abort(reason: unknown) {
        this.aborted = true;
        this.reason = reason;
        for (const listener of this.listeners) listener();
      }
    }
    const { clock, policy } = setup({ timeoutMs: 10_000, deadlineMs: 20_000, bulkhead: { maxConcurrent: 1, maxQueue: 1 } });
    const running = new LightSignal();
    const waiting = new LightSignal();
    const first = policy.execute(() => new Promise(() => {}), idempotent({ signal: running as unknown as AbortSignal })).catch((e: unknown) => e);
    const second = policy.execute(() => new Promise(() => {}), idempotent({ signal: waiting as unknown as AbortSignal })).catch((e: unknown) => e);
    waiting.abort('second gone');
    running.abort('first gone');
    expect(await second).to.equal('second gone');
    expect(await first).to.equal('first gone');
    expect(running.listeners.length + waiting.listeners.length, 'listeners removed').to.equal(0);
    expect(clock.now()).to.equal(0);
    expect(policy.circuit(TARGET).stats.bulkhead).to.deep.equal({ running: 0, queued: 0 });
  });

  it('on the system clock, a hanging attempt times out, not before its timeout', async () => {
    const policy = createPolicy({ name: 'real-time', telemetry: false, timeoutMs: 20, retry: false });
    const started = performance.now();
    const error = await policy.execute(() => new Promise(() => {}), idempotent()).catch((e: unknown) => e);
    expect((error as Error).name).to.equal('TimeoutError');
    expect(performance.now() - started).to.be.at.least(20);
  });

  it('a timeout result that comes late is ignored, a late rejection is never unhandled', async () => {
    const { clock, policy } = setup({ timeoutMs: 50, retry: false });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let settleLate: { resolve?: (v: string) => void; reject?: (e: unknown) => void } = {};
      const first = settle(clock, policy.execute(() => new Promise<string>((resolve) => (settleLate = { resolve })), idempotent()));
      expect(((await first).error as Error).name).to.equal('TimeoutError');
      settleLate.resolve!('late');
      const second = settle(clock, policy.execute(() => new Promise<string>((_, reject) => (settleLate = { reject })), idempotent()));
      expect(((await second).error as Error).name).to.equal('TimeoutError');
      settleLate.reject!(resetError());
      await flushMicrotasks();
      await flushMicrotasks();
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('once the operation settled, nothing aborts its signal: neither its timeout passing nor the caller aborting', async () => {
    const { clock, policy } = setup({ timeoutMs: 50, deadlineMs: 80 });
    const controller = new AbortController();
    let attemptSignal: AbortSignal | undefined;
    const value = await policy.execute(async ({ signal }) => ((attemptSignal = signal), 'ok'), idempotent({ signal: controller.signal }));
    expect(value).to.equal('ok');
    await clock.advance(100);
    controller.abort();
    expect(attemptSignal?.aborted).to.equal(false);
  });

  it('an attempt trimmed to the deadline fails with DeadlineExceededError, one within it with AttemptTimeoutError', async () => {
    const hang = ({ signal }: { signal: AbortSignal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const trimmed = setup({ timeoutMs: 100, deadlineMs: 60, retry: false });
    const { error: deadline } = await settle(trimmed.clock, trimmed.policy.execute(hang, idempotent()));
    expect(deadline).to.be.instanceOf(DeadlineExceededError);
    expect(trimmed.clock.now()).to.equal(60);
    const timed = setup({ timeoutMs: 40, deadlineMs: 60, retry: false });
    const { error: timeout } = await settle(timed.clock, timed.policy.execute(hang, idempotent()));
    expect(timeout).to.be.instanceOf(AttemptTimeoutError);
    expect(timeout).not.to.be.instanceOf(DeadlineExceededError);
    expect((timeout as AttemptTimeoutError).timeoutMs).to.equal(40);
  });

  it('many concurrent timed calls share one clock timer; a successful call reads the clock once', async () => {
    const clock = new FakeClock();
    let reads = 0;
    let timers = 0;
    const countingClock = {
      now: () => (reads++, clock.now()),
      setTimeout: (cb: () => void, ms: number) => (timers++, clock.setTimeout(cb, ms)),
      clearTimeout: (h: unknown) => clock.clearTimeout(h),
    };
    const policy = createPolicy({ clock: countingClock, telemetry: false, timeoutMs: 10_000, deadlineMs: 30_000, retry: { maxAttempts: 3, budgetRatio: Infinity }, breaker: { mode: 'consecutive', threshold: 5 } });
    const releases: Array<() => void> = [];
    const calls = Array.from({ length: 100 }, () => policy.execute(() => new Promise<string>((resolve) => releases.push(() => resolve('ok'))), idempotent()));
    await flushMicrotasks();
    for (const release of releases) release();
    expect(await Promise.all(calls)).to.have.length(100);
    expect({ reads, timers }).to.deep.equal({ reads: 100, timers: 1 });
  });

  it('a fallback\'s value is returned when giving up, with the error and classification', async () => {
    const seen: unknown[] = [];
    const { clock, policy } = setup({
      retry: false,
      fallback: (error, classification) => {
        seen.push(error, classification.category);
        return 'cached';
      },
    });
    const original = resetError();
    const { value } = await settle(clock, policy.execute(async () => Promise.reject(original), idempotent()));
    expect(value).to.equal('cached');
    expect(seen).to.deep.equal([original, 'network']);
  });

  it('a fallback also answers for an open breaker', async () => {
    const { clock, policy } = setup({ retry: false, fallback: (_e, c) => `fallback:${c.category}` });
    policy.circuit(TARGET).isolate();
    const { value } = await settle(clock, policy.execute(async () => 'never', idempotent()));
    expect(value).to.equal('fallback:circuit_open');
  });

  it('retries failed results (failureOf) and gives the caller the last real result', async () => {
    const { clock, policy } = setup();
    const responses = [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }];
    let i = 0;
    const { value } = await settle(
      clock,
      policy.execute(async () => responses[i++]!, idempotent({ failureOf: (r: { status: number }) => (r.status >= 500 ? r : undefined) })),
    );
    expect(i).to.equal(4);
    expect(value).to.equal(responses[3]);
  });

  it('accepts synchronous operations, values and throws', async () => {
    const { clock, policy } = setup({ retry: false });
    expect((await settle(clock, policy.execute(() => 42, idempotent()))).value).to.equal(42);
    const boom = new TypeError('bug');
    const { error } = await settle(
      clock,
      policy.execute(() => {
        throw boom;
      }, idempotent()),
    );
    expect(error).to.equal(boom);
    expect(getClassification(boom)?.category).to.equal('system');
  });

  it('circuit(target) exposes state, stats, isolate() and reset()', async () => {
    const { clock, policy } = setup({ retry: false });
    const handle = policy.circuit(TARGET);
    expect(handle.state).to.equal('closed');
    handle.isolate();
    expect(handle.state).to.equal('open');
    const { error } = await settle(clock, policy.execute(async () => 'x', idempotent()));
    expect(error).to.be.instanceOf(CircuitOpenError);
    expect(handle.stats.rejections).to.equal(1);
    handle.reset();
    expect(handle.state).to.equal('closed');
    expect(policy.targets()).to.deep.equal([TARGET]);
  });

  it('keeps per-target state bounded', async () => {
    const { clock, policy } = setup({ retry: false, maxTargets: 5 });
    for (let i = 0; i < 50; i++) await settle(clock, policy.execute(async () => 'x', { target: `https://h${i}:443` }));
    expect(policy.targets()).to.have.length(5);
  });

  it('leaves no timer behind after a call settles: the timer queue\'s unref\'d timer fires into nothing and is not re-armed', async () => {
    const { clock, policy } = setup({ timeoutMs: 1000, deadlineMs: 5000 });
    await settle(clock, policy.execute(async () => 'fast', idempotent()));
    expect(clock.pendingTimers, 'nothing keeps the process alive').to.equal(0);
    expect(clock.allTimers, 'the queue\'s timer, armed for the cancelled entry').to.equal(1);
    await clock.advance(1000);
    expect(clock.allTimers).to.equal(0);
  });

  it('the untimed fast path (consecutive breaker, no budget, deadline or SDK) reads no clock and sets no timer on success', async () => {
    const clock = new FakeClock();
    let reads = 0;
    let timers = 0;
    const counting = {
      now: () => (reads++, clock.now()),
      setTimeout: (cb: () => void, ms: number) => (timers++, clock.setTimeout(cb, ms)),
      clearTimeout: (h: unknown) => clock.clearTimeout(h),
    };
    const policy = createPolicy({ clock: counting, telemetry: false, retry: { maxAttempts: 3, baseDelayMs: 1, jitter: 'none', budgetRatio: Infinity }, breaker: { mode: 'consecutive', threshold: 5 } });
    expect(await policy.execute(async () => 'ok', idempotent())).to.equal('ok');
    expect({ reads, timers }).to.deep.equal({ reads: 0, timers: 0 });
    // a failure still gets timed and retried correctly
    const { value } = await settle(clock, policy.execute(async ({ attempt }) => (attempt === 1 ? Promise.reject(resetError()) : 'second'), idempotent()));
    expect(value).to.equal('second');
    expect(timers, 'one backoff wait, no attempt timer').to.equal(1);
  });

  it('tells listeners about retries, give-ups, rejections, fallbacks and transitions; a throwing listener is ignored', async () => {
    const { clock, policy } = setup({ breaker: { mode: 'consecutive', threshold: 3, openMs: 1000 } });
    const seen: string[] = [];
    policy.on('retry', (e) => seen.push(`retry ${e.attempt} after ${e.delayMs} (${e.classification.category})`));
    policy.on('giveUp', (e) => seen.push(`giveUp after ${e.attempts}: ${e.reason}`));
    policy.on('transition', (e) => seen.push(`${e.from}->${e.to}`));
    policy.on('rejected', (e) => seen.push(`rejected ${e.classification.category}`));
    const stop = policy.on('retry', () => {
      throw new Error('observer bug');
    });
    await settle(clock, policy.execute(async () => Promise.reject(resetError()), idempotent()));
    stop();
    await settle(clock, policy.execute(async () => 'x', idempotent()));
    expect(seen).to.deep.equal(['retry 2 after 100 (network)', 'retry 3 after 200 (network)', 'closed->open', 'giveUp after 3: breaker_open', 'rejected circuit_open']);
  });

  it('tells attempt and settled listeners every attempt and every call, success path included', async () => {
    const { clock, policy } = setup({ breaker: { mode: 'consecutive', threshold: 3, openMs: 1000 } });
    const seen: string[] = [];
    policy.on('attempt', (e) => seen.push(`attempt ${e.attempt} ${e.outcome}${e.classification ? ` ${e.classification.category}` : ''} ${e.client}`));
    policy.on('settled', (e) => seen.push(`settled ${e.outcome} after ${e.attempts}`));
    await settle(clock, policy.execute(async ({ attempt }) => (attempt === 1 ? Promise.reject(resetError()) : 'ok'), { ...idempotent(), client: 'pg' }));
    await settle(clock, policy.execute(async () => Promise.reject(resetError()), idempotent()));
    await settle(clock, policy.execute(async () => 'x', idempotent()));
    expect(seen).to.deep.equal([
      'attempt 1 failure network pg',
      'attempt 2 success pg',
      'settled success after 2',
      'attempt 1 failure network custom',
      'attempt 2 failure network custom',
      'attempt 3 failure network custom',
      'settled failure after 3',
      'settled rejected after 0',
    ]);
  });
});
