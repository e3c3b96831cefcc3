import { expect } from 'chai';
import fc from 'fast-check';
import {
  CEILING_RAISE_MS,
  DROP_PENALTY,
  FIRST_REPROBE_MS,
  GRADIENT_DEFAULTS,
  GradientLimit,
  HEADROOM_SHARE,
  LOW_WINDOWS_BEFORE_PROBE,
  resolveGradientSettings,
  type GradientLimitSettings,
} from '../../src/engine/gradient-limit.js';
import { seededRandom } from '../helpers/fake-clock.js';

/** Small numbers so hand-driven tests stay short: 10 samples a window, 10 a probe. */
const SMALL: GradientLimitSettings = {
  ...GRADIENT_DEFAULTS,
  minWindowSamples: 10,
  minRttSamples: 10,
  smoothing: 1,
};

/** Feeds `count` samples of `latencyMs`, one every `stepMs`, from `from`; returns the time after the last. */
function feed(limit: GradientLimit, from: number, count: number, latencyMs: number, inFlight: number, stepMs = 1, dropped = false): number {
  let now = from;
  for (let i = 0; i < count; i++) {
    now += stepMs;
    limit.onSample(now, latencyMs, inFlight, dropped);
  }
  return now;
}

/** A limiter past its first probe and the warm re-probe after it, with minRtt = 10 ms; returns it and the time. */
function measured(settings: GradientLimitSettings = SMALL, random: () => number = () => 0.5): { g: GradientLimit; now: number } {
  const g = new GradientLimit(settings, 0, random);
  feed(g, 0, settings.minRttSamples, 10, 1, 10);
  expect(g.probing).to.equal(false);
  const reprobe = g.nextProbeAt;
  g.advance(reprobe);
  expect(g.probing, 'the first baseline is re-measured').to.equal(true);
  const now = feed(g, reprobe, settings.minRttSamples, 10, 1, 10);
  expect(g.probing).to.equal(false);
  expect(g.minRttMs).to.equal(10);
  return { g, now };
}

/** One full window of `latencyMs` at `inFlight` (the limit by default: not app-limited). */
function window(g: GradientLimit, from: number, latencyMs: number, inFlight = g.limit, settings = SMALL): number {
  const step = settings.sampleWindowMs / settings.minWindowSamples;
  return feed(g, from, settings.minWindowSamples, latencyMs, inFlight, step);
}

// ---------------------------------------------------------------------------------------
// A simulated dependency: `capacity` workers serve requests first come, first served, each
// in `baseMs` (+- noise); past the capacity requests wait, so latency is the base up to
// `capacity` in flight and grows linearly with the queue beyond it. `clients` closed-loop
// clients call it back to back, admitted while in-flight < limiter.limit. Discrete events,
// no timers: time jumps from one completion to the next.
// ---------------------------------------------------------------------------------------

interface Phase {
  /** From this simulated time on... */
  readonly at: number;
  /** ...a request takes this long to serve. */
  readonly baseMs: number;
}

interface SimOptions {
  readonly settings: GradientLimitSettings;
  readonly capacity: number;
  readonly baseMs: number;
  readonly clients: number;
  readonly durationMs: number;
  readonly noise?: number;
  readonly seed?: number;
  readonly phases?: readonly Phase[];
  /** Past capacity, answer "overloaded" in 1 ms (dropped) instead of queueing. */
  readonly rejectBeyondCapacity?: boolean;
}

/** The limiter's state from `t` until the next point. */
interface Point {
  readonly t: number;
  readonly limit: number;
  readonly probing: boolean;
  readonly minRtt: number;
}

interface Completion {
  readonly at: number;
  readonly sentAt: number;
  readonly dropped: boolean;
  readonly seq: number;
}

class CompletionHeap {
  private readonly items: Completion[] = [];

  get size(): number {
    return this.items.length;
  }

