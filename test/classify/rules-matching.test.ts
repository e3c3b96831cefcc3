import { expect } from 'chai';
import fc from 'fast-check';
import { classify, createClassifier } from '../../src/classify/classify.js';
import { collectChain } from '../../src/classify/chain.js';
import { FailureFacts } from '../../src/classify/facts.js';
import { httpStatusOf } from '../../src/classify/http.js';
import { sqlstateOf } from '../../src/classify/pg.js';
import { redisPrefixOf } from '../../src/classify/redis.js';
import { compileRules, firstMatchingRule } from '../../src/classify/rules.js';
import type { ClassificationRule, RuleCondition } from '../../src/classify/rule-types.js';
import { constructorName, effectiveName } from '../../src/classify/safe.js';
import type { ClassifyHints } from '../../src/classify/types.js';
import { globMatches } from '../../src/util/glob.js';

// The matcher runs hint checks first, the cheapest error test first, reads each fact
// once, remembers target verdicts and prefilters Redis prefixes. None of that may change
// which rule matches: these tests hold it to a plain reading of the documented semantics
// (src/classify/rules.ts), and check that it reads no more than it needs.

class ReplyError extends Error {
  override get name(): string {
    return 'ReplyError';
  }
}
class SimpleError extends Error {}
class PaymentDeclinedError extends Error {}

// ---------------------------------------------------------------------------
// The reference: every fact read up front, every key tested in the order written.

interface RefFacts {
  message?: string | undefined;
  name?: string | undefined;
  ctor?: string | undefined;
  code?: string | undefined;
  status?: number | undefined;
  sqlstate?: string | undefined;
  redisPrefix?: string | undefined;
}

function refFacts(error: unknown, client: string | undefined): RefFacts {
  if (typeof error === 'string') return { message: error };
  if (typeof error !== 'object' || error === null) return {};
  const e = error as Record<string, unknown>;
  const message = typeof e.message === 'string' ? e.message : undefined;
  const name = typeof e.name === 'string' ? e.name : undefined;
  const rawCode = e.code;
  const code = typeof rawCode === 'string' ? rawCode : typeof rawCode === 'number' && Number.isFinite(rawCode) ? String(rawCode) : undefined;
  return {
    message,
    name,
    ctor: constructorName(error),
    code,
    status: httpStatusOf(error),
    sqlstate: sqlstateOf(error, code),
    redisPrefix: message === undefined ? undefined : redisPrefixOf(message, effectiveName(error, name), client),
  };
}

const list = (value: unknown): string[] => (Array.isArray(value) ? value : [value]).map(String);

function refErrorHolds(c: RuleCondition, e: RefFacts): boolean {
  if (c.message !== undefined && !(e.message !== undefined && e.message.includes(c.message))) return false;
  if (c.messageRegex !== undefined && !(e.message !== undefined && new RegExp(c.messageRegex, c.messageRegexFlags).test(e.message))) return false;
  if (c.name !== undefined && !list(c.name).some((n) => n === e.name || n === e.ctor)) return false;
  if (c.code !== undefined && !list(c.code).some((code) => code === e.code)) return false;
  if (c.status !== undefined) {
    const status = e.status;
    const ok =
      status !== undefined &&
      list(c.status).some((s) => (/^[1-5]xx$/i.test(s.trim()) ? Math.floor(status / 100) === Number(s.trim()[0]) : Number(s) === status));
    if (!ok) return false;
  }
  if (c.sqlstate !== undefined) {
    const sqlstate = e.sqlstate;
    if (!(sqlstate !== undefined && list(c.sqlstate).some((s) => s.toUpperCase() === sqlstate || s.toUpperCase() === sqlstate.slice(0, 2)))) return false;
  }
  if (c.redisPrefix !== undefined && !list(c.redisPrefix).some((p) => p.toUpperCase() === e.redisPrefix)) return false;
  return true;
}

const ERROR_KEYS = ['message', 'messageRegex', 'name', 'code', 'status', 'sqlstate', 'redisPrefix'] as const;

function refHolds(c: RuleCondition, chain: readonly RefFacts[], hints: ClassifyHints): boolean {
  if (c.target !== undefined) {
    const target = hints.target;
    if (target === undefined || !list(c.target).some((pattern) => globMatches(pattern, target))) return false;
  }
  if (c.client !== undefined && !(hints.client !== undefined && list(c.client).includes(hints.client))) return false;
  if (ERROR_KEYS.some((key) => c[key] !== undefined) && !chain.some((e) => refErrorHolds(c, e))) return false;
  if (c.all !== undefined && !c.all.every((sub) => refHolds(sub, chain, hints))) return false;
  if (c.any !== undefined && !c.any.some((sub) => refHolds(sub, chain, hints))) return false;
  if (c.not !== undefined && refHolds(c.not, chain, hints)) return false;
  return true;
}

