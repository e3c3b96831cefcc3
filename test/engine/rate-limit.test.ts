import { expect } from 'chai';
import fc from 'fast-check';
import { RATE_LIMIT_REASON, RateGate } from '../../src/engine/rate-limit.js';
import type { RateLimitInfo } from '../../src/engine/rate-limit-headers.js';

const MAX_WAIT = 600_000;

function gate(ratePerSecond = 0, burst = 0, maxWaitMs = MAX_WAIT): RateGate {
  return new RateGate({ ratePerSecond, burst, maxWaitMs });
}

/** Times at which `reserve` admitted, for callers arriving at `arrivals` that wait as told and ask again. */
function admitAll(g: RateGate, arrivals: number[], onAdmit?: (now: number) => void): number[] {
  const admitted: number[] = [];
  // Each caller retries at now + wait until admitted: a tiny event loop over fake time.
  const pending = arrivals.map((at) => at).sort((a, b) => a - b);
  while (pending.length > 0) {
    const now = pending.shift()!;
    const wait = g.reserve(now);
    if (wait === 0) {
      admitted.push(now);
      onAdmit?.(now);
    } else {
      const at = now + wait;
      const index = pending.findIndex((t) => t > at);
      pending.splice(index === -1 ? pending.length : index, 0, at);
    }
  }
  return admitted;
}

