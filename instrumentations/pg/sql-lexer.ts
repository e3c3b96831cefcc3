/**
 * The pieces of PostgreSQL's lexical structure that both the statement splitter
 * (statements.ts) and the query-text sanitiser (query-text.ts) need: where an identifier
 * starts, and where a string literal, a quoted identifier, a block comment or a dollar
 * quote that opens at a given index ends. Assumes `standard_conforming_strings = on`.
 */

export function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
}

export function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
}

/** The index after a string literal opening at `open`; backslash escapes in E'' strings. */
export function skipString(text: string, open: number, backslashEscapes: boolean): number {
  const n = text.length;
  let i = open + 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (backslashEscapes && c === 92) i += 2;
    else if (c === 39) {
      if (text.charCodeAt(i + 1) !== 39) return i + 1;
      i += 2;
    } else i++;
  }
  return n;
}

/** The index after a quoted identifier opening at `open` (`""` inside is a quote). */
export function skipQuotedIdentifier(text: string, open: number): number {
  const n = text.length;
  let i = open + 1;
  while (i < n) {
    if (text.charCodeAt(i) === 34) {
      if (text.charCodeAt(i + 1) !== 34) return i + 1;
      i += 2;
    } else i++;
  }
  return n;
}

/** The index after a (nested) block comment opening at `open`. */
export function skipBlockComment(text: string, open: number): number {
  const n = text.length;
  let depth = 1;
  let i = open + 2;
  while (i < n && depth > 0) {
    const c = text.charCodeAt(i);
    if (c === 47 && text.charCodeAt(i + 1) === 42) {
      depth++;
      i += 2;
    } else if (c === 42 && text.charCodeAt(i + 1) === 47) {
      depth--;
      i += 2;
    } else i++;
  }
  return i;
}

/** The index after a dollar-quoted string opening at `open`, or -1 when `$` opens none (`$1`). */
export function skipDollarQuote(text: string, open: number): number {
  const n = text.length;
  let i = open + 1;
  if (i < n && isIdentStart(text.charCodeAt(i))) {
    while (i < n && isIdentPart(text.charCodeAt(i)) && text.charCodeAt(i) !== 36) i++;
  }
  if (text.charCodeAt(i) !== 36) return -1;
  const delimiter = text.slice(open, i + 1);
  const close = text.indexOf(delimiter, i + 1);
  return close < 0 ? n : close + delimiter.length;
}