function refRule(rules: readonly ClassificationRule[], failure: unknown, hints: ClassifyHints): string {
  const chain = collectChain(failure).map((error) => refFacts(error, hints.client));
  return rules.find((rule) => refHolds(rule.when, chain, hints))?.id ?? classify(failure, hints).rule;
}

// ---------------------------------------------------------------------------
// Generators: small pools, so that rules match often and in every combination.

const MESSAGES = ['quota exceeded for tenant 7', 'LOADING Redis is loading', 'WRONGTYPE Operation', 'fetch failed', 'Quota', 'x'];
const NAMES = ['TypeError', 'ReplyError', 'PaymentDeclinedError', 'SimpleError', 'Error', 'error'];
const CODES = ['E_RETRY', 'ECONNREFUSED', '1205', '23505', 'LK001', '40001'];
const CLIENTS = ['pg', 'ioredis', 'redis', 'http'];
const TARGETS = ['https://payments.example.com:443', 'https://api.example.com:443', 'postgres://db:5432'];

/** A condition object of one to three keys: with more, a rule hardly ever matches. */
const leafCondition: fc.Arbitrary<RuleCondition> = fc
  .record({
    keys: fc.subarray(['message', 'messageRegex', 'name', 'code', 'status', 'sqlstate', 'redisPrefix', 'target', 'client'] as const, { minLength: 1, maxLength: 3 }),
    values: fc.record({
      message: fc.constantFrom('quota', 'Quota', 'LOADING', 'Redis', 'tenant', 'fetch'),
      messageRegex: fc.constantFrom('^quota exceeded for tenant \\d+$', 'loading', '^x$'),
      name: fc.oneof(fc.constantFrom(...NAMES), fc.subarray(NAMES, { minLength: 1 })),
      code: fc.oneof(fc.constantFrom(...CODES), fc.subarray(CODES, { minLength: 1 })),
      status: fc.oneof(fc.constantFrom<number | string>(503, 418, '5xx', '4XX', ' 502 '), fc.constant<Array<number | string>>([500, '4xx'])),
      sqlstate: fc.oneof(fc.constantFrom('23505', '23', '40', 'lk001'), fc.constant<string[]>(['40001', '23'])),
      redisPrefix: fc.oneof(fc.constantFrom('LOADING', 'wrongtype', 'BREAKWATERMISS'), fc.constant<string[]>(['ERR', 'LOADING'])),
      target: fc.oneof(fc.constantFrom('https://payments.example.com:*', '*:5432'), fc.constant<string[]>(['https://api.*', 'nothing'])),
      client: fc.oneof(fc.constantFrom(...CLIENTS), fc.subarray(CLIENTS, { minLength: 1 })),
    }),
    flags: fc.option(fc.constantFrom('i', ''), { nil: undefined }),
  })
  .map(({ keys, values, flags }) => {
    const c: Record<string, unknown> = {};
    for (const key of keys) c[key] = values[key];
    if (c.messageRegex !== undefined && flags !== undefined) c.messageRegexFlags = flags;
    return c as RuleCondition;
  });

const conditionOf = (depth: number): fc.Arbitrary<RuleCondition> =>
  depth <= 0
    ? leafCondition
    : fc.oneof(
        { weight: 2, arbitrary: leafCondition },
        {
          weight: 3,
          arbitrary: fc
            .record(
              {
                own: leafCondition,
                all: fc.array(conditionOf(depth - 1), { minLength: 1, maxLength: 3 }),
                any: fc.array(conditionOf(depth - 1), { minLength: 1, maxLength: 3 }),
                not: conditionOf(depth - 1),
              },
              { requiredKeys: [] },
            )
            .filter((c) => Object.keys(c).length > 0)
            .map(({ own, ...nested }) => ({ ...own, ...nested })),
        },
      );

const rulesArb: fc.Arbitrary<ClassificationRule[]> = fc
  .array(conditionOf(2), { minLength: 1, maxLength: 4 })
  .map((whens) => whens.map((when, i) => ({ id: `r${i}`, when, category: 'network' as const })));

const CLASSES = [Error, TypeError, ReplyError, SimpleError, PaymentDeclinedError] as const;

