import { expect } from 'chai';
import fc from 'fast-check';
import {
  MAX_HEADER_LENGTH,
  parseRateLimitHeaders,
  parseReset,
  RATE_LIMIT_MAX_WAIT_MS,
  type HeaderGetter,
  type RateLimitInfo,
} from '../../src/engine/rate-limit-headers.js';

const WALL = Date.UTC(2024, 0, 1, 12, 0, 0); // 2024-01-01T12:00:00Z
const CAP = 600_000;

/** A getter over a plain object, names lower-cased as node:http delivers them. */
function headers(values: Record<string, string | string[]>): HeaderGetter {
  const lower = new Map(Object.entries(values).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => lower.get(name);
}

function parse(values: Record<string, string | string[]>, maxWaitMs = CAP): RateLimitInfo {
  return parseRateLimitHeaders(headers(values), WALL, maxWaitMs);
}

describe('parseRateLimitHeaders', () => {
  it('reads nothing from a response without rate-limit headers', () => {
    expect(parse({})).to.deep.equal({});
    expect(parse({ 'content-type': 'text/plain' })).to.deep.equal({});
  });

  describe('Retry-After', () => {
    it('reads delta seconds and the HTTP-date forms, measured from wallNow', () => {
      expect(parse({ 'Retry-After': '7' })).to.deep.equal({ retryAfterMs: 7000 });
      expect(parse({ 'Retry-After': '1.5' })).to.deep.equal({ retryAfterMs: 1500 });
      expect(parse({ 'Retry-After': 'Mon, 01 Jan 2024 12:00:30 GMT' })).to.deep.equal({ retryAfterMs: 30_000 });
      expect(parse({ 'Retry-After': 'Monday, 01-Jan-24 12:01:00 GMT' })).to.deep.equal({ retryAfterMs: 60_000 });
      expect(parse({ 'Retry-After': 'Mon Jan  1 12:00:10 2024' })).to.deep.equal({ retryAfterMs: 10_000 });
      expect(parse({ 'Retry-After': 'Sun, 06 Nov 1994 08:49:37 GMT' })).to.deep.equal({ retryAfterMs: 0 });
    });

    it('caps the wait at maxWaitMs', () => {
      expect(parse({ 'Retry-After': '86400' })).to.deep.equal({ retryAfterMs: CAP });
      expect(parse({ 'Retry-After': 'Tue, 01 Jan 2030 00:00:00 GMT' }, 5000)).to.deep.equal({ retryAfterMs: 5000 });
    });

    it('takes the first of repeated headers', () => {
      expect(parse({ 'Retry-After': ['3', '4'] })).to.deep.equal({ retryAfterMs: 3000 });
    });

    it('a date needs a wall clock; delta seconds do not', () => {
      const get = headers({ 'retry-after': 'Mon, 01 Jan 2024 12:00:30 GMT' });
      expect(parseRateLimitHeaders(get, NaN, CAP)).to.deep.equal({});
      expect(parseRateLimitHeaders(headers({ 'retry-after': '2' }), NaN, CAP)).to.deep.equal({ retryAfterMs: 2000 });
    });
  });

  describe('RateLimit (drafts 08+: structured list)', () => {
    it('reads r and t of a policy, and its quota from RateLimit-Policy', () => {
      expect(parse({ RateLimit: '"default";r=50;t=30', 'RateLimit-Policy': '"default";q=100;w=60' })).to.deep.equal({
        remaining: 50,
        resetMs: 30_000,
        limit: 100,
      });
    });

    it('takes the most restrictive of several policies, an exhausted one first', () => {
      const both = '"burst";r=5;t=1, "daily";r=100;t=3600';
      expect(parse({ RateLimit: both })).to.deep.equal({ remaining: 100, resetMs: CAP });
      expect(parse({ RateLimit: both }, 10 * 3_600_000)).to.deep.equal({ remaining: 100, resetMs: 3_600_000 });
      expect(parse({ RateLimit: '"a";r=5;t=10, "b";r=0;t=2, "c";r=0;t=1' })).to.deep.equal({ remaining: 0, resetMs: 2000 });
      expect(parse({ RateLimit: '"a";r=10;t=10, "b";r=2;t=10', 'RateLimit-Policy': '"a";q=100, "b";q=20' })).to.deep.equal({
        remaining: 2,
        resetMs: 10_000,
        limit: 20,
      });
    });

    it('joins repeated field lines into one list and respects quoted names', () => {
      expect(parse({ RateLimit: ['"a,b;c";r=9;t=9', '"x";r=1;t=10'] })).to.deep.equal({ remaining: 1, resetMs: 10_000 });
    });

    it('reads a token name, spaces, upper-case keys and ignores unknown parameters', () => {
      expect(parse({ RateLimit: 'default; r=3; t=4; pk=:abc=:' })).to.deep.equal({ remaining: 3, resetMs: 4000 });
      expect(parse({ RateLimit: '"p";R=3;T=4' })).to.deep.equal({ remaining: 3, resetMs: 4000 });
    });

    it('a policy without r is no statement; one without t states no reset', () => {
      expect(parse({ RateLimit: '"p";t=4' })).to.deep.equal({});
      expect(parse({ RateLimit: '"p";r=4' })).to.deep.equal({ remaining: 4 });
    });

    it('draft 07 policies: a bare quota', () => {
      expect(parse({ RateLimit: '"p";r=3;t=4', 'RateLimit-Policy': '10;w=1, 50;w=60' })).to.deep.equal({ remaining: 3, resetMs: 4000, limit: 10 });
    });
  });

  describe('RateLimit (draft 07: limit=, remaining=, reset=)', () => {
    it('reads the dictionary', () => {
      expect(parse({ RateLimit: 'limit=100, remaining=50, reset=30' })).to.deep.equal({ remaining: 50, resetMs: 30_000, limit: 100 });
      expect(parse({ RateLimit: 'remaining=0, reset=5', 'RateLimit-Policy': '100;w=60' })).to.deep.equal({ remaining: 0, resetMs: 5000, limit: 100 });
    });
  });

  describe('RateLimit-Limit / -Remaining / -Reset (drafts up to 06)', () => {
    it('reads delta seconds', () => {
      expect(parse({ 'RateLimit-Limit': '100', 'RateLimit-Remaining': '42', 'RateLimit-Reset': '17' })).to.deep.equal({
        remaining: 42,
        resetMs: 17_000,
        limit: 100,
      });
    });

    it('reads a limit that lists policies (`10, 10;w=1`) by its first member', () => {
      expect(parse({ 'RateLimit-Limit': '10, 10;w=1, 50;w=60', 'RateLimit-Remaining': '9' })).to.deep.equal({ remaining: 9, limit: 10 });
    });

    it('yields to the structured RateLimit field when both are sent', () => {
      expect(parse({ RateLimit: '"p";r=1;t=2', 'RateLimit-Remaining': '42', 'RateLimit-Reset': '17' })).to.deep.equal({ remaining: 1, resetMs: 2000 });
    });
  });

  describe('X-RateLimit-*', () => {
    it('reads the reset as delta seconds when small', () => {
      expect(parse({ 'X-RateLimit-Limit': '60', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '20' })).to.deep.equal({
        remaining: 0,
        resetMs: 20_000,
        limit: 60,
      });
    });

    it("reads GitHub's epoch seconds and epoch ms (above 1e9 and 1e12)", () => {
      const inAMinute = (WALL + 60_000) / 1000;
      expect(parse({ 'X-RateLimit-Remaining': '4999', 'X-RateLimit-Reset': String(inAMinute) })).to.deep.equal({ remaining: 4999, resetMs: 60_000 });
      expect(parse({ 'X-RateLimit-Remaining': '1', 'X-RateLimit-Reset': String(WALL + 2500) })).to.deep.equal({ remaining: 1, resetMs: 2500 });
      // An epoch in the past: the window has reset already.
      expect(parse({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(WALL / 1000 - 10) })).to.deep.equal({ remaining: 0, resetMs: 0 });
    });

    it("prefers Discord's Reset-After (fractional seconds) to its epoch Reset", () => {
      const values = { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String((WALL + 9000) / 1000 + 0.123), 'X-RateLimit-Reset-After': '1.234' };
      expect(parse(values)).to.deep.equal({ remaining: 0, resetMs: 1234 });
    });

    it('yields to the RateLimit-* family when both are sent', () => {
      expect(parse({ 'RateLimit-Remaining': '1', 'X-RateLimit-Remaining': '7' })).to.deep.equal({ remaining: 1 });
    });
  });

  it('parseReset: the heuristic in one place', () => {
    expect(parseReset('1000000000', WALL)).to.equal(1e12); // 1e9 itself is still a delta (capped later)
    expect(parseReset('1000000001', WALL)).to.equal(0); // an epoch in 2001
    expect(parseReset(String(WALL / 1000 + 5), WALL)).to.equal(5000);
    expect(parseReset(String(WALL + 5), WALL)).to.equal(5);
    expect(parseReset(String(WALL + 5), NaN)).to.equal(undefined);
  });

  it('combines Retry-After with a window', () => {
    expect(parse({ 'Retry-After': '3', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '3' })).to.deep.equal({ retryAfterMs: 3000, remaining: 0, resetMs: 3000 });
  });

  it('ignores garbage field by field', () => {
    const garbage = ['', ' ', '-1', '+5', '1e3', '0x10', 'NaN', 'Infinity', '1.5.5', '5, 5', '９', '1'.repeat(16), 'soon'];
    for (const value of garbage) {
      const info = parse({ 'Retry-After': value, 'X-RateLimit-Remaining': value, 'X-RateLimit-Reset': value, 'X-RateLimit-Limit': value });
      expect(info, JSON.stringify(value)).to.deep.equal({});
    }
    expect(parse({ 'RateLimit-Remaining': '1.5', 'RateLimit-Reset': '2' })).to.deep.equal({ resetMs: 2000 });
    expect(parse({ RateLimit: '"p";r=-1;t=5, "q";r=x, garbage;;;, =, "unterminated' })).to.deep.equal({});
    expect(parse({ RateLimit: 'remaining=NaN, reset=-3, limit=1e9' })).to.deep.equal({});
  });

  it('ignores a header longer than MAX_HEADER_LENGTH, and looks at a bounded number of members', () => {
    const long = `"p";r=1;t=1, ${' '.repeat(MAX_HEADER_LENGTH)}`;
    expect(parse({ RateLimit: long })).to.deep.equal({});
    expect(parse({ 'Retry-After': `5${' '.repeat(MAX_HEADER_LENGTH)}` })).to.deep.equal({});
    const many = Array.from({ length: 40 }, (_, i) => `"p${i}";r=${100 - i};t=1`).join(', ');
    expect(parse({ RateLimit: many.slice(0, MAX_HEADER_LENGTH) })).to.deep.equal({ remaining: 85, resetMs: 1000 });
  });

  it('survives a getter that throws, returns non-strings or hostile arrays', () => {
    expect(parseRateLimitHeaders(() => { throw new Error('nope'); }, WALL, CAP)).to.deep.equal({});
    const odd = [5, null, {}, Symbol('x'), [['1']]] as unknown[];
    for (const value of odd) expect(parseRateLimitHeaders(() => value as string, WALL, CAP)).to.deep.equal({});
    const hostile = new Proxy(['1'], { get() { throw new Error('trap'); } });
    expect(parseRateLimitHeaders(() => hostile, WALL, CAP)).to.deep.equal({});
  });

  it('a maxWaitMs that is not a number means the default cap', () => {
    expect(parse({ 'Retry-After': '999999' }, NaN)).to.deep.equal({ retryAfterMs: RATE_LIMIT_MAX_WAIT_MS });
    expect(parse({ 'Retry-After': '999999' }, -1)).to.deep.equal({ retryAfterMs: RATE_LIMIT_MAX_WAIT_MS });
  });

  it('property: for every header value, waits are finite in [0, maxWaitMs] and counts finite non-negative integers', function () {
    // Generating the values is most of the time (parsing is a few µs); mocha's 2 s default is too tight on a busy machine.
    this.timeout(30_000);
    const numeric = fc.oneof(
      fc.double().map(String),
      fc.bigInt().map(String),
      fc.integer().map(String),
      fc.double({ min: 0, max: 2e12, noNaN: true }).map(String),
      fc.constantFrom('NaN', '-0', 'Infinity', '1e400', '9'.repeat(400), '0.0000001', '1.'),
    );
    const structured = fc
      .array(
        fc.tuple(fc.oneof(fc.string(), fc.constant('"p"')), fc.array(fc.tuple(fc.constantFrom('r', 't', 'q', 'w', 'limit', 'remaining', 'reset'), numeric), { maxLength: 4 })),
        { maxLength: 5 },
      )
      .map((items) => items.map(([head, params]) => [head, ...params.map(([k, v]) => `${k}=${v}`)].join(';')).join(', '));
    // Long values and long lists are built by padding: generating 1 KiB of random text per run is slow.
    const long = fc.tuple(numeric, fc.integer({ min: MAX_HEADER_LENGTH - 20, max: MAX_HEADER_LENGTH + 20 })).map(([n, length]) => n.padEnd(length, ' '));
    const value = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), numeric, structured, long);
    const field = fc.oneof(
      { arbitrary: value, weight: 6 },
      { arbitrary: fc.array(value, { maxLength: 3 }), weight: 2 },
      { arbitrary: fc.tuple(value, fc.integer({ min: 15, max: 40 })).map(([v, n]) => new Array<string>(n).fill(v)), weight: 1 },
      { arbitrary: fc.constant(undefined), weight: 1 },
    );
    const names = ['retry-after', 'ratelimit', 'ratelimit-policy', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-limit', 'x-ratelimit-reset-after'];
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...names), field),
        fc.oneof(fc.constant(WALL), fc.double(), fc.integer({ min: 0, max: 4e12 })),
        fc.oneof(fc.constant(CAP), fc.double(), fc.integer({ min: 0, max: 1e9 })),
        (values, wallNow, maxWaitMs) => {
          const info = parseRateLimitHeaders((name) => values[name], wallNow, maxWaitMs);
          const cap = Number.isFinite(maxWaitMs) && maxWaitMs >= 0 ? maxWaitMs : RATE_LIMIT_MAX_WAIT_MS;
          for (const wait of [info.retryAfterMs, info.resetMs]) {
            if (wait !== undefined) expect(Number.isFinite(wait) && wait >= 0 && wait <= cap, String(wait)).to.equal(true);
          }
          for (const count of [info.remaining, info.limit]) {
            if (count !== undefined) expect(Number.isSafeInteger(count) && count >= 0, String(count)).to.equal(true);
          }
          expect(Object.keys(info).every((k) => ['retryAfterMs', 'remaining', 'resetMs', 'limit'].includes(k))).to.equal(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
