import { RE2JS } from 're2js';

/**
 * A user rule's `messageRegex`, compiled to a linear-time engine.
 *
 * V8's RegExp backtracks: `^(\w+\s?)*quota$` against an error message of 30 word
 * characters and a `!` takes seconds in one event-loop tick, and each extra character
 * doubles it. A classification rule runs on every failure, with a message the
 * dependency wrote (often echoing the request), so one such rule lets one request
 * freeze the service. re2js, a JavaScript port of RE2 (no native build), matches in
 * time linear in the message whatever the pattern; what it cannot do in linear time
 * (backreferences, lookahead and lookbehind) it refuses when the rule is loaded, so a
 * pattern either runs safely or the rule is rejected at start-up, naming it.
 *
 * We chose the library over a "safe subset" check of V8 patterns because no small
 * parser proves a backtracking pattern linear: refusing nested quantifiers still lets
 * `\w*\w*\w*x` through, cubic on a long message.
 */

/** What a message regex is tested with: a boolean search, like RegExp#test without `g`. */
export interface MessageRegex {
  test(message: string): boolean;
}

/**
 * JavaScript flags and their RE2 counterparts. `u` and `d` change nothing for a boolean
 * search (RE2 reads code points; match indices are never asked for). `g` and `y` would
 * make a match depend on the previous one, and `v`'s set syntax is not RE2's.
 */
const FLAG_BITS: ReadonlyMap<string, number> = new Map([
  ['d', 0],
  ['i', RE2JS.CASE_INSENSITIVE],
  ['m', RE2JS.MULTILINE],
  ['s', RE2JS.DOTALL],
  ['u', 0],
]);

export const ALLOWED_FLAGS = [...FLAG_BITS.keys()].join(', ');

/** Why a pattern or its flags were refused: `reason` without the pattern, `message` with it. */
export class MessageRegexError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'MessageRegexError';
  }
}

/** What is wrong with `flags`, or undefined when they are fine. */
export function flagsProblem(flags: string): string | undefined {
  const seen = new Set<string>();
  for (const flag of flags) {
    if (flag === 'g' || flag === 'y') return 'g and y are not allowed (they make a match depend on the previous one)';
    if (!FLAG_BITS.has(flag)) return `unknown flag "${flag}" (allowed: ${ALLOWED_FLAGS})`;
    if (seen.has(flag)) return `flag "${flag}" given twice`;
    seen.add(flag);
  }
  return undefined;
}

/**
 * Compiles JavaScript regex source (as written in a rule) with the linear-time engine.
 * Throws a MessageRegexError for bad flags, a syntax error or a construct that needs
 * backtracking.
 */
export function compileMessageRegex(source: string, flags = ''): MessageRegex {
  const problem = flagsProblem(flags);
  if (problem !== undefined) throw new MessageRegexError(`messageRegexFlags "${flags}": ${problem}`, problem);
  let bits = 0;
  for (const flag of flags) bits |= FLAG_BITS.get(flag)!;
  if (hasNamedBackreference(source)) {
    // The translation below would read `\k<name>` as the letters "k<name>": refuse it instead.
    const reason = 'invalid escape sequence: `\\k<` (backreferences need backtracking and are not supported)';
    throw new MessageRegexError(`invalid messageRegex /${source}/${flags}: ${reason}`, reason);
  }
  try {
    // JavaScript spellings RE2 lacks (`\u00e9`, `\cJ`, `(?<name>`) become RE2's own.
    return RE2JS.compile(RE2JS.translateRegExp(source), bits);
  } catch (error) {
    const reason = (error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error)) + hintFor(source);
    throw new MessageRegexError(`invalid messageRegex /${source}/${flags}: ${reason}`, reason);
  }
}

function hasNamedBackreference(source: string): boolean {
  for (let i = 0; i < source.length - 2; i++) {
    if (source[i] !== '\\') continue;
    if (source[i + 1] === 'k' && source[i + 2] === '<') return true;
    i++; // an escaped character, possibly a backslash, is not the start of an escape
  }
  return false;
}

/** What to write instead, for the constructs people reach for that a linear engine cannot run. */
function hintFor(source: string): string {
  if (/\\[1-9]/.test(source)) return ' (backreferences need backtracking and are not supported)';
  if (/\(\?<?[=!]/.test(source)) return ' (lookahead and lookbehind are not supported; use `not: { messageRegex: ... }` or a second rule)';
  return '';
}