const errorOf = (depth: number): fc.Arbitrary<unknown> =>
  fc
    .record(
      {
        cls: fc.nat(CLASSES.length - 1),
        message: fc.constantFrom(...MESSAGES),
        fields: fc.record(
          {
            name: fc.constantFrom(...NAMES),
            code: fc.oneof(fc.constantFrom(...CODES), fc.constant(1205)),
            status: fc.constantFrom(503, 418, 200, 451),
            severity: fc.constant('ERROR'),
            response: fc.constantFrom({ status: 502 }, { statusCode: 404 }),
          },
          { requiredKeys: [] },
        ),
        cause: depth > 0 ? fc.option(errorOf(depth - 1), { nil: undefined }) : fc.constant(undefined),
        errors: depth > 0 ? fc.option(fc.array(errorOf(depth - 1), { maxLength: 2 }), { nil: undefined }) : fc.constant(undefined),
      },
      { requiredKeys: ['cls', 'message', 'fields'] },
    )
    .map(({ cls, message, fields, cause, errors }) => {
      const error = new CLASSES[cls]!(message, cause === undefined ? undefined : { cause });
      if (fields.name !== undefined) Object.defineProperty(error, 'name', { value: fields.name });
      const { name: _name, ...rest } = fields;
      return Object.assign(error, rest, errors === undefined ? {} : { errors });
    });

const failureArb = fc.oneof({ weight: 9, arbitrary: errorOf(2) }, { weight: 1, arbitrary: fc.constantFrom(...MESSAGES) });

const hintsArb: fc.Arbitrary<ClassifyHints> = fc.record({ client: fc.constantFrom(...CLIENTS), target: fc.constantFrom(...TARGETS) }, { requiredKeys: [] });

