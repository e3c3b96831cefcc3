import { expect } from 'chai';
import { loadConfig } from '../../src/config/index.js';
import type { Attempt } from '../../src/engine/attempt.js';
import { createPolicy } from '../../src/engine/policy.js';
import type { PolicyOptions } from '../../src/engine/options.js';
import { feedPolicy, PatternDetector, reportDetection, type Detection } from '../../src/patterns/index.js';
import { EVENT_PATTERN_DETECTED, METRIC_PATTERN_DETECTED } from '../../src/telemetry/names.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { resetTargetLabels } from '../../src/telemetry/target-label.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { OtelHarness, pointValue } from '../helpers/otel.js';

const TARGET = 'https://payments.example.com:443';
const MINUTE_MS = 60_000;
const resetError = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });

async function drive<T>(clock: FakeClock, promise: Promise<T>): Promise<unknown> {
  let done = false;
  let out: unknown;
  promise.then((v) => ((out = v), (done = true)), (e) => ((out = e), (done = true)));
  for (let i = 0; i < 1000 && !done; i++) await clock.advance(10);
  expect(done, 'the call settled').to.equal(true);
  return out;
}

/** Moves the fake clock to the start of the next minute. */
const nextMinute = (clock: FakeClock) => clock.advance(MINUTE_MS - (clock.now() % MINUTE_MS));

function setup(options: PolicyOptions) {
  const clock = new FakeClock();
  const policy = createPolicy({ name: 'payments', clock, random: () => 0.5, ...options });
  const detections: Detection[] = [];
  const detector = new PatternDetector({
    clock,
    onDetection: (d) => {
      detections.push(d);
      reportDetection(d);
    },
  });
  feedPolicy(policy, detector);
  return { clock, policy, detector, detections };
}

/** Captures what is written to stderr while `run` runs. */
async function capturingStderr(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    await run();
  } finally {
    process.stderr.write = original;
  }
  return lines;
}

