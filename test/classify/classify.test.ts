import { expect } from 'chai';
import fc from 'fast-check';
import { classify, createClassifier } from '../../src/classify/classify.js';
import { CATEGORY_DEFAULTS } from '../../src/classify/defaults.js';
import { ERROR_CATEGORIES, SEVERITIES, type Classification } from '../../src/classify/types.js';
import { AttemptTimeoutError, BulkheadRejectedError, CircuitOpenError, DeadlineExceededError } from '../../src/errors.js';

function expectValid(c: Classification): void {
  expect(ERROR_CATEGORIES).to.include(c.category);
  expect(SEVERITIES).to.include(c.severity);
  expect(c.transient).to.be.a('boolean');
  expect(c.code).to.be.a('string').with.length.greaterThan(0);
  expect(c.rule).to.be.a('string');
  expect(c.userMessage).to.be.a('string');
  if (c.retryAfterMs !== undefined) expect(c.retryAfterMs).to.be.a('number').and.at.least(0);
}

function throwingEverywhere(): object {
  const boom = (): never => {
    throw new Error('trap');
  };
  return new Proxy(
    {},
    { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom, apply: boom, construct: boom, defineProperty: boom },
  );
}

function sysError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

describe("classify: breakwater's own errors", () => {
  it('circuit open, bulkhead full, attempt timeout, deadline', () => {
    expect(classify(new CircuitOpenError('https://a:443', 100))).to.include({ category: 'circuit_open', severity: 'high', transient: false, code: 'BREAKWATER_CIRCUIT_OPEN', rule: 'builtin:breakwater' });
    expect(classify(new BulkheadRejectedError('https://a:443', 1, 0))).to.include({ category: 'resource', code: 'BREAKWATER_BULKHEAD_FULL' });
    expect(classify(new AttemptTimeoutError('https://a:443', 50))).to.include({ category: 'timeout', transient: true, code: 'BREAKWATER_TIMEOUT' });
    expect(classify(new DeadlineExceededError('https://a:443', 50))).to.include({ category: 'timeout', transient: false, code: 'BREAKWATER_DEADLINE_EXCEEDED' });
  });

  it('an AbortError caused by an attempt timeout is a timeout', () => {
    const err = Object.assign(new Error('The operation was aborted', { cause: new AttemptTimeoutError('t', 5) }), { name: 'AbortError', code: 'ABORT_ERR' });
    expect(classify(err)).to.include({ category: 'timeout', code: 'BREAKWATER_TIMEOUT' });
  });
});

describe('classify: cause chains and AggregateError', () => {
  it('follows cause through wrappers that say nothing', () => {
    const inner = sysError('ECONNRESET');
    const wrapped = new Error('request failed', { cause: new Error('layer 2', { cause: inner }) });
    expect(classify(wrapped)).to.include({ category: 'network', code: 'ECONNRESET' });
  });

  it("reads Node's AggregateError (code on the aggregate) and one without a code", () => {
    const members = [sysError('ECONNREFUSED'), sysError('ECONNREFUSED')];
    const withCode = Object.assign(new AggregateError(members, ''), { code: 'ECONNREFUSED' });
    expect(classify(withCode)).to.include({ category: 'network', code: 'ECONNREFUSED' });
    expect(classify(new AggregateError([new Error('x'), sysError('ETIMEDOUT')]))).to.include({ category: 'timeout' });
    expect(classify(new TypeError('fetch failed', { cause: new AggregateError(members) }))).to.include({ category: 'network', code: 'ECONNREFUSED' });
  });

  it('prefers the outer structured error to an inner one', () => {
    const err = Object.assign(new Error('HTTP 503', { cause: sysError('ECONNRESET') }), { status: 503 });
    expect(classify(err).code).to.equal('503');
  });

  it('prefers an inner structured error to an outer weak one (AbortError, TypeError)', () => {
    expect(classify(new TypeError('wrapper', { cause: sysError('EPIPE') })).code).to.equal('EPIPE');
  });

  it('survives cycles and very deep chains', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(classify(a)).to.include({ category: 'unknown' });
    const self: Record<string, unknown> = { message: 'self' };
    self.cause = self;
    self.errors = [self, self];
    expectValid(classify(self));

    let deep: Error = sysError('ECONNRESET');
    for (let i = 0; i < 10_000; i++) deep = new Error(`level ${i}`, { cause: deep });
    const started = process.hrtime.bigint();
    expect(classify(deep).category).to.equal('unknown'); // the real error is past the walk's bound
    expect(Number(process.hrtime.bigint() - started)).to.be.below(50e6);
    const shallow = new Error('x', { cause: new Error('y', { cause: sysError('ECONNRESET') }) });
    expect(classify(shallow).category).to.equal('network');
  });
});

