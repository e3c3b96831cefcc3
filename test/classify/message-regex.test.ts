import { expect } from 'chai';
import fc from 'fast-check';
import { createClassifier } from '../../src/classify/classify.js';
import { MESSAGE_READ_MAX } from '../../src/classify/facts.js';
import { compileMessageRegex } from '../../src/classify/message-regex.js';
import type { ClassificationRule } from '../../src/classify/rule-types.js';

/** A pg DatabaseError echoing user input, as the report had it. */
function dbError(message: string): Error {
  return Object.assign(new Error(message), { name: 'error', severity: 'ERROR', code: 'XX000', routine: 'r' });
}

/** Median nanoseconds per call of `run`, over `samples` batches of `batch` calls. */
function medianNsPerCall(run: () => void, samples = 9, batch = 10): number {
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) run();
    times.push(Number(process.hrtime.bigint() - start) / batch);
  }
  return times.sort((a, b) => a - b)[Math.floor(samples / 2)]!;
}

describe('user message regexes run in linear time', () => {
  const EVIL: ClassificationRule = { id: 'quota', when: { messageRegex: '^(\\w+\\s?)*quota$' }, category: 'rate_limit' };
  const TRIVIAL: ClassificationRule = { id: 'quota', when: { message: 'quota' }, category: 'rate_limit' };

  it('classifies with a pattern V8 backtracks on exponentially about as fast as with a substring rule', () => {
    // V8's backtracking takes about 0.1 s on this message, and doubles with each extra
    // character; a linear engine takes microseconds. The bound is relative to a trivial
    // rule timed in the same run, so a slow or busy machine slows both alike.
    const failure = dbError(`${'a'.repeat(26)}!`);
    const evil = createClassifier([EVIL]);
    const trivial = createClassifier([TRIVIAL]);
    expect(evil(failure)).to.include({ category: 'external_service', rule: 'builtin:pg.sqlstate' });
    expect(evil(dbError('over quota'))).to.include({ category: 'rate_limit', rule: 'quota' });
    const trivialNs = medianNsPerCall(() => trivial(failure));
    const evilNs = medianNsPerCall(() => evil(failure));
    expect(evilNs).to.be.below(Math.max(1_000_000, 100 * trivialNs));
  });

  it('reads only the first MESSAGE_READ_MAX characters of a message', () => {
    const c = createClassifier([
      { id: 'substring', when: { message: 'needle' }, category: 'rate_limit' },
      { id: 'regex', when: { messageRegex: 'haystack$' }, category: 'resource' },
    ]);
    const padding = 'x'.repeat(MESSAGE_READ_MAX - 'needle'.length);
    expect(c(new Error(`${padding}needle`)).rule).to.equal('substring');
    expect(c(new Error(`${padding}xneedle`)).rule).to.equal('builtin:fallback');
    // A megabyte of message: what is past 4 KiB is never looked at, so `$` is the cut.
    expect(c(new Error(`${'y'.repeat(1 << 20)}haystack`)).rule).to.equal('builtin:fallback');
    expect(c(new Error(`${'y'.repeat(MESSAGE_READ_MAX - 'haystack'.length)}haystack and more`)).rule).to.equal('regex');
    expect(MESSAGE_READ_MAX).to.equal(4096); // docs/classification.md says 4 KiB
  });

  it('refuses at load, naming the rule, what only a backtracking engine can run', () => {
    const refused: Array<[string, RegExp]> = [
      ['(\\w+) \\1', /rule "r": invalid messageRegex .*backreferences need backtracking/],
      ['(?<w>\\w+) \\k<w>', /rule "r": invalid messageRegex .*backreferences/],
      ['quota(?= exceeded)', /rule "r": invalid messageRegex .*lookahead and lookbehind are not supported/],
      ['(?<!soft )quota', /rule "r": invalid messageRegex .*lookahead and lookbehind/],
    ];
    for (const [source, message] of refused) {
      expect(() => createClassifier([{ id: 'r', when: { messageRegex: source }, category: 'network' }]), source).to.throw(Error, message);
    }
  });

  it('keeps the JavaScript spellings rules are written in: \\u escapes, named groups, i/m/s flags', () => {
    expect(compileMessageRegex('caf\\u00e9').test('café au lait')).to.equal(true);
    expect(compileMessageRegex('(?<tenant>\\d+) suspended').test('tenant 42 suspended')).to.equal(true);
    expect(compileMessageRegex('^QUOTA', 'i').test('quota exceeded')).to.equal(true);
    expect(compileMessageRegex('^second', 'm').test('first\nsecond')).to.equal(true);
    expect(compileMessageRegex('^second').test('first\nsecond')).to.equal(false);
    expect(compileMessageRegex('a.b', 's').test('a\nb')).to.equal(true);
    expect(compileMessageRegex('a.b').test('a\nb')).to.equal(false);
  });

  it('agrees with JavaScript RegExp on patterns both engines run (property)', () => {
    // Small patterns over a small alphabet, so that messages hit and miss alike.
    const atom = fc.constantFrom('a', 'b', ' ', '\\d', '\\w', '\\s', '.', '[ab]', '[^a]', '1', '(?:a|b1)', '(a|\\s)');
    const quantifier = fc.constantFrom('', '', '*', '+', '?', '{1,2}', '*?');
    const piece = fc.tuple(atom, quantifier).map(([a, q]) => a + q);
    const pattern = fc
      .tuple(fc.boolean(), fc.array(piece, { minLength: 1, maxLength: 5 }), fc.boolean())
      .map(([start, pieces, end]) => `${start ? '^' : ''}${pieces.join('')}${end ? '$' : ''}`);
    const message = fc.string({ unit: fc.constantFrom('a', 'b', '1', ' ', '\n', 'x'), maxLength: 12 });
    const flags = fc.constantFrom('', 'i', 'm', 's', 'is');
    fc.assert(
      fc.property(pattern, flags, message, (source, f, text) => {
        expect(compileMessageRegex(source, f).test(text), `/${source}/${f} on ${JSON.stringify(text)}`).to.equal(new RegExp(source, f).test(text));
      }),
      { numRuns: 2000 },
    );
  });
});
