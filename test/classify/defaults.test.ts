import { expect } from 'chai';
import { CATEGORY_DEFAULTS, makeResult, ResultCache, withRetryAfter } from '../../src/classify/defaults.js';
import { ERROR_CATEGORIES } from '../../src/classify/types.js';

describe('classify defaults', () => {
  it('has the documented severity and transience for every category', () => {
    const expected = {
      network: ['medium', true],
      timeout: ['medium', true],
      rate_limit: ['medium', true],
      authentication: ['high', false],
      authorization: ['high', false],
      validation: ['low', false],
      not_found: ['low', false],
      concurrency: ['medium', true],
      data_integrity: ['critical', false],
      resource: ['medium', true],
      external_service: ['medium', true],
      configuration: ['high', false],
      business_logic: ['low', false],
      system: ['high', false],
      cancelled: ['info', false],
      circuit_open: ['high', false],
      unknown: ['medium', false],
    } as const;
    expect(Object.keys(CATEGORY_DEFAULTS).sort()).to.deep.equal([...ERROR_CATEGORIES].sort());
    for (const category of ERROR_CATEGORIES) {
      const [severity, transient] = expected[category];
      expect(CATEGORY_DEFAULTS[category], category).to.include({ severity, transient });
      expect(CATEGORY_DEFAULTS[category].userMessage, category).to.match(/^[A-Z][^{}<>]+\.$/);
    }
  });

  it('builds frozen results, with overrides, and copies them with a Retry-After', () => {
    const r = makeResult('external_service', '501', 'builtin:http.status', { transient: false });
    expect(r).to.deep.equal({ category: 'external_service', severity: 'medium', transient: false, code: '501', rule: 'builtin:http.status', userMessage: CATEGORY_DEFAULTS.external_service.userMessage });
    expect(Object.isFrozen(r)).to.equal(true);
    const w = withRetryAfter(r, 1500);
    expect(w).to.deep.equal({ ...r, retryAfterMs: 1500 });
    expect(Object.isFrozen(w)).to.equal(true);
  });

  it('bounds its caches', () => {
    const cache = new ResultCache(2);
    const make = (code: string) => makeResult('unknown', code, 'x');
    cache.remember('a', make('a'));
    cache.remember('b', make('b'));
    cache.remember('c', make('c'));
    expect(cache.lookup('a')?.code).to.equal('a');
    expect(cache.lookup('c')).to.equal(undefined);
  });
});