describe('classify: fallback and results', () => {
  it("returns unknown with builtin:fallback for what it cannot place; code from the error's code or name", () => {
    expect(classify(new Error('something'))).to.include({ category: 'unknown', code: 'Error', rule: 'builtin:fallback', severity: 'medium', transient: false });
    expect(classify(Object.assign(new Error('x'), { code: 'E_APP_SPECIFIC' })).code).to.equal('E_APP_SPECIFIC');
    expect(classify(Object.assign(new Error('x'), { code: 'has spaces, so not a code' })).code).to.equal('Error');
    expect(classify('a string').code).to.equal('unknown');
  });

  it('hands out shared frozen results when there is no retryAfterMs', () => {
    const a = classify(sysError('ECONNRESET'));
    const b = classify(sysError('ECONNRESET'));
    expect(a).to.equal(b);
    expect(Object.isFrozen(a)).to.equal(true);
  });

  it("uses the category's fixed user message", () => {
    for (const [failure, category] of [[sysError('ECONNREFUSED'), 'network'], [{ status: 503 }, 'external_service'], [new TypeError('x'), 'system']] as const) {
      expect(classify(failure).userMessage).to.equal(CATEGORY_DEFAULTS[category].userMessage);
    }
  });
});

describe('classify: totality (never throws)', () => {
  const hostile: Array<[string, unknown]> = [
    ['null', null],
    ['undefined', undefined],
    ['number', 42],
    ['NaN', NaN],
    ['string', 'ECONNRESET'],
    ['symbol', Symbol('x')],
    ['bigint', 10n],
    ['function', () => 1],
    ['proxy throwing in every trap', throwingEverywhere()],
    ['revoked proxy', (() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; })()],
    ['message getter throws', Object.defineProperty(new Error('x'), 'message', { get() { throw new Error('no'); } })],
    ['name and code getters throw', Object.defineProperties({}, { name: { get() { throw 1; } }, code: { get() { throw 1; } } })],
    ['constructor getter throws', Object.defineProperty(new Error('x'), 'constructor', { get() { throw 1; } })],
    ['null prototype', Object.assign(Object.create(null), { code: 'ECONNRESET' })],
    ['null prototype, empty', Object.create(null)],
    ['cause is a revoked proxy', new Error('x', { cause: (() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; })() })],
    ['errors is a revoked proxy', Object.assign(new Error('x'), { errors: (() => { const r = Proxy.revocable([], {}); r.revoke(); return r.proxy; })() })],
    ['errors is a throwing proxy', Object.assign(new Error('x'), { errors: new Proxy([1, 2], { get() { throw 1; } }) })],
    ['headers get throws', { status: 429, headers: throwingEverywhere() }],
    ['response is a throwing proxy', { response: throwingEverywhere() }],
    ['message is huge', Object.assign(new Error('E'.repeat(1_000_000)), { name: 'ReplyError' })],
    ['message is not a string', { message: { toString() { throw 1; } }, name: 42, code: {} }],
  ];
  for (const [label, failure] of hostile) {
    it(label, () => {
      expectValid(classify(failure));
      expectValid(classify(failure, { client: 'ioredis', callerSignal: AbortSignal.abort() }));
      expectValid(createClassifier([{ id: 'r', when: { message: 'x', status: '5xx', name: 'E', sqlstate: '23', redisPrefix: 'ERR' }, category: 'network' }])(failure, { target: 't' }));
    });
  }

  it('still uses what it can read from a partly hostile error', () => {
    const err = Object.defineProperty(Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'message', { get() { throw new Error('no'); } });
    expect(classify(err).category).to.equal('network');
  });

  it('survives hostile hints', () => {
    expectValid(classify(new Error('x'), throwingEverywhere() as never));
    expectValid(classify(new Error('x'), { callerSignal: throwingEverywhere() as AbortSignal }));
  });

  it('property: anything at all gives a valid classification', () => {
    fc.assert(
      fc.property(fc.anything({ withBoxedValues: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, withBigInt: true, withDate: true }), (value) => {
        expectValid(classify(value));
        expectValid(classify({ cause: value, errors: [value] }));
      }),
      { numRuns: 2000 },
    );
  });

  /** Error-like objects built from the fields the classifier reads, some of them hostile. */
  const field = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.constantFrom('ECONNRESET', 'ETIMEDOUT', 'UND_ERR_ABORTED', 'ABORT_ERR', '40001', '23505', 'P0001', 'EPIPE', 'AbortError', 'TimeoutError', 'TypeError', 'ReplyError', 'fetch failed', 'Connection is closed.', 'WRONGTYPE x', 'ERR syntax error'),
    fc.integer({ min: -1, max: 700 }),
    fc.anything({ maxDepth: 1, maxKeys: 3 }),
  );
  // Depth-bounded by hand: fast-check's own depth bias still builds enormous trees here.
  const errorLike: (depth: number) => fc.Arbitrary<unknown> = fc.memo((depth) =>
    depth <= 1
      ? fc.oneof(fc.record({ name: field, message: field, code: field, status: field }, { requiredKeys: [] }), field)
      : fc.oneof(
          fc.record(
            {
              name: field, message: field, code: field, status: field, statusCode: field, severity: field, routine: field,
              headers: fc.oneof(fc.dictionary(fc.constantFrom('retry-after', 'Retry-After'), field), field),
              response: errorLike(depth - 1),
              cause: errorLike(depth - 1),
              errors: fc.array(errorLike(depth - 1), { maxLength: 2 }),
            },
            { requiredKeys: [] },
          ),
          field,
        ),
  );
  const trapKinds = fc.subarray(['get', 'has', 'ownKeys', 'getPrototypeOf', 'getOwnPropertyDescriptor'] as const);

  it('property: generated error-likes, behind throwing proxies and in cycles, give a valid classification', () => {
    fc.assert(
      fc.property(errorLike(3), trapKinds, fc.boolean(), fc.boolean(), (node, traps, makeCycle, revoke) => {
        let value: unknown = node;
        if (makeCycle && typeof node === 'object' && node !== null) {
          try {
            (node as Record<string, unknown>).cause = node;
          } catch {
            /* frozen */
          }
        }
        if (typeof node === 'object' && node !== null) {
          const handler: ProxyHandler<object> = {};
          for (const trap of traps) {
            (handler as Record<string, unknown>)[trap] = () => {
              throw new Error(`trap ${trap}`);
            };
          }
          const r = Proxy.revocable(node, handler);
          if (revoke) r.revoke();
          value = r.proxy;
        }
        expectValid(classify(value));
        expectValid(classify({ cause: value }, { client: 'redis' }));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: the user message never contains anything from the error', () => {
    const secret = fc.string({ minLength: 8, maxLength: 40 }).map((s) => `S3CR3T-${s}`);
    fc.assert(
      fc.property(secret, fc.constantFrom('', 'ERR ', 'WRONGTYPE ', 'NOAUTH ', 'Connection terminated unexpectedly '), fc.constantFrom(undefined, 'ECONNRESET', '23505', 'UND_ERR_SOCKET'), fc.constantFrom(undefined, 400, 429, 503), (s, prefix, code, status) => {
        const err = Object.assign(new Error(`${prefix}${s} password=${s} host=db.${s}.internal`), { code, status, name: 'ReplyError', detail: s, hint: s, headers: { 'retry-after': s } });
        for (const c of [classify(err), classify(new TypeError('fetch failed', { cause: err })), createClassifier([{ id: 'any', when: { message: 'S3CR3T' }, category: 'validation' }])(err)]) {
          expect(c.userMessage).to.not.include(s);
          expect(c.userMessage).to.not.include('S3CR3T');
          expect(c.code).to.not.include('S3CR3T');
        }
      }),
      { numRuns: 500 },
    );
  });
});
