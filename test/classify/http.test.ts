import { expect } from 'chai';
import { classify, parseRetryAfter } from '../../src/classify/classify.js';
import type { ErrorCategory } from '../../src/classify/types.js';

const NOW = Date.UTC(2024, 0, 1, 12, 0, 0); // 2024-01-01T12:00:00Z

describe('classify: HTTP statuses', () => {
  const table: Array<[number, ErrorCategory, boolean]> = [
    [400, 'validation', false],
    [401, 'authentication', false],
    [403, 'authorization', false],
    [404, 'not_found', false],
    [405, 'validation', false],
    [408, 'timeout', true],
    [409, 'concurrency', false],
    [410, 'not_found', false],
    [412, 'business_logic', false],
    [413, 'validation', false],
    [415, 'validation', false],
    [418, 'business_logic', false],
    [422, 'validation', false],
    [429, 'rate_limit', true],
    [451, 'business_logic', false],
    [500, 'external_service', true],
    [501, 'external_service', false],
    [502, 'external_service', true],
    [503, 'external_service', true],
    [504, 'timeout', true],
    [505, 'external_service', false],
    [507, 'resource', true],
    [511, 'external_service', true],
    [599, 'external_service', true],
  ];
  for (const [status, category, transient] of table) {
    it(`${status} -> ${category}${transient ? ' (transient)' : ''}`, () => {
      for (const failure of [{ status }, { statusCode: status }, { response: { status } }, { response: { statusCode: status } }]) {
        const c = classify(failure);
        expect(c.category, JSON.stringify(failure)).to.equal(category);
        expect(c.transient).to.equal(transient);
        expect(c.code).to.equal(String(status));
        expect(c.rule).to.equal('builtin:http.status');
      }
    });
  }

  it('reads a fetch Response, with Retry-After through headers.get', () => {
    const c = classify(new Response('slow down', { status: 429, headers: { 'Retry-After': '7' } }));
    expect(c).to.include({ category: 'rate_limit', code: '429', retryAfterMs: 7000 });
  });

  it('reads Retry-After from a plain headers object (IncomingMessage, undici) and arrays', () => {
    expect(classify({ statusCode: 503, headers: { 'retry-after': '2' } }).retryAfterMs).to.equal(2000);
    expect(classify({ statusCode: 503, headers: { 'retry-after': ['3', '4'] } }).retryAfterMs).to.equal(3000);
    expect(classify({ response: { status: 503, headers: { 'retry-after': '1' } } }).retryAfterMs).to.equal(1000);
  });

  it('reads Retry-After only where it can matter: 403, 408, 413, 429 and 5xx', () => {
    for (const status of [403, 408, 413, 429, 500, 502, 503, 504]) expect(classify({ status, headers: { 'retry-after': '1' } }).retryAfterMs, String(status)).to.equal(1000);
    for (const status of [400, 401, 404, 409, 422]) expect(classify({ status, headers: { 'retry-after': '1' } }), String(status)).to.not.have.property('retryAfterMs');
  });

  it('omits retryAfterMs when the header is absent or garbage, and shares the frozen result then', () => {
    const a = classify({ status: 503, headers: { 'retry-after': 'soon' } });
    const b = classify(new Response(null, { status: 503 }));
    expect(a).to.not.have.property('retryAfterMs');
    expect(a).to.equal(b);
    expect(Object.isFrozen(a)).to.equal(true);
  });

  it('treats 1xx/2xx/3xx as not a failure', () => {
    for (const status of [100, 200, 204, 301, 304]) {
      const c = classify({ status });
      expect(c).to.include({ category: 'unknown', severity: 'info', transient: false, code: String(status), rule: 'builtin:not_a_failure' });
    }
  });

  it('ignores numbers that are not HTTP statuses (exit codes, 0, fractions, strings)', () => {
    for (const status of [0, 1, 99, 600, 503.5, '503', NaN, -404]) {
      expect(classify({ status }).rule, String(status)).to.equal('builtin:fallback');
    }
  });

  it('survives a headers object whose get throws', () => {
    const headers = { get() { throw new Error('nope'); } };
    expect(classify({ status: 429, headers })).to.include({ category: 'rate_limit' }).and.not.have.property('retryAfterMs');
  });
});

describe('parseRetryAfter', () => {
  it('parses delta seconds', () => {
    expect(parseRetryAfter('0', NOW)).to.equal(0);
    expect(parseRetryAfter('120', NOW)).to.equal(120_000);
    expect(parseRetryAfter(' 5 ', NOW)).to.equal(5000);
    expect(parseRetryAfter('1.5', NOW)).to.equal(1500);
    expect(parseRetryAfter(3, NOW)).to.equal(3000);
  });

  it('parses the three HTTP-date forms relative to now', () => {
    expect(parseRetryAfter('Mon, 01 Jan 2024 12:00:30 GMT', NOW)).to.equal(30_000);
    expect(parseRetryAfter('Monday, 01-Jan-24 12:01:00 GMT', NOW)).to.equal(60_000);
    expect(parseRetryAfter('Mon Jan  1 12:00:10 2024', NOW)).to.equal(10_000);
  });

  it('never returns a negative delay: a date in the past is 0', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).to.equal(0);
  });

  it('defaults now to the current time', () => {
    const inOneMinute = new Date(Date.now() + 60_000).toUTCString();
    const ms = parseRetryAfter(inOneMinute)!;
    expect(ms).to.be.within(55_000, 60_000);
  });

  it('returns undefined for garbage', () => {
    const garbage: unknown[] = [
      undefined, null, '', ' ', 'soon', '-1', '+5', '1e3', '0x10', 'Infinity', 'NaN', -1, NaN, Infinity,
      '9'.repeat(400), 'Mon, 32 Jan 2024 12:00:00 GMT', 'Mon, 31 Feb 2024 12:00:00 GMT', 'Mon, 01 Jan 2024 25:00:00 GMT',
      '2024-01-01T12:00:00Z', 'Mon, 01 Jan 2024 12:00:00 PST', {}, [], ['5'], Symbol('x'), 5n, () => 5,
    ];
    for (const value of garbage) expect(parseRetryAfter(value, NOW), String(typeof value === 'symbol' ? 'symbol' : value)).to.equal(undefined);
  });
});
