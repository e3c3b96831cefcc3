/**
 * PostgreSQL's lexical structure, as much of it as the statement splitter
 * (statements.ts), the query-text sanitiser (query-text.ts) and the read-only check
 * (read-only.ts) need: one tokenizer for all three, so they can never disagree on where
 * a string, a comment or a quoted identifier ends.
 *
 * Assumes `standard_conforming_strings = on` (the default since PostgreSQL 9.1): with it
 * off, a backslash escapes a quote in every string, not only in `E''` strings.
 */

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * What a token is:
 * - `word`: a keyword or an unquoted identifier (`SELECT`, `t1`, `a$b`);
 * - `quoted`: a quoted identifier (`"My Table"`, `U&"d\0061t"`);
 * - `string`: a string literal: `'...'` (`''` inside), `E'...'` (backslash escapes),
 *   `B'...'`, `X'...'`, `N'...'`, `U&'...'`; `start` is at the prefix letter, if any;
 * - `dollar`: a dollar-quoted string (`$$...$$`, `$tag$...$tag$`);
 * - `number`: digits with fraction, exponent (signed), radix letters, `_` separators (`1e-5`, `.5`, `0x1F`);
 * - `parameter`: a placeholder (`$1`);
 * - `symbol`: any other character, one at a time (`(`, `;`, `,`, `.`, `:`, ...);
 * - `end`: no token left.
 */
export type SqlTokenKind = 'word' | 'quoted' | 'string' | 'dollar' | 'number' | 'parameter' | 'symbol' | 'end';

/**
 * Reads `text` token by token, skipping whitespace and comments (`-- ...` up to a newline
 * or carriage return, nested `/* ... *\/`). Allocation-free: each next() updates `kind`,
 * `start` and `end` (the token is `text.slice(start, end)`). Linear in the text's length;
 * never throws.
 *
 *     const tokens = new SqlTokenizer(text);
 *     for (let kind = tokens.next(); kind !== 'end'; kind = tokens.next()) ...
 */
export class SqlTokenizer {
  kind: SqlTokenKind = 'end';
  start = 0;
  end = 0;
  /**
   * A string, quoted identifier, dollar quote or block comment ran to the end of the
   * text without being closed (the server rejects such a text). Sticky once set.
   */
  unterminated = false;

  constructor(readonly text: string) {}

  next(): SqlTokenKind {
    const text = this.text;
    const n = text.length;
    let i = this.end;
    for (;;) {
      if (i >= n) {
        this.start = this.end = n;
        return (this.kind = 'end');
      }
      const c = text.charCodeAt(i);
      if (isSpace(c)) i++;
      else if (c === 45 && text.charCodeAt(i + 1) === 45) {
        // A line comment ends at a newline or a carriage return, as the server's lexer has it.
        i += 2;
        while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
      } else if (c === 47 && text.charCodeAt(i + 1) === 42) i = this.skipBlockComment(i);
      else break;
    }
    this.start = i;
    const c = text.charCodeAt(i);
    let kind: SqlTokenKind;
    if (c === 39) {
      kind = 'string';
      i = this.skipString(i, false);
    } else if (c === 34) {
      kind = 'quoted';
      i = this.skipQuotedIdentifier(i);
    } else if (c === 36) {
      if (isDigit(text.charCodeAt(i + 1))) {
        kind = 'parameter';
        i++;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
      } else {
        const end = this.skipDollarQuote(i);
        if (end < 0) {
          kind = 'symbol';
          i++;
        } else {
          kind = 'dollar';
          i = end;
        }
      }
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(text.charCodeAt(j))) j++;
      const next = text.charCodeAt(j);
      if (j === i + 1 && next === 39 && isLiteralPrefix(c)) {
        kind = 'string';
        i = this.skipString(j, c === 69 || c === 101); // E'...' has backslash escapes
      } else if (j === i + 1 && (c === 85 || c === 117) && next === 38 && (text.charCodeAt(j + 1) === 39 || text.charCodeAt(j + 1) === 34)) {
        // U&'...' and U&"...": their backslash escapes cannot hide a quote (a quote is doubled).
        if (text.charCodeAt(j + 1) === 39) {
          kind = 'string';
          i = this.skipString(j + 1, false);
        } else {
          kind = 'quoted';
          i = this.skipQuotedIdentifier(j + 1);
        }
      } else {
        kind = 'word';
        i = j;
      }
    } else if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
      kind = 'number';
      i = skipNumber(text, i);
    } else {
      kind = 'symbol';
      i++;
    }
    this.end = i;
    return (this.kind = kind);
  }

  /** The index after a string literal whose quote is at `open`. */
  private skipString(open: number, backslashEscapes: boolean): number {
    const text = this.text;
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
    this.unterminated = true;
    return n;
  }

  /** The index after a quoted identifier opening at `open` (`""` inside is a quote). */
  private skipQuotedIdentifier(open: number): number {
    const text = this.text;
    const n = text.length;
    let i = open + 1;
    while (i < n) {
      if (text.charCodeAt(i) === 34) {
        if (text.charCodeAt(i + 1) !== 34) return i + 1;
        i += 2;
      } else i++;
    }
    this.unterminated = true;
    return n;
  }

  /** The index after a (nested) block comment opening at `open`. */
  private skipBlockComment(open: number): number {
    const text = this.text;
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
    if (depth > 0) this.unterminated = true;
    return i;
  }

  /** The index after a dollar-quoted string opening at `open`, or -1 when `$` opens none. */
  private skipDollarQuote(open: number): number {
    const text = this.text;
    const n = text.length;
    let i = open + 1;
    if (i < n && isIdentStart(text.charCodeAt(i))) {
      while (i < n && isIdentPart(text.charCodeAt(i)) && text.charCodeAt(i) !== 36) i++;
    }
    if (text.charCodeAt(i) !== 36) return -1;
    const delimiter = text.slice(open, i + 1);
    const close = text.indexOf(delimiter, i + 1);
    if (close >= 0) return close + delimiter.length;
    this.unterminated = true;
    return n;
  }
}

/** Letters that, alone right before a quote, make a string literal of a special kind. */
function isLiteralPrefix(c: number): boolean {
  switch (c) {
    case 69: // E e: escapes
    case 101:
    case 66: // B b: bits
    case 98:
    case 88: // X x: hex bits
    case 120:
    case 78: // N n: national characters
    case 110:
      return true;
    default:
      return false;
  }
}

/** The index after a number starting at `start` (digits, fraction, exponent, radix letters, `_` separators). */
function skipNumber(text: string, start: number): number {
  const n = text.length;
  let i = start;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isIdentPart(c) && c !== 36) {
      // An exponent's sign: 1e-5, 2E+10.
      if ((c === 101 || c === 69) && (text.charCodeAt(i + 1) === 43 || text.charCodeAt(i + 1) === 45) && isDigit(text.charCodeAt(i + 2))) i += 3;
      else i++;
    } else if (c === 46 && text.charCodeAt(i + 1) !== 46) i++; // a fraction, not a `..` range
    else break;
  }
  return i;
}
