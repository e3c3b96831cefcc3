import { expect } from 'chai';
import { classify, createClassifier } from '../../src/classify/classify.js';
import { CATEGORY_DEFAULTS } from '../../src/classify/defaults.js';
import type { ClassificationRule } from '../../src/classify/rule-types.js';

function sysError(code: string, message = `connect ${code} 127.0.0.1:1`): Error {
  return Object.assign(new Error(message), { code });
}
function dbError(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { name: 'error', severity: 'ERROR', code, routine: 'r' });
}
class ReplyError extends Error {
  override get name(): string {
    return 'ReplyError';
  }
}

describe('createClassifier: user rules', () => {
  it('runs rules before the built-ins; the first match wins and names itself in rule', () => {
    const c = createClassifier([
      { id: 'first', when: { code: 'ECONNRESET' }, category: 'external_service' },
      { id: 'second', when: { code: 'ECONNRESET' }, category: 'system' },
    ]);
    expect(c(sysError('ECONNRESET'))).to.include({ category: 'external_service', rule: 'first', code: 'ECONNRESET' });
    expect(c(sysError('EPIPE'))).to.include({ category: 'network', rule: 'builtin:node.code' });
  });

  it("fills severity, transient and userMessage from the category's defaults unless the rule sets them", () => {
    const c = createClassifier([
      { id: 'defaults', when: { message: 'quota' }, category: 'rate_limit' },
      { id: 'custom', when: { message: 'custom' }, category: 'business_logic', severity: 'high', transient: true, userMessage: 'Your plan does not allow this.' },
    ]);
    expect(c(new Error('quota exceeded'))).to.include({ severity: 'medium', transient: true, userMessage: CATEGORY_DEFAULTS.rate_limit.userMessage, rule: 'defaults' });
    expect(c(new Error('custom thing'))).to.include({ severity: 'high', transient: true, userMessage: 'Your plan does not allow this.' });
  });

  it('keeps the code and retryAfterMs the built-ins derive from the failure', () => {
    const c = createClassifier([{ id: 'slow', when: { status: 503 }, category: 'rate_limit' }]);
    expect(c({ status: 503, headers: { 'retry-after': '9' } })).to.include({ category: 'rate_limit', code: '503', rule: 'slow', retryAfterMs: 9000 });
    const viaCause = createClassifier([{ id: 'fetch', when: { name: 'TypeError', message: 'fetch failed' }, category: 'external_service' }]);
    expect(viaCause(new TypeError('fetch failed', { cause: sysError('ECONNREFUSED') }))).to.include({ rule: 'fetch', code: 'ECONNREFUSED' });
  });

  it('matches message substrings and regular expressions (with flags)', () => {
    const c = createClassifier([
      { id: 'sub', when: { message: 'Quota' }, category: 'rate_limit' },
      { id: 're', when: { messageRegex: '^tenant \\d+ suspended$', messageRegexFlags: 'i' }, category: 'authorization' },
    ]);
    expect(c(new Error('Quota exceeded')).rule).to.equal('sub');
    expect(c(new Error('quota exceeded')).rule).to.not.equal('sub'); // case-sensitive substring
    expect(c(new Error('TENANT 42 suspended')).rule).to.equal('re');
    expect(c(new Error('tenant x suspended')).rule).to.equal('builtin:fallback');
    expect(c('tenant 7 suspended').rule).to.equal('re'); // a thrown string is its own message
  });

  it('matches name against err.name or the constructor name, and code as strings', () => {
    class PaymentDeclined extends Error {}
    const c = createClassifier([
      { id: 'by-ctor', when: { name: 'PaymentDeclined' }, category: 'business_logic' },
      { id: 'by-name', when: { name: ['HeadersTimeoutError', 'X'] }, category: 'external_service' },
      { id: 'numeric-code', when: { code: '1205' }, category: 'concurrency' },
    ]);
    expect(c(new PaymentDeclined('no')).rule).to.equal('by-ctor');
    expect(c(Object.assign(new Error('x'), { name: 'HeadersTimeoutError', code: 'UND_ERR_HEADERS_TIMEOUT' }))).to.include({ rule: 'by-name', code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(c(Object.assign(new Error('Lock wait timeout'), { code: 1205 })).rule).to.equal('numeric-code');
  });

  it('matches HTTP status as a number, a list or a class, also on response.status', () => {
    const c = createClassifier([
      { id: 'teapot', when: { status: 418 }, category: 'business_logic' },
      { id: 'gateway', when: { status: [502, '504'] }, category: 'network' },
      { id: 'client', when: { status: '4xx' }, category: 'validation' },
    ]);
    expect(c({ status: 418 }).rule).to.equal('teapot');
    expect(c({ statusCode: 504 }).rule).to.equal('gateway');
    expect(c({ response: { status: 502 } }).rule).to.equal('gateway');
    expect(c({ status: 451 }).rule).to.equal('client');
    expect(c({ status: 500 }).rule).to.equal('builtin:http.status');
  });

  it('matches SQLSTATE by code and by class', () => {
    const c = createClassifier([
      { id: 'unique', when: { sqlstate: '23505' }, category: 'concurrency', transient: false },
      { id: 'integrity', when: { sqlstate: ['23'] }, category: 'validation' },
    ]);
    expect(c(dbError('23505'))).to.include({ rule: 'unique', code: '23505', category: 'concurrency' });
    expect(c(dbError('23502')).rule).to.equal('integrity');
    expect(c(dbError('22012')).rule).to.equal('builtin:pg.sqlstate');
  });

  it('matches the Redis reply prefix', () => {
    const c = createClassifier([{ id: 'loading', when: { redisPrefix: 'loading' }, category: 'resource' }]);
    expect(c(new ReplyError('LOADING Redis is loading the dataset in memory'))).to.include({ rule: 'loading', code: 'LOADING' });
    expect(c(new Error('LOADING Redis is loading'))).to.include({ rule: 'builtin:fallback' });
    expect(c(new Error('LOADING Redis is loading'), { client: 'ioredis' })).to.include({ rule: 'loading' });
  });

  it('matches target globs and client from the hints', () => {
    const c = createClassifier([
      { id: 'payments', when: { target: 'https://*.payments.example:*', status: '5xx' }, category: 'business_logic' },
      { id: 'pg', when: { client: ['pg'], code: 'ECONNREFUSED' }, category: 'external_service' },
    ]);
    expect(c({ status: 503 }, { target: 'https://api.payments.example:443' }).rule).to.equal('payments');
    expect(c({ status: 503 }, { target: 'https://api.other.example:443' }).rule).to.equal('builtin:http.status');
    expect(c({ status: 503 }).rule).to.equal('builtin:http.status');
    expect(c(sysError('ECONNREFUSED'), { client: 'pg' }).rule).to.equal('pg');
    expect(c(sysError('ECONNREFUSED'), { client: 'http' }).rule).to.equal('builtin:node.code');
  });

  it('combines with all / any / not; keys of one object hold on one error, all/any across the chain', () => {
    const fetchRefused = new TypeError('fetch failed', { cause: sysError('ECONNREFUSED') });
    const c = createClassifier([
      { id: 'same-error', when: { name: 'TypeError', code: 'ECONNREFUSED' }, category: 'system' },
      { id: 'across-chain', when: { all: [{ name: 'TypeError' }, { code: 'ECONNREFUSED' }] }, category: 'external_service' },
    ]);
    expect(c(fetchRefused).rule).to.equal('across-chain');

    const anyNot = createClassifier([
      { id: 'any', when: { any: [{ code: 'EPIPE' }, { status: 502 }], not: { client: 'pg' } }, category: 'external_service' },
      { id: 'not-chain', when: { not: { code: 'ECONNRESET' }, message: 'wrapped' }, category: 'system' },
    ]);
    expect(anyNot(sysError('EPIPE')).rule).to.equal('any');
    expect(anyNot({ status: 502 }).rule).to.equal('any');
    expect(anyNot(sysError('EPIPE'), { client: 'pg' }).rule).to.equal('builtin:node.code');
    expect(anyNot(new Error('wrapped', { cause: sysError('ECONNRESET') })).rule).to.equal('builtin:node.code');
    expect(anyNot(new Error('wrapped', { cause: sysError('ETIMEDOUT') })).rule).to.equal('not-chain');
  });

  it('with no rules, createClassifier is classify', () => {
    expect(createClassifier([])).to.equal(classify);
  });

  describe('validation at creation time, naming the rule', () => {
    const bad: Array<[string, unknown, RegExp]> = [
      ['bad regex', { id: 'broken-re', when: { messageRegex: '(unclosed' }, category: 'network' }, /rule "broken-re".*invalid messageRegex/],
      ['bad regex flags', { id: 'flags', when: { messageRegex: 'x', messageRegexFlags: 'q' }, category: 'network' }, /rule "flags".*messageRegexFlags "q": unknown flag/],
      ['stateful regex flags', { id: 'gflag', when: { messageRegex: 'x', messageRegexFlags: 'gi' }, category: 'network' }, /rule "gflag".*g and y are not allowed/],
      ['empty condition', { id: 'empty', when: {}, category: 'network' }, /rule "empty".*no condition keys/],
      ['empty nested condition', { id: 'empty-not', when: { not: {} }, category: 'network' }, /rule "empty-not".*when.not has no condition keys/],
      ['empty any', { id: 'empty-any', when: { any: [] }, category: 'network' }, /rule "empty-any".*non-empty list/],
      ['reserved id', { id: 'builtin:mine', when: { code: 'X' }, category: 'network' }, /rule "builtin:mine".*reserved/],
      ['nested bad regex', { id: 'nested', when: { any: [{ not: { messageRegex: '[' } }] }, category: 'network' }, /rule "nested"/],
      ['unknown key', { id: 'typo', when: { mesage: 'x' }, category: 'network' }, /rule "typo".*unknown condition key "mesage"/],
      ['unknown category', { id: 'cat', when: { code: 'X' }, category: 'nope' }, /rule "cat".*category/],
      ['unknown severity', { id: 'sev', when: { code: 'X' }, category: 'network', severity: 'urgent' }, /rule "sev".*severity/],
      ['bad status', { id: 'st', when: { status: '6xx' }, category: 'network' }, /rule "st".*status/],
      ['bad sqlstate', { id: 'sq', when: { sqlstate: '2350' }, category: 'network' }, /rule "sq".*sqlstate/],
      ['empty list', { id: 'el', when: { code: [] }, category: 'network' }, /rule "el".*empty list/],
      ['missing when', { id: 'nowhen', category: 'network' }, /rule "nowhen".*when/],
      ['missing id', { when: { code: 'X' }, category: 'network' }, /rule #1.*id/],
      ['duplicate id', [{ id: 'd', when: { code: 'X' }, category: 'network' }, { id: 'd', when: { code: 'X' }, category: 'network' }], /rule "d".*duplicate/],
      ['all not a list', { id: 'al', when: { all: { code: 'x' } }, category: 'network' }, /rule "al".*all must be a non-empty list/],
    ];
    for (const [label, rule, message] of bad) {
      it(label, () => {
        const rules = (Array.isArray(rule) ? rule : [rule]) as ClassificationRule[];
        expect(() => createClassifier(rules)).to.throw(Error, message);
      });
    }
  });
});
