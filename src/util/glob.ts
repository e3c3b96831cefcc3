/**
 * Glob patterns for target keys and rule conditions: `*` matches any run of characters
 * (including `/` and `:`, since target keys are not paths), `?` one character, and
 * everything else itself. Compiled once to a RegExp.
 */
export function compileGlob(pattern: string): RegExp {
  let source = '^';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(source + '$', 'i');
}

export function globMatches(pattern: string, value: string): boolean {
  return compileGlob(pattern).test(value);
}