describe('createClassifier: the matcher against the documented semantics', () => {
  it('property: the same rule matches as in a plain reading of the rules, for any rules, failure and hints', () => {
    fc.assert(
      fc.property(rulesArb, fc.array(fc.tuple(failureArb, hintsArb), { minLength: 1, maxLength: 5 }), (rules, cases) => {
        const classifier = createClassifier(rules);
        for (const [failure, hints] of cases) {
          const result = classifier(failure, hints);
          expect(result.rule).to.equal(refRule(rules, failure, hints));
          expect(result.code).to.equal(classify(failure, hints).code);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('a hint check inside all/any/not counts the same wherever it is written', () => {
    const c = createClassifier([
      { id: 'pg-last', when: { all: [{ sqlstate: '23505' }, { client: 'pg' }] }, category: 'concurrency' },
      { id: 'not-redis', when: { code: 'ECONNRESET', not: { any: [{ client: 'ioredis' }, { client: 'redis' }] } }, category: 'external_service' },
    ]);
    const unique = Object.assign(new Error('dup'), { code: '23505', severity: 'ERROR' });
    expect(c(unique, { client: 'pg' }).rule).to.equal('pg-last');
    expect(c(unique, { client: 'http' }).rule).to.equal('builtin:pg.sqlstate');
    const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    expect(c(reset, { client: 'http' }).rule).to.equal('not-redis');
    expect(c(reset, { client: 'redis' }).rule).to.equal('builtin:node.code');
  });

  it('a rule of hints alone matches whatever failed, even what cannot be read', () => {
    const c = createClassifier([
      { id: 'legacy', when: { client: 'pg', target: 'postgres://legacy-*' }, category: 'external_service' },
      { id: 'any-pg', when: { all: [{ client: ['pg', 'custom'] }] }, category: 'network' },
    ]);
    const unreadable = new Proxy({}, { get: () => { throw new Error('trap'); }, getPrototypeOf: () => { throw new Error('trap'); } });
    expect(c(unreadable, { client: 'pg', target: 'postgres://legacy-1:5432' }).rule).to.equal('legacy');
    expect(c(unreadable, { client: 'pg', target: 'postgres://main:5432' }).rule).to.equal('any-pg');
    expect(c('a string', { client: 'custom' }).rule).to.equal('any-pg');
    expect(c(new Error('x'), { client: 'http', target: 'postgres://legacy-1:5432' }).rule).to.equal('builtin:fallback');
  });

  it('matches long lists of values as well as short ones', () => {
    const many = Array.from({ length: 40 }, (_, i) => `E_APP_${i}`);
    const c = createClassifier([
      { id: 'long', when: { code: many }, category: 'business_logic' },
      { id: 'long-names', when: { name: [...many, 'PaymentDeclinedError'] }, category: 'validation' },
    ]);
    expect(c(Object.assign(new Error('x'), { code: 'E_APP_39' })).rule).to.equal('long');
    expect(c(Object.assign(new Error('x'), { code: 'E_APP_40' })).rule).to.equal('builtin:fallback');
    expect(c(new PaymentDeclinedError('no')).rule).to.equal('long-names');
  });

  it('matches status classes at their edges only', () => {
    const c = createClassifier([{ id: 'server', when: { status: '5xx' }, category: 'external_service' }, { id: 'teapot', when: { status: 418 }, category: 'validation' }]);
    expect(c({ status: 500 }).rule).to.equal('server');
    expect(c({ status: 599 }).rule).to.equal('server');
    expect(c({ status: 499 }).rule).to.equal('builtin:http.status');
    expect(c({ status: 418 }).rule).to.equal('teapot');
    expect(c({ status: 417 }).rule).to.equal('builtin:http.status');
  });

  it('a Redis prefix needs a reply error or a Redis client, whatever the message starts with', () => {
    const c = createClassifier([{ id: 'moved', when: { redisPrefix: 'MOVED' }, category: 'network' }]);
    expect(c(new ReplyError('MOVED 3999 127.0.0.1:6381')).rule).to.equal('moved');
    expect(c(new Error('MOVED 3999 127.0.0.1:6381')).rule).to.equal('builtin:fallback');
    expect(c(new Error('MOVED 3999 127.0.0.1:6381'), { client: 'ioredis' }).rule).to.equal('moved');
    expect(c('MOVED 3999 127.0.0.1:6381', { client: 'ioredis' }).rule).to.not.equal('moved'); // a thrown string has no prefix
    expect(c(new ReplyError('MOVEDX 1')).rule).to.not.equal('moved');
  });

  it('matches targets the same on every call, also past the number of targets it remembers', () => {
    const c = createClassifier([{ id: 'payments', when: { target: 'https://*.payments.example:*' }, category: 'external_service' }]);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 600; i++) {
        const matching = i % 3 === 0;
        const target = matching ? `https://api${i}.payments.example:443` : `https://api${i}.other.example:443`;
        expect(c(new Error('x'), { target }).rule, target).to.equal(matching ? 'payments' : 'builtin:fallback');
      }
    }
    expect(c(new Error('x'), { target: 'HTTPS://API.PAYMENTS.EXAMPLE:443' }).rule).to.equal('payments'); // globs ignore case
  });
});

/** An error that counts the reads of each of its properties. */
function counted(target: object): { error: object; reads: Map<string | symbol, number> } {
  const reads = new Map<string | symbol, number>();
  const error = new Proxy(target, {
    get(t, key, receiver) {
      reads.set(key, (reads.get(key) ?? 0) + 1);
      return Reflect.get(t, key, receiver) as unknown;
    },
  });
  return { error, reads };
}

describe('user rules read only what they need', () => {
  it('reads nothing of the failure when the hints rule every rule out', () => {
    const rules = compileRules([
      { id: 'pg-only', when: { client: 'pg', sqlstate: '40001' }, category: 'concurrency' },
      { id: 'payments', when: { all: [{ name: 'TypeError' }, { target: 'https://payments.example:*' }] }, category: 'external_service' },
      { id: 'not-http', when: { any: [{ client: 'ioredis' }, { client: 'redis' }], messageRegex: 'x' }, category: 'network' },
    ]);
    const { error, reads } = counted(Object.assign(new TypeError('x'), { code: '40001' }));
    expect(firstMatchingRule(rules, new FailureFacts(error, { client: 'http', target: 'https://api.example:443' }))).to.equal(undefined);
    expect([...reads.keys()]).to.deep.equal([]);
  });

  it('reads each property once per call, however many rules look at it', () => {
    const rules = compileRules([
      { id: 'a', when: { messageRegex: '^quota' }, category: 'rate_limit' },
      { id: 'b', when: { message: 'tenant' }, category: 'rate_limit' },
      { id: 'c', when: { redisPrefix: 'LOADING', name: 'X' }, category: 'resource' },
      { id: 'd', when: { name: 'PaymentDeclinedError', code: 'E' }, category: 'business_logic' },
      { id: 'e', when: { code: ['E1', 'E2'], not: { name: 'Y' } }, category: 'business_logic' },
    ]);
    const { error, reads } = counted(new Error('connection refused'));
    expect(firstMatchingRule(rules, new FailureFacts(error, { client: 'ioredis' }))).to.equal(undefined);
    for (const [key, n] of reads) expect(n, String(key)).to.equal(1);
    expect(reads.has('message')).to.equal(true);
    expect(reads.has('cause')).to.equal(true);
  });
});