describe('pattern detector fed by a real policy', () => {
  let otel: OtelHarness;
  beforeEach(() => {
    resetTargetLabels();
    otel = new OtelHarness().install();
  });
  afterEach(async () => {
    await otel.uninstall();
  });

  it('detects a retry storm, records it as the metric and a span, and writes one line to stderr', async () => {
    const { clock, policy, detections } = setup({
      retry: { maxAttempts: 2, baseDelayMs: 100, jitter: 'none', budgetRatio: 10 },
      breaker: { mode: 'consecutive', threshold: 1000 },
    });
    const lines = await capturingStderr(async () => {
      // Every call fails once and succeeds on its retry: one retry per first attempt
      // (0.5 is the threshold), 10 calls a minute (0.17 first attempts/s, 0.1 needed).
      for (let minute = 0; minute < 9; minute++) {
        for (let call = 0; call < 10; call++) {
          await drive(clock, policy.execute(async ({ attempt }) => (attempt === 1 ? Promise.reject(resetError()) : 'ok'), { target: TARGET, client: 'fetch', idempotent: true }));
        }
        await nextMinute(clock);
      }
    });
    // True from minute 2, when the 5-minute window holds 30 first attempts (0.1/s); firing 5 minutes later.
    expect(detections.map((d) => [d.pattern, d.minute])).to.deep.equal([['retry_storm', 7]]);
    const storm = lines.filter((l) => l.startsWith('breakwater: pattern'));
    expect(storm).to.deep.equal([`breakwater: pattern retry_storm on ${TARGET} (fetch): 1.00 extra attempts per first attempt over 5m (1.00 retries, 0.00 hedges; threshold 0.5)\n`]);

    const metrics = await otel.collect();
    expect(pointValue(metrics.get(METRIC_PATTERN_DETECTED), { 'resilience.pattern': 'retry_storm', 'resilience.target': TARGET })).to.equal(1);
    const spans = otel.spans().filter((s) => s.name === EVENT_PATTERN_DETECTED);
    expect(spans).to.have.length(1);
    expect(spans[0]?.parentSpanContext, 'a root span, not part of whichever call triggered the evaluation').to.equal(undefined);
    expect(spans[0]?.events.map((e) => [e.name, e.attributes?.['resilience.pattern.alert'], e.attributes?.['resilience.client']])).to.deep.equal([
      [EVENT_PATTERN_DETECTED, 'BreakwaterRetryStorm', 'fetch'],
    ]);
    expect(clock.pendingTimers, 'the detector set no timer').to.equal(0);
  });

  it('counts every backup attempt of a hedged call as a hedge: a storm of hedges is a retry storm', async () => {
    const { clock, policy, detector, detections } = setup({
      retry: false,
      breaker: { mode: 'consecutive', threshold: 1000 },
      hedge: { delayMs: 20, budgetRatio: 10 },
    });
    const hedges: string[] = [];
    const record = detector.record.bind(detector);
    detector.record = (count, at) => {
      if (count.kind === 'hedges') hedges.push(count.result);
      record(count, at);
    };
    // Each call's first attempt takes 100 ms; its hedge, sent after 20 ms, answers in 10 ms
    // and wins: one cancelled first attempt and one hedge per call, nothing fails.
    const slowFirst = ({ attempt, signal }: Attempt) =>
      new Promise<string>((resolve, reject) => {
        const timer = clock.setTimeout(() => resolve('ok'), attempt === 1 ? 100 : 10);
        signal.addEventListener('abort', () => {
          clock.clearTimeout(timer);
          reject(signal.reason);
        });
      });
    const lines = await capturingStderr(async () => {
      for (let minute = 0; minute < 9; minute++) {
        for (let call = 0; call < 10; call++) await drive(clock, policy.execute(slowFirst, { target: TARGET, client: 'fetch', idempotent: true }));
        await nextMinute(clock);
      }
    });
    expect(hedges).to.have.length(90).and.to.satisfy((results: string[]) => results.every((r) => r === 'won'));
    // One hedge per first attempt, as in the retry storm above: detected at the same minute.
    expect(detections.map((d) => [d.pattern, d.minute])).to.deep.equal([['retry_storm', 7]]);
    expect(lines.filter((l) => l.startsWith('breakwater: pattern'))).to.deep.equal([
      `breakwater: pattern retry_storm on ${TARGET} (fetch): 1.00 extra attempts per first attempt over 5m (0.00 retries, 1.00 hedges; threshold 0.5)\n`,
    ]);
  });

  it('detects a flapping breaker from its transitions', async () => {
    const { clock, policy, detections } = setup({
      retry: false,
      breaker: { mode: 'consecutive', threshold: 3, openMs: 1000 },
    });
    const call = (fail: boolean) =>
      drive(clock, policy.execute(async () => (fail ? Promise.reject(resetError()) : 'ok'), { target: TARGET, client: 'fetch', idempotent: true }));
    const lines = await capturingStderr(async () => {
      for (let trip = 0; trip < 3; trip++) {
        for (let i = 0; i < 3; i++) await call(true); // closed -> open
        await clock.advance(1500);
        await call(false); // half_open -> closed
        await nextMinute(clock);
      }
      // One more call lets the detector evaluate the minute of the third trip.
      await call(false);
    });
    expect(detections.map((d) => [d.pattern, d.labels['resilience_policy']])).to.deep.equal([['circuit_flapping', 'payments']]);
    expect(lines.filter((l) => l.startsWith('breakwater: pattern'))).to.deep.equal([
      `breakwater: pattern circuit_flapping on ${TARGET} (policy payments): breaker of policy payments tripped 3 times over 15m (threshold 3)\n`,
    ]);
    const metrics = await otel.collect();
    expect(pointValue(metrics.get(METRIC_PATTERN_DETECTED), { 'resilience.pattern': 'circuit_flapping', 'resilience.target': TARGET })).to.equal(1);
  });

  it('counts a rejection as an attempt with outcome rejected and, for a breaker, a circuit rejection', async () => {
    const { clock, policy, detector } = setup({ retry: false, breaker: { mode: 'consecutive', threshold: 1, openMs: 1000 } });
    const counted: string[] = [];
    const record = detector.record.bind(detector);
    detector.record = (count, at) => {
      if (count.kind === 'attempts' || count.kind === 'rejections') counted.push(count.kind === 'attempts' ? `${count.outcome} ${count.category}` : 'circuit rejection');
      record(count, at);
    };
    // The dependency stays down: the breaker opens on the first failure, every probe fails,
    // and the calls in between are turned away, for 8 minutes.
    const lines = await capturingStderr(async () => {
      for (let minute = 0; minute < 8; minute++) {
        for (let i = 0; i < 20; i++) await drive(clock, policy.execute(async () => Promise.reject(resetError()), { target: TARGET, client: 'fetch', idempotent: true }));
        await nextMinute(clock);
      }
      detector.flush();
    });
    expect(lines.some((l) => l.startsWith(`breakwater: pattern circuit_open on ${TARGET} (policy payments): `))).to.equal(true);
    expect(counted.slice(0, 3)).to.deep.equal(['failure network', 'rejected circuit_open', 'circuit rejection']);
    expect(detector.firing().find((f) => f.pattern === 'circuit_open')?.labels).to.deep.equal({ resilience_target: TARGET, resilience_policy: 'payments' });
  });

  it('a runtime with BREAKWATER_PATTERNS on feeds one detector from every policy it creates; off by default', async () => {
    expect(new Runtime(loadConfig({})).patterns).to.equal(undefined);
    const runtime = new Runtime(loadConfig({ BREAKWATER_PATTERNS: 'true', BREAKWATER_RETRY_MAX_ATTEMPTS: '1' }));
    const detector = runtime.patterns;
    expect(detector).to.be.instanceOf(PatternDetector);
    await runtime.execute(async () => 'ok', { target: TARGET, client: 'fetch', idempotent: true });
    await runtime.execute(async () => 'ok', { target: 'postgresql://db:5432/app', client: 'pg', idempotent: true });
    expect(detector?.stats().dependencies).to.equal(2);
  });

  it('ignores a clock reading or a count that is not a number, without losing what it has', () => {
    let now = 0;
    const detector = new PatternDetector({ clock: { now: () => now } });
    detector.record({ kind: 'attempts', target: TARGET, client: 'fetch', outcome: 'success', count: 1 });
    detector.record({ kind: 'attempts', target: TARGET, client: 'fetch', outcome: 'failure', count: -5 });
    now = Number.POSITIVE_INFINITY;
    detector.flush(); // must return: a time of Infinity would otherwise be a minute never reached
    expect(detector.stats().dependencies).to.equal(1);
  });

  it('never throws into the caller, whatever it is fed', () => {
    const detector = new PatternDetector({
      clock: { now: () => Number.NaN },
      onDetection: () => {
        throw new Error('reporter bug');
      },
    });
    expect(() => detector.record({ kind: 'attempts', target: TARGET, client: 'fetch', outcome: 'failure', count: Number.NaN })).not.to.throw();
    expect(() => detector.flush(Number.POSITIVE_INFINITY)).not.to.throw();
    expect(() => detector.record(undefined as never)).not.to.throw();
  });
});