describe('RateGate', () => {
  it('limits nothing without a rate or anything said by the dependency', () => {
    const g = gate();
    for (let i = 0; i < 1000; i++) expect(g.reserve(0)).to.equal(0);
    expect(g.snapshot(0)).to.deep.equal({ tokens: Number.POSITIVE_INFINITY, source: 'none' });
    expect(g.reason).to.equal(RATE_LIMIT_REASON).and.to.equal('rate');
  });

  describe('the hand-set bucket', () => {
    it('admits a burst, then one per 1/rate', () => {
      const g = gate(10, 3);
      expect([g.reserve(0), g.reserve(0), g.reserve(0)]).to.deep.equal([0, 0, 0]);
      expect(g.reserve(0)).to.equal(100);
      expect(g.waitFor(40)).to.equal(60);
      expect(g.reserve(100)).to.equal(0);
      expect(g.reserve(100)).to.equal(100);
      expect(g.snapshot(100)).to.deep.equal({ tokens: 0, source: 'configured' });
      expect(g.snapshot(10_000)).to.deep.equal({ tokens: 3, source: 'configured' });
    });

    it('waitFor takes nothing, so a caller that gives up leaks no token', () => {
      const g = gate(1, 1);
      expect(g.reserve(0)).to.equal(0);
      for (let i = 0; i < 100; i++) expect(g.waitFor(500)).to.equal(500);
      expect(g.reserve(500)).to.equal(500); // not taken while it says wait
      expect(g.reserve(1000)).to.equal(0);
    });

    it('a burst under 1 counts as 1', () => {
      const g = gate(1, 0);
      expect(g.reserve(0)).to.equal(0);
      expect(g.reserve(0)).to.equal(1000);
    });

    it('caps the wait at maxWaitMs (at least 1 ms)', () => {
      const slow = gate(0.001, 1, 5000);
      slow.reserve(0);
      expect(slow.waitFor(0)).to.equal(5000);
      const zero = gate(1, 1, 0);
      zero.reserve(0);
      expect(zero.reserve(0)).to.equal(1);
    });

    it('property: never admits more than burst + rate * t over any interval t', () => {
      fc.assert(
        fc.property(
          fc.double({ min: 0.1, max: 1000, noNaN: true }),
          fc.integer({ min: 1, max: 20 }),
          fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 200 }),
          (rate, burst, arrivals) => {
            const admitted = admitAll(gate(rate, burst), arrivals);
            expect(admitted.length).to.equal(arrivals.length);
            for (let i = 0; i < admitted.length; i++) {
              for (let j = i; j < admitted.length; j++) {
                const t = admitted[j]! - admitted[i]!;
                expect(j - i + 1).to.be.at.most(burst + (rate * t) / 1000 + 1e-6);
              }
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe('Retry-After', () => {
    it('a 429 or 503 pauses every attempt until its end; then they go one at a time, spaced by the rate learnt from the throttle', () => {
      for (const status of [429, 503]) {
        const g = gate();
        g.feed(1000, { retryAfterMs: 5000 }, status);
        expect(g.snapshot(1000)).to.deep.equal({ pausedUntil: 6000, tokens: 0, source: 'dependency' });
        for (const now of [1000, 2000, 5999]) expect(g.reserve(now), String(now)).to.equal(6000 - now);
        // Nothing was sent before: the learnt rate starts at its floor (10/s) and has grown 20%/s during the pause.
        expect(g.reserve(6000)).to.equal(0);
        expect(g.reserve(6000), 'no burst when the pause ends').to.equal(50);
        expect(g.snapshot(6000)).to.deep.equal({ tokens: 0, source: 'dependency' });
        // Left alone, the learnt rate grows until it lets go (4 times its level: 15 s).
        expect(g.snapshot(16_000).source).to.equal('none');
      }
    });

    it('other statuses, or no response, do not pause the target', () => {
      for (const status of [200, 403, 413, 500, undefined]) {
        const g = gate();
        g.feed(0, { retryAfterMs: 5000 }, status);
        expect(g.reserve(0), String(status)).to.equal(0);
      }
    });

    it('a pause only extends, and is capped at maxWaitMs', () => {
      const g = gate(0, 0, 10_000);
      g.feed(0, { retryAfterMs: 8000 }, 429);
      g.feed(1000, { retryAfterMs: 1000 }, 429);
      expect(g.waitFor(2000)).to.equal(6000);
      g.feed(2000, { retryAfterMs: 1e12 }, 503);
      expect(g.waitFor(2000)).to.equal(10_000);
      expect(g.reserve(12_000)).to.equal(0);
    });

    it('combines with the bucket: the longer wait wins, and the bucket refilled meanwhile', () => {
      const g = gate(1, 2);
      g.reserve(0);
      g.reserve(0);
      g.feed(0, { retryAfterMs: 3000 }, 429);
      expect(g.waitFor(0)).to.equal(3000);
      // The bucket refilled to its burst of 2; the learnt rate (0.7 x the 8/s sent, raised
      // to the 10/s floor, grown 20%/s since: 16/s) spaces the two; the third waits for the bucket.
      expect([g.reserve(3000), g.reserve(3000), g.reserve(3200), g.reserve(3200)]).to.deep.equal([0, 63, 0, 800]);
    });
  });

  describe('remaining / reset', () => {
    it('R = 0 pauses until the reset, whatever the status', () => {
      const g = gate();
      g.feed(0, { remaining: 0, resetMs: 2000 }, 200);
      expect(g.snapshot(0)).to.deep.equal({ pausedUntil: 2000, tokens: 0, source: 'dependency' });
      expect(g.reserve(1500)).to.equal(500);
      expect(g.reserve(2000)).to.equal(0);
    });

    it('spreads R attempts evenly before the reset, then the information expires', () => {
      const g = gate();
      g.reserve(0);
      g.feed(0, { remaining: 3, resetMs: 4000 }, 200); // one every 1000 ms, the third at 3000
      expect(g.snapshot(0)).to.deep.equal({ tokens: 0, source: 'dependency' });
      expect(g.reserve(0)).to.equal(1000);
      expect(admitAll(g, [10, 20, 30, 40, 50])).to.deep.equal([1000, 2000, 3000, 4000, 4000]);
      expect(g.snapshot(4000)).to.deep.equal({ tokens: Number.POSITIVE_INFINITY, source: 'none' });
    });

    it('the newest statement replaces the pacing', () => {
      const g = gate();
      g.reserve(0);
      g.feed(0, { remaining: 1, resetMs: 10_000 }, 200);
      expect(g.waitFor(0)).to.equal(5000);
      g.feed(100, { remaining: 99, resetMs: 10_000 }, 200);
      expect(g.waitFor(100)).to.equal(0);
    });

    it('needs both: remaining without a reset, or a reset without remaining, paces nothing', () => {
      const g = gate();
      g.feed(0, { remaining: 0 }, 429);
      g.feed(0, { resetMs: 5000 }, 429);
      expect(g.reserve(0)).to.equal(0);
    });

    /** A limit R, a window T (ms), and callers arriving over a minute. */
    function statedLimit(run: (r: number, t: number, arrivals: number[]) => void): void {
      const arrivals = fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 150 });
      fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20_000 }), arrivals, run), { numRuns: 200 });
    }

    it('property: a dependency stating R per T is never sent more than R + 1 attempts in any window of T', () => {
      statedLimit((r, t, arrivals) => {
        const g = gate();
        const admitted = admitAll(g, arrivals, (now) => g.feed(now, { remaining: r, resetMs: t }, 200));
        // Windows [a, a + T): the attempt that got the answer, and the R it allows before the reset.
        for (let i = 0, j = 0; j < admitted.length; j++) {
          while (admitted[j]! - admitted[i]! >= t) i++;
          expect(j - i + 1).to.be.at.most(r + 1);
        }
      });
    });

    it('property: a fixed-window server answering with its remaining/reset never sees more than its limit per window', () => {
      statedLimit((limit, windowMs, arrivals) => {
        const g = gate();
        const perWindow = new Map<number, number>();
        admitAll(g, arrivals, (now) => {
          const index = Math.floor(now / windowMs);
          const used = (perWindow.get(index) ?? 0) + 1;
          perWindow.set(index, used);
          const info: RateLimitInfo = { remaining: Math.max(0, limit - used), resetMs: (index + 1) * windowMs - now, limit };
          g.feed(now, info, used > limit ? 429 : 200);
        });
        for (const used of perWindow.values()) expect(used).to.be.at.most(limit);
      });
    });
  });

  it('garbage info changes nothing', () => {
    const garbage: unknown[] = [
      undefined, null, 5, 'x', {}, { retryAfterMs: NaN }, { retryAfterMs: -1 }, { retryAfterMs: Infinity }, { retryAfterMs: '5' },
      { remaining: -1, resetMs: 1000 }, { remaining: 1.5, resetMs: 1000 }, { remaining: NaN, resetMs: 1000 }, { remaining: 1e300, resetMs: 1000 },
      { remaining: 0, resetMs: -5 }, { remaining: 0, resetMs: NaN }, { remaining: 0, resetMs: Infinity }, { remaining: '0', resetMs: '5' },
    ];
    for (const info of garbage) {
      const g = gate(10, 2);
      g.reserve(0);
      const before = { wait: g.waitFor(50), snapshot: g.snapshot(50) };
      // (A 429 is a throttle whatever its headers say: its learning has its own tests.)
      for (const status of [503, 200, undefined]) g.feed(50, info as RateLimitInfo, status);
      g.feed(NaN, { retryAfterMs: 1000, remaining: 0, resetMs: 1000 }, 429);
      expect({ wait: g.waitFor(50), snapshot: g.snapshot(50) }, JSON.stringify(info)).to.deep.equal(before);
    }
  });

  it('a clock that is not a number admits nothing and breaks nothing', () => {
    const g = gate(10, 1, 5000);
    expect(g.reserve(NaN)).to.equal(5000);
    expect(g.reserve(0)).to.equal(0);
  });

  it('property: every wait is within [0, maxWaitMs], whatever is fed', () => {
    const info = fc.record(
      {
        retryAfterMs: fc.oneof(fc.double(), fc.integer({ min: 0, max: 1e9 })),
        remaining: fc.oneof(fc.double(), fc.integer({ min: 0, max: 50 })),
        resetMs: fc.oneof(fc.double(), fc.integer({ min: 0, max: 1e9 })),
      },
      { requiredKeys: [] },
    );
    const op = fc.oneof(
      fc.record({ kind: fc.constant('feed' as const), gap: fc.integer({ min: 0, max: 5000 }), info, status: fc.constantFrom(200, 429, 503, undefined) }),
      fc.record({ kind: fc.constant('reserve' as const), gap: fc.integer({ min: 0, max: 5000 }) }),
    );
    fc.assert(
      fc.property(fc.double({ min: 0, max: 10, noNaN: true }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 100_000 }), fc.array(op, { maxLength: 100 }), (rate, burst, maxWaitMs, ops) => {
        const g = gate(rate, burst, maxWaitMs);
        let now = 0;
        for (const o of ops) {
          now += o.gap;
          if (o.kind === 'feed') g.feed(now, o.info, o.status);
          for (const wait of [g.waitFor(now), o.kind === 'reserve' ? g.reserve(now) : 0]) {
            expect(Number.isInteger(wait) && wait >= 0 && wait <= maxWaitMs, String(wait)).to.equal(true);
          }
          const { tokens } = g.snapshot(now);
          expect(tokens >= 0).to.equal(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * A dependency that states a rate only by answering 429 with Retry-After (a token bucket
 * of `rate`/s and `burst`), offered 3 times that rate for `seconds` by callers that wait
 * as the gate tells them, up to 2 s each, then give up. Fake time: events in order.
 */
function throttledDependency(rate: number, burst: number, retryAfterMs: number, seconds: number): { sentPerSecond: number[]; firstThrottleAt: number; throttles: number } {
  const g = new RateGate({ ratePerSecond: 0, burst: 0, maxWaitMs: MAX_WAIT });
  // Calls by due time: a binary heap, as the retries of waiting calls keep arriving.
  const heap: { at: number; due: number }[] = [];
  const push = (call: { at: number; due: number }): void => {
    let i = heap.push(call) - 1;
    while (i > 0 && heap[(i - 1) >> 1]!.due > call.due) {
      heap[i] = heap[(i - 1) >> 1]!;
      i = (i - 1) >> 1;
    }
    heap[i] = call;
  };
  const pop = (): { at: number; due: number } => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= heap.length) break;
        if (child + 1 < heap.length && heap[child + 1]!.due < heap[child]!.due) child++;
        if (heap[child]!.due >= last.due) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  };
  const spacing = 1000 / (3 * rate);
  for (let at = 0; at < seconds * 1000; at += spacing) push({ at, due: at });
  let tokens = burst;
  let refilledAt = 0;
  let firstThrottleAt = Infinity;
  let throttles = 0;
  const sentPerSecond = new Array<number>(seconds + 3).fill(0);
  while (heap.length > 0) {
    const call = pop();
    const now = call.due;
    const wait = g.reserve(now);
    if (wait > 0) {
      if (now + wait - call.at <= 2000) push({ at: call.at, due: now + wait });
      continue;
    }
    sentPerSecond[Math.floor(now / 1000)]!++;
    tokens = Math.min(burst, tokens + ((now - refilledAt) * rate) / 1000);
    refilledAt = now;
    if (tokens >= 1) {
      tokens--;
      g.feed(now, {}, 200);
    } else {
      throttles++;
      firstThrottleAt = Math.min(firstThrottleAt, now);
      g.feed(now, { retryAfterMs }, 429);
    }
  }
  return { sentPerSecond, firstThrottleAt, throttles };
}

describe('RateGate: the rate learnt from throttling', () => {
  it('a dependency stating 100/s by 429 + Retry-After only, offered 300/s: after the first 429 the attempts stay within its rate, with no burst when a pause ends', () => {
    const { sentPerSecond, firstThrottleAt, throttles } = throttledDependency(100, 10, 1000, 20);
    const after = sentPerSecond.slice(Math.ceil(firstThrottleAt / 1000), 20);
    const mean = after.reduce((a, b) => a + b, 0) / after.length;
    expect(firstThrottleAt).to.be.below(1000);
    expect(mean, `attempts/s after the first 429: ${after.join(' ')}`).to.be.within(50, 110);
    expect(Math.max(...after), `attempts/s after the first 429: ${after.join(' ')}`).to.be.at.most(150);
    expect(throttles, 'the 429s: the gate keeps probing for more').to.be.within(1, 40);
  });

  it('a 503 without Retry-After is no throttle; a 429 without one is', () => {
    const g = new RateGate({ ratePerSecond: 0, burst: 0, maxWaitMs: MAX_WAIT });
    for (let t = 0; t < 100; t += 10) g.reserve(t);
    g.feed(100, {}, 503);
    expect(g.snapshot(100).source).to.equal('none');
    g.feed(100, {}, 429);
    expect(g.snapshot(100).source).to.equal('dependency');
    // 10 sent in 100 ms, read over a 250 ms window: 40/s; learnt 28/s: one every 36 ms after the last (at 90)
    expect([g.reserve(100), g.reserve(100)]).to.deep.equal([26, 26]);
  });

  it('throttles closer together than 250 ms cut the rate once; a later one cuts again; never below 10/s', () => {
    const g = new RateGate({ ratePerSecond: 0, burst: 0, maxWaitMs: 100_000 });
    for (let t = 0; t < 250; t += 5) g.reserve(t);
    for (let t = 250; t < 300; t += 10) g.feed(t, {}, 429);
    const spacingAt = (now: number): number => {
      g.reserve(now);
      return g.waitFor(now);
    };
    const first = spacingAt(300);
    for (let i = 0; i < 60; i++) g.feed(600 + i * 300, {}, 429);
    const floor = spacingAt(18_600 + 1000);
    expect(first).to.be.within(5, 15);
    expect(floor).to.be.within(50, 100);
  });
});