  private less(a: Completion, b: Completion): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  push(item: Completion): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): Completion {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(items[l]!, items[m]!)) m = l;
        if (r < items.length && this.less(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
}

function simulate(o: SimOptions): { trace: Point[]; limiter: GradientLimit } {
  const random = seededRandom(o.seed ?? 1);
  const limiter = new GradientLimit(o.settings, 0, seededRandom((o.seed ?? 1) + 1000));
  const noise = o.noise ?? 0.2;
  const trace: Point[] = [];
  const record = (t: number): void => {
    const last = trace[trace.length - 1];
    if (last && last.limit === limiter.limit && last.probing === limiter.probing && Object.is(last.minRtt, limiter.minRttMs)) return;
    trace.push({ t, limit: limiter.limit, probing: limiter.probing, minRtt: limiter.minRttMs });
  };
  const completions = new CompletionHeap();
  const queue: number[] = []; // send times of requests waiting for a worker
  let queueHead = 0;
  let seq = 0;
  let now = 0;
  let inFlight = 0;
  let idleClients = o.clients;
  let busyWorkers = 0;
  let phase = 0;
  let baseMs = o.baseMs;
  const serviceMs = (): number => baseMs * (1 + noise * (2 * random() - 1));
  record(0);
  while (now < o.durationMs) {
    while (o.phases && phase < o.phases.length && now >= o.phases[phase]!.at) baseMs = o.phases[phase++]!.baseMs;
    while (idleClients > 0 && inFlight < limiter.limit) {
      idleClients--;
      inFlight++;
      if (busyWorkers < o.capacity) {
        busyWorkers++;
        completions.push({ at: now + serviceMs(), sentAt: now, dropped: false, seq: seq++ });
      } else if (o.rejectBeyondCapacity) {
        completions.push({ at: now + 1, sentAt: now, dropped: true, seq: seq++ });
      } else {
        queue.push(now);
      }
    }
    const done = completions.pop();
    now = done.at;
    if (!done.dropped) {
      // The worker takes the next queued request, or goes idle.
      if (queueHead < queue.length) completions.push({ at: now + serviceMs(), sentAt: queue[queueHead++]!, dropped: false, seq: seq++ });
      else busyWorkers--;
    }
    limiter.onSample(now, now - done.sentAt, inFlight, done.dropped);
    inFlight--;
    idleClients++;
    record(now);
    if (queueHead > 4096) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
  }
  return { trace, limiter };
}

/** The points covering [from, to): the one in force at `from`, and every later one before `to`. */
function during(trace: readonly Point[], from: number, to: number): Point[] {
  let first = 0;
  for (let i = 0; i < trace.length && trace[i]!.t <= from; i++) first = i;
  return trace.slice(first).filter((p, i) => i === 0 || p.t < to);
}

/** The band the brief asks the limit to settle in: [C, 1.5 C + sqrt(1.5 C)]. */
function band(capacity: number): [number, number] {
  const high = 1.5 * capacity;
  return [capacity, Math.floor(high + Math.sqrt(high))];
}

/** When the limit (outside probes) entered the band for good, or undefined. */
function settledAt(trace: readonly Point[], capacity: number, until: number): number | undefined {
  const [low, high] = band(capacity);
  let since: number | undefined;
  for (const p of trace) {
    if (p.t >= until) break;
    if (p.probing) continue;
    const inside = p.limit >= low && p.limit <= high;
    if (inside && since === undefined) since = p.t;
    if (!inside) since = undefined;
  }
  return since;
}

describe('GradientLimit: settings', () => {
  it('GRADIENT_DEFAULTS are valid and resolve to themselves', () => {
    expect(resolveGradientSettings({})).to.deep.equal(GRADIENT_DEFAULTS);
    expect(Object.isFrozen(GRADIENT_DEFAULTS)).to.equal(true);
  });

  it('fills in what is left out, undefined included', () => {
    const s = resolveGradientSettings({ maxLimit: 50, buffer: undefined, percentile: 0.5 });
    expect(s).to.deep.equal({ ...GRADIENT_DEFAULTS, maxLimit: 50, percentile: 0.5 });
  });

  it('a left-out initialLimit or maxLimit fits within the bounds given; given ones are checked', () => {
    expect(resolveGradientSettings({ minLimit: 50 })).to.include({ minLimit: 50, initialLimit: 50, maxLimit: 1000 });
    expect(resolveGradientSettings({ maxLimit: 10 })).to.include({ initialLimit: 10, maxLimit: 10 });
    expect(resolveGradientSettings({ minLimit: 2000 })).to.include({ initialLimit: 2000, maxLimit: 2000 });
    expect(() => resolveGradientSettings({ minLimit: 50, initialLimit: 20 })).to.throw(RangeError, 'gradientLimit.initialLimit is 20');
  });

  const bad: [keyof GradientLimitSettings, unknown, string][] = [
    ['minLimit', 0, 'a whole number >= 1'],
    ['minLimit', 1.5, 'a whole number >= 1'],
    ['maxLimit', 0, 'a whole number >= minLimit (1)'],
    ['initialLimit', 2000, 'a whole number from minLimit (1) to maxLimit (1000)'],
    ['initialLimit', NaN, 'a whole number from minLimit (1) to maxLimit (1000)'],
    ['buffer', -0.1, 'a share >= 0 of minRtt'],
    ['buffer', Infinity, 'a share >= 0 of minRtt'],
    ['sampleWindowMs', 0, 'a number of milliseconds > 0'],
    ['minWindowSamples', 0, 'a whole number >= 1'],
    ['percentile', 0, 'a share above 0, up to 1'],
    ['percentile', 90, 'a share above 0, up to 1'],
    ['minRttIntervalMs', -1, 'a number of milliseconds > 0'],
    ['minRttJitter', 1, 'a share from 0 up to (not including) 1'],
    ['minRttConcurrency', 0, 'a whole number >= 1'],
    ['minRttSamples', 2.5, 'a whole number >= 1'],
    ['smoothing', 0, 'a share above 0, up to 1'],
    ['smoothing', '0.5', 'a share above 0, up to 1'],
  ];
  for (const [field, value, accepted] of bad) {
    it(`a RangeError names ${field} = ${String(value)} and what is accepted`, () => {
      const attempt = (): unknown => resolveGradientSettings({ [field]: value } as Partial<GradientLimitSettings>);
      expect(attempt).to.throw(RangeError, `gradientLimit.${field} is ${String(value)}; accepted: ${accepted}`);
    });
  }

  it('says where the setting sits when told, and the constructor checks its settings too', () => {
    expect(() => resolveGradientSettings({ minLimit: 5, maxLimit: 4 }, 'policy.concurrency')).to.throw(RangeError, 'policy.concurrency.maxLimit is 4; accepted: a whole number >= minLimit (5)');
    expect(() => new GradientLimit({ ...GRADIENT_DEFAULTS, smoothing: 2 }, 0)).to.throw(RangeError, 'smoothing is 2');
  });
});

describe('GradientLimit: the probe of minRtt', () => {
  it('starts probing: the limit pinned to minRttConcurrency, no minRtt, until minRttSamples ended', () => {
    const g = new GradientLimit(SMALL, 0, () => 0.5);
    expect(g.probing).to.equal(true);
    expect(g.limit).to.equal(3);
    expect(g.minRttMs).to.be.NaN;
    expect(g.sampleRttMs).to.be.NaN;
    // p90 of 1..10 ms (nearest rank): 9 ms.
    for (let i = 1; i <= 10; i++) {
      expect(g.probing, `sample ${i}`).to.equal(true);
      g.onSample(100 + i * 10, i, 3, false);
    }
    expect(g.probing).to.equal(false);
    expect(g.minRttMs).to.equal(9);
    expect(g.limit).to.equal(SMALL.initialLimit);
  });

  it('ignores attempts that started before the probe: they ran at the old limit', () => {
    const g = new GradientLimit(SMALL, 1000, () => 0.5);
    feed(g, 1000, 30, 500, 3, 1); // sent at ~500-530, before the probe began at 1000
    expect(g.probing).to.equal(true);
    feed(g, 2000, 10, 7, 3, 1);
    expect(g.probing).to.equal(false);
    expect(g.minRttMs).to.equal(7);
  });

  it('a dropped attempt counts toward ending a probe, not toward minRtt; all dropped at the start keeps probing', () => {
    const g = new GradientLimit(SMALL, 0, () => 0.5);
    feed(g, 0, 10, 5, 3, 10, true);
    expect(g.probing, 'no answer yet: no baseline').to.equal(true);
    expect(g.limit).to.equal(3);
    let now = feed(g, 200, 9, 5, 3, 10, true);
    now = feed(g, now, 1, 8, 3, 10, false);
    expect(g.probing).to.equal(false);
    expect(g.minRttMs).to.equal(8);
  });

  it('probes again every minRttIntervalMs +- jitter, pins the limit, then restores the limit it had', () => {
    for (const [r, factor] of [
      [0, 0.85],
      [0.5, 1],
      [0.999_999, 1.15],
    ] as const) {
      const { g, now } = measured(SMALL, () => r);
      const due = g.nextProbeAt;
      expect(due - now).to.be.closeTo(60_000 * factor, 1);
      let t = window(g, now, 10); // grows the limit: 20 -> 27.5
      const before = g.limit;
      expect(before).to.equal(27);
      // Windows at minRtt, app-limited (in-flight 1): the limit holds until the probe is due.
      while (t + 25 < due) t = feed(g, t, 1, 10, 1, 25);
      expect(g.probing, 'not yet due').to.equal(false);
      expect(g.limit).to.equal(before);
      g.onSample(due, 10, 1, false);
      expect(g.probing, `due at ${due - now} ms`).to.equal(true);
      expect(g.limit).to.equal(3);
      expect(g.nextProbeAt).to.equal(Infinity);
      t = feed(g, due, 10, 12, 3, 20); // each sent after the probe began
      expect(g.probing).to.equal(false);
      expect(g.minRttMs).to.equal(12);
      expect(g.limit, 'restored').to.equal(before);
      expect(g.nextProbeAt - t).to.be.closeTo(60_000 * factor, 1);
    }
  });

  it(`re-measures the first baseline ${FIRST_REPROBE_MS} ms +- jitter after it (a cold first probe reads high), then every minRttIntervalMs`, () => {
    for (const [r, factor] of [
      [0, 0.85],
      [0.999_999, 1.15],
    ] as const) {
      const g = new GradientLimit(SMALL, 0, () => r);
      let t = feed(g, 0, SMALL.minRttSamples, 18, 1, 20); // cold: connections opening, code not yet optimised
      expect(g.minRttMs).to.equal(18);
      const reprobe = g.nextProbeAt;
      expect(reprobe - t).to.be.closeTo(FIRST_REPROBE_MS * factor, 1);
      g.advance(reprobe);
      expect(g.probing).to.equal(true);
      t = feed(g, reprobe, SMALL.minRttSamples, 11, 1, 20); // warm
      expect(g.probing).to.equal(false);
      expect(g.minRttMs, 'the warm measure replaces the cold one').to.equal(11);
      expect(g.nextProbeAt - t).to.be.closeTo(60_000 * factor, 1);
    }
    // A warm re-measure that reads higher keeps the first: it measured the client's own load.
    const higher = new GradientLimit(SMALL, 0, () => 0.5);
    feed(higher, 0, SMALL.minRttSamples, 11, 1, 20);
    const due = higher.nextProbeAt;
    higher.advance(due);
    let later = feed(higher, due, SMALL.minRttSamples, 14, 1, 20);
    expect(higher.minRttMs).to.equal(11);
    // Later probes are the dependency's own measure again, higher or lower.
    const next = higher.nextProbeAt;
    higher.advance(next);
    later = feed(higher, next, SMALL.minRttSamples, 14, 1, 20);
    expect(higher.minRttMs, `probe at ${later}`).to.equal(14);
    const rare = new GradientLimit({ ...SMALL, minRttIntervalMs: 2_000 }, 0, () => 0.5);
    const t = feed(rare, 0, SMALL.minRttSamples, 10, 1, 10);
    expect(rare.nextProbeAt - t, 'never later than the configured interval').to.be.closeTo(2_000, 1);
  });

  it('a probe never raises the limit: below minRttConcurrency it pins the current limit; never below minLimit', () => {
    const low = new GradientLimit({ ...SMALL, initialLimit: 2 }, 0);
    expect(low.limit).to.equal(2);
    const floor = new GradientLimit({ ...SMALL, minLimit: 5, initialLimit: 8 }, 0);
    expect(floor.limit).to.equal(5);
  });

  it('advance() starts a due probe without a sample', () => {
    const { g, now } = measured();
    g.advance(now + 1000);
    expect(g.probing).to.equal(false);
    g.advance(g.nextProbeAt);
    expect(g.probing).to.equal(true);
  });
});

describe('GradientLimit: the gradient', () => {
  it(`moves by clamp(minRtt * (1 + buffer) / sampleRtt, 0.5, 2) plus ${HEADROOM_SHARE} x sqrt headroom, to a whole number`, () => {
    expect(HEADROOM_SHARE, 'the figures below are worked out for it').to.equal(0.5);
    const { g, now } = measured();
    // 10 ms again: gradient 1.25; 20 * 1.25 = 25, + sqrt(25) / 2 = 27.5 -> 27.
    let t = window(g, now, 10);
    expect(g.gradient).to.equal(1.25);
    expect(g.sampleRttMs).to.equal(10);
    expect(g.limit).to.equal(27);
    // 25 ms: 12.5 / 25 = 0.5; 27.5 * 0.5 = 13.75, + 1.85 = 15.6 -> 15.
    t = window(g, t, 25);
    expect(g.gradient).to.equal(0.5);
    expect(g.limit).to.equal(15);
    // 100 ms: clamped to 0.5; 15.6 * 0.5 = 7.8, + 1.4 = 9.2 -> 9.
    t = window(g, t, 100);
    expect(g.gradient).to.equal(0.5);
    expect(g.limit).to.equal(9);
    // 6 ms: 12.5 / 6 = 2.08, clamped to 2; 9.2 * 2 = 18.4, + 2.14 = 20.54 -> 20.
    window(g, t, 6);
    expect(g.gradient).to.equal(2);
    expect(g.limit).to.equal(20);
  });

  it('smoothing moves only that share of the way', () => {
    const { g, now } = measured({ ...SMALL, smoothing: 0.5 });
    window(g, now, 10, 20, { ...SMALL, smoothing: 0.5 });
    expect(g.limit).to.equal(23); // halfway from 20 to 27.5
  });

  it('a window closes only when sampleWindowMs passed and minWindowSamples arrived', () => {
    const { g, now } = measured();
    let t = feed(g, now, 9, 10, 20, 100); // 900 ms but 9 samples
    expect(g.sampleRttMs).to.be.NaN;
    t = feed(g, t, 1, 10, 20, 100);
    expect(g.sampleRttMs).to.equal(10);
    t = feed(g, t, 50, 10, 30, 1); // 50 samples within 50 ms
    expect(g.limit).to.equal(27);
    t = feed(g, t, 1, 10, 30, 200); // 250 ms since the window opened
    expect(g.limit).to.be.above(27);
  });

  it('the percentile of a window with far more samples than it keeps stays close (bounded memory)', () => {
    const { g, now } = measured({ ...SMALL, minWindowSamples: 1, percentile: 0.9 }, seededRandom(7));
    // 20 000 samples in one window: 1 000 of 1 ms first, then 19 000 uniform over 1..10 000 ms.
    // The true p90 is about 8 950 ms; keeping only the first samples would say 1 ms.
    let t = now;
    for (let i = 0; i < 1000; i++) g.onSample((t += 0.01), 1, 20, false);
    for (let i = 0; i < 19_000; i++) g.onSample((t += 0.01), 1 + ((i * 7919) % 10_000), 20, false);
    g.onSample(t + 250, 9000, 20, false);
    expect(g.sampleRttMs).to.be.within(8300, 9600);
  });

  it('the app-limited guard: with one attempt in flight the limit never grows, yet still shrinks', () => {
    const { g, now } = measured();
    let t = now;
    for (let i = 0; i < 200; i++) t = window(g, t, 10, 1);
    expect(g.limit).to.equal(SMALL.initialLimit);
    t = window(g, t, 40, 1);
    expect(g.limit).to.be.below(SMALL.initialLimit);
    // Half the limit in flight is enough to grow.
    const { g: busy, now: t2 } = measured();
    window(busy, t2, 10, 10);
    expect(busy.limit).to.equal(27);
  });

  it(`a dropped attempt counts as ${DROP_PENALTY} x the buffered minRtt: beyond 1 - percentile of a window, the limit halves`, () => {
    const few = measured();
    let t = feed(few.g, few.now, 9, 10, 20, 25);
    t = feed(few.g, t, 1, 10, 20, 25, true); // 10% dropped: p90 is still 10 ms
    expect(few.g.limit).to.equal(27);
    const many = measured();
    t = feed(many.g, many.now, 8, 10, 20, 25);
    t = feed(many.g, t, 2, 1, 20, 25, true); // 20% dropped, fast: p90 is the penalty
    expect(many.g.sampleRttMs).to.equal(25);
    expect(many.g.gradient).to.equal(0.5);
    expect(many.g.limit).to.equal(11); // 10 + sqrt(10) / 2
    // A dropped attempt slower than the penalty counts as what it took.
    feed(many.g, t, 10, 400, 13, 25, true);
    expect(many.g.sampleRttMs).to.equal(400);
  });

  it('re-measures minRtt at once when a window is twice as fast as it', () => {
    const { g, now } = measured();
    window(g, now, 4.9);
    expect(g.nextProbeAt).to.equal(now + 250);
    g.onSample(now + 260, 4.9, 20, false);
    expect(g.probing).to.equal(true);
  });

  it(`re-measures minRtt after ${LOW_WINDOWS_BEFORE_PROBE} windows at or under the probe's concurrency`, () => {
    const { g, now } = measured({ ...SMALL, initialLimit: 3 });
    let t = now;
    for (let i = 1; i < LOW_WINDOWS_BEFORE_PROBE; i++) {
      t = window(g, t, 30);
      expect(g.limit, `window ${i}`).to.be.at.most(3);
      expect(g.nextProbeAt).to.be.above(t);
    }
    t = window(g, t, 30);
    expect(g.nextProbeAt).to.equal(t);
    g.onSample(t + 1, 30, 1, false);
    expect(g.probing).to.equal(true);
    feed(g, t + 100, 10, 30, 1, 1);
    expect(g.minRttMs).to.equal(30);
  });

  it('ignores NaN, negative and time that runs backwards; clamps Infinity and huge latencies', () => {
    const { g, now } = measured();
    let t = feed(g, now, 30, NaN, 20, 25);
    t = feed(g, t, 30, -5, 20, 25);
    expect(g.sampleRttMs).to.be.NaN;
    g.onSample(NaN, 10, 20, false);
    g.onSample(Infinity, 10, 20, false);
    t = feed(g, t, 10, Number.MAX_VALUE, 20, 25);
    expect(g.sampleRttMs).to.equal(86_400_000);
    expect(g.limit).to.equal(11);
    // A reading from the past is taken as the latest time seen.
    g.onSample(0, 10, 13, false);
    expect(g.advance(0)).to.equal(t);
  });
});

describe('GradientLimit: refusals for want of slots', () => {
  it('caps the limit just under the concurrency refused, leaves the gradient alone, and raises the cap by one a second', () => {
    const { g, now } = measured({ ...SMALL, initialLimit: 30 });
    expect(g.limit).to.equal(30);
    const gradient = g.gradient;
    g.onRefused(now, 18);
    expect(g.limit).to.equal(17);
    expect(g.refusalCeiling).to.equal(17);
    g.onRefused(now, 25); // sent under the old limit, refused late: the cap stays
    expect(g.refusalCeiling).to.equal(17);
    expect(g.gradient, 'a refusal is not a latency sample').to.deep.equal(gradient);
    // Windows at minRtt would grow the limit: it waits at the cap instead.
    let t = window(g, now, 10, 17);
    expect(g.limit).to.equal(17);
    t = now + CEILING_RAISE_MS - 1;
    g.advance(t);
    expect(g.limit).to.equal(17);
    g.advance(now + CEILING_RAISE_MS);
    expect(g.refusalCeiling).to.equal(18);
    g.advance(now + 3.5 * CEILING_RAISE_MS);
    expect(g.refusalCeiling).to.equal(20);
    // Refused again: capped again, never below minLimit.
    g.onRefused(now + 4 * CEILING_RAISE_MS, 1);
    expect(g.limit).to.equal(SMALL.minLimit);
  });

  it('the cap goes once it would reach maxLimit; nonsense in-flight counts and times are ignored', () => {
    const settings = { ...SMALL, initialLimit: 10, maxLimit: 12 };
    const { g, now } = measured(settings);
    g.onRefused(now, NaN);
    g.onRefused(NaN, 5);
    g.onRefused(now, 0);
    expect(g.refusalCeiling).to.equal(Infinity);
    g.onRefused(now, 11);
    expect(g.limit).to.equal(10);
    g.advance(now + 2 * CEILING_RAISE_MS);
    expect(g.refusalCeiling).to.equal(Infinity);
  });
});

describe('GradientLimit: properties', () => {
  const latencyArb = fc.oneof(
    fc.double({ min: 0, max: 10_000, noNaN: true }),
    fc.constantFrom(0, -1, NaN, Infinity, -Infinity, Number.MAX_VALUE, 1e-300),
  );
  const sampleArb = fc.record({
    dt: fc.oneof(fc.double({ min: 0, max: 500, noNaN: true }), fc.constantFrom(0, 60_000, -100, NaN)),
    latency: latencyArb,
    inFlight: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constantFrom(NaN, -1, Infinity)),
    dropped: fc.boolean(),
    refused: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  });
  const settingsArb = fc
    .record({
      minLimit: fc.integer({ min: 1, max: 20 }),
      span: fc.integer({ min: 0, max: 500 }),
      initialAt: fc.double({ min: 0, max: 1, noNaN: true }),
      buffer: fc.double({ min: 0, max: 3, noNaN: true }),
      sampleWindowMs: fc.integer({ min: 1, max: 2000 }),
      minWindowSamples: fc.integer({ min: 1, max: 50 }),
      percentile: fc.double({ min: 0.01, max: 1, noNaN: true }),
      minRttIntervalMs: fc.integer({ min: 1, max: 100_000 }),
      minRttJitter: fc.double({ min: 0, max: 0.99, noNaN: true }),
      minRttConcurrency: fc.integer({ min: 1, max: 50 }),
      minRttSamples: fc.integer({ min: 1, max: 60 }),
      smoothing: fc.double({ min: 0.01, max: 1, noNaN: true }),
    })
    .map(({ span, initialAt, ...s }): GradientLimitSettings => ({
      ...s,
      maxLimit: s.minLimit + span,
      initialLimit: s.minLimit + Math.floor(initialAt * span),
    }));

  it('the limit is always a whole number within [minLimit, maxLimit], whatever the samples', function () {
    this.timeout(30_000);
    fc.assert(
      fc.property(settingsArb, fc.array(sampleArb, { maxLength: 400 }), fc.integer(), (settings, samples, seed) => {
        const g = new GradientLimit(settings, 0, seededRandom(seed));
        let now = 0;
        const check = (): void => {
          expect(Number.isInteger(g.limit), `limit ${g.limit}`).to.equal(true);
          expect(g.limit).to.be.at.least(Math.max(1, settings.minLimit)).and.at.most(settings.maxLimit);
          for (const v of [g.minRttMs, g.sampleRttMs]) expect(Number.isNaN(v) || (v > 0 && Number.isFinite(v)), `${v}`).to.equal(true);
          if (!Number.isNaN(g.gradient)) expect(g.gradient).to.be.within(0.5, 2);
          if (g.probing) expect(g.limit).to.be.at.most(Math.max(settings.minLimit, settings.minRttConcurrency, 1));
        };
        check();
        for (const s of samples) {
          // dt may be negative (a stale reading) or NaN (ignored); time goes on from the last finite one.
          const at = now + s.dt;
          if (s.refused) g.onRefused(at, s.inFlight);
          else g.onSample(at, s.latency, s.inFlight, s.dropped);
          if (Number.isFinite(at)) now = at;
          check();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the same inputs and random source give the same limits (no hidden clock)', () => {
    fc.assert(
      fc.property(fc.array(sampleArb, { maxLength: 200 }), fc.integer(), (samples, seed) => {
        const run = (): number[] => {
          const g = new GradientLimit({ ...SMALL, minRttIntervalMs: 500 }, 0, seededRandom(seed));
          let now = 0;
          return samples.map((s) => {
            const at = now + s.dt;
            g.onSample(at, s.latency, s.inFlight, s.dropped);
            if (Number.isFinite(at)) now = at;
            return g.limit;
          });
        };
        expect(run()).to.deep.equal(run());
      }),
      { numRuns: 100 },
    );
  });
});

describe('GradientLimit: a simulated dependency', function () {
  this.timeout(60_000);

  for (const capacity of [20, 50]) {
    for (const initialLimit of [1, 20, 1000]) {
      it(`capacity ${capacity}, initial limit ${initialLimit}: settles within [C, 1.5C + headroom] and stays`, () => {
        const settings = { ...GRADIENT_DEFAULTS, initialLimit };
        const { trace } = simulate({ settings, capacity, baseMs: 10, clients: capacity * 6, durationMs: 30_000 });
        const at = settledAt(trace, capacity, 30_000);
        expect(at, 'settled').to.not.equal(undefined);
        expect(at!, 'within 10 simulated seconds').to.be.below(10_000);
        const [low, high] = band(capacity);
        for (const p of during(trace, 10_000, 30_000)) if (!p.probing) expect(p.limit, `at ${p.t.toFixed(0)} ms`).to.be.within(low, high);
      });
    }
  }

  it('a slow dependency (100 ms) with noisy latency settles too', () => {
    const { trace } = simulate({ settings: GRADIENT_DEFAULTS, capacity: 30, baseMs: 100, noise: 0.5, clients: 200, durationMs: 60_000, seed: 5 });
    const at = settledAt(trace, 30, 60_000);
    expect(at).to.not.equal(undefined);
    expect(at!).to.be.below(20_000);
  });

  it('recovers: a 10x slowdown drops the limit; minRtt is re-measured both ways and the limit returns near C', () => {
    const capacity = 50;
    const { trace } = simulate({
      settings: GRADIENT_DEFAULTS,
      capacity,
      baseMs: 10,
      clients: 300,
      durationMs: 60_000,
      phases: [
        { at: 10_000, baseMs: 100 },
        { at: 30_000, baseMs: 10 },
      ],
    });
    const [low, high] = band(capacity);
    const atStart = during(trace, 9_000, 10_000).filter((p) => !p.probing);
    for (const p of atStart) expect(p.limit).to.be.within(low, high);
    // The slowdown: gradient 0.5 a window until the limit is at the probe's concurrency.
    const slow = during(trace, 10_000, 30_000);
    expect(Math.min(...slow.map((p) => p.limit)), 'dropped').to.be.at.most(3);
    expect(slow.some((p) => p.minRtt > 80), 'the slower baseline re-measured (stuck low)').to.equal(true);
    // Recovered: the stale (slow) baseline is noticed within a window or two and re-measured.
    const after = during(trace, 30_000, 60_000);
    const remeasured = after.find((p) => p.minRtt < 15);
    expect(remeasured, 'minRtt back to ~10 ms').to.not.equal(undefined);
    expect(remeasured!.t - 30_000, 'within a few windows').to.be.below(2_000);
    const at = settledAt(trace, capacity, 60_000);
    expect(at!).to.be.below(35_000);
    for (const p of during(trace, 35_000, 60_000)) if (!p.probing) expect(p.limit).to.be.within(low, high);
  });

  it('a short slowdown: the limit drops, then climbs back to the band within 40 windows (10 s) of the recovery', () => {
    const capacity = 50;
    const { trace } = simulate({
      settings: GRADIENT_DEFAULTS,
      capacity,
      baseMs: 10,
      clients: 300,
      durationMs: 30_000,
      phases: [
        { at: 10_000, baseMs: 100 },
        { at: 12_000, baseMs: 10 },
      ],
    });
    expect(Math.min(...during(trace, 10_000, 12_500).map((p) => p.limit))).to.be.below(capacity / 2);
    const at = settledAt(trace, capacity, 30_000);
    expect(at!).to.be.below(22_000);
  });

  it('a dependency that rejects fast past capacity (dropped) keeps the limit around C', () => {
    const capacity = 50;
    const { trace } = simulate({ settings: GRADIENT_DEFAULTS, capacity, baseMs: 10, clients: 300, durationMs: 30_000, rejectBeyondCapacity: true });
    for (const p of during(trace, 10_000, 30_000)) if (!p.probing) expect(p.limit).to.be.within(0.6 * capacity, band(capacity)[1]);
  });

  it('fewer clients than capacity: app-limited, the limit stays within twice the demand', () => {
    const { trace } = simulate({ settings: GRADIENT_DEFAULTS, capacity: 100, baseMs: 10, clients: 10, durationMs: 30_000 });
    for (const p of during(trace, 5_000, 30_000)) expect(p.limit).to.be.at.most(2 * 10 + Math.ceil(Math.sqrt(40)));
  });
});
