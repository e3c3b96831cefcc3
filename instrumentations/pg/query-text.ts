import { DB_QUERY_TEXT_MAX } from '../kit/semconv.js';
import { isIdentPart, isIdentStart, skipBlockComment, skipDollarQuote, skipQuotedIdentifier, skipString } from './sql-lexer.js';

/**
 * `db.query.text` of a pg query: the statement text as the official pg instrumentation
 * records it, except that every literal value is replaced by `?` (the conventions'
 * sanitisation). The official records literals as written, so `ALTER ROLE x PASSWORD
 * 'hunter2'` would put the password in the span; here it reads `ALTER ROLE x PASSWORD ?`.
 * Placeholders (`$1`), keywords, identifiers (quoted ones too) and comments stay.
 *
 * Literals replaced: strings (`'...'`, `E'...'`, `B'...'`, `X'...'`, `N'...'`, `U&'...'`),
 * dollar-quoted strings (`$$...$$`, `$tag$...$tag$`, function bodies included) and numbers.
 * The result is cut at DB_QUERY_TEXT_MAX characters; the text is sanitised first, so a cut
 * never leaves part of a literal.
 */

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
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

/** Letters that, right before a quote, make a string literal of a special kind. */
function isLiteralPrefix(word: string): boolean {
  return word.length === 1 && 'EeBbXxNn'.includes(word);
}

/** The sanitised, bounded text (see above). Never throws on any string. */
export function sanitizeSql(text: string, max = DB_QUERY_TEXT_MAX): string {
  const n = text.length;
  let out = '';
  let copyFrom = 0; // the start of the run of `text` still to be copied as it is
  let i = 0;
  const replace = (start: number, end: number): void => {
    out += text.slice(copyFrom, start) + '?';
    copyFrom = end;
  };
  while (i < n) {
    if (out.length + (i - copyFrom) >= max) break;
    const c = text.charCodeAt(i);
    if (c === 45 && text.charCodeAt(i + 1) === 45) {
      const newline = text.indexOf('\n', i + 2);
      i = newline < 0 ? n : newline + 1;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      i = skipBlockComment(text, i);
    } else if (c === 39) {
      const end = skipString(text, i, false);
      replace(i, end);
      i = end;
    } else if (c === 34) {
      i = skipQuotedIdentifier(text, i);
    } else if (c === 36) {
      if (isDigit(text.charCodeAt(i + 1))) {
        // A placeholder ($1): kept.
        i++;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
      } else {
        const end = skipDollarQuote(text, i);
        if (end < 0) i++;
        else {
          replace(i, end);
          i = end;
        }
      }
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(text.charCodeAt(j))) j++;
      const next = text.charCodeAt(j);
      if (next === 39 && isLiteralPrefix(text.slice(i, j))) {
        const end = skipString(text, j, c === 69 || c === 101);
        replace(i, end);
        i = end;
      } else if (j === i + 1 && (c === 85 || c === 117) && next === 38 && text.charCodeAt(j + 1) === 39) {
        const end = skipString(text, j + 1, false); // U&'...'
        replace(i, end);
        i = end;
      } else i = j;
    } else if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
      const end = skipNumber(text, i);
      replace(i, end);
      i = end;
    } else i++;
  }
  out += text.slice(copyFrom, Math.min(i, n));
  return cut(out, max);
}

/** At most `max` characters, never half of a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** Applications send the same few texts over and over: bounded cache, short texts only. */
const CACHE_LIMIT = 512;
const CACHEABLE_LENGTH = 4096;
const cache = new Map<string, string>();

/** sanitizeSql, cached per text. */
export function pgQueryText(text: string): string {
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const sanitized = sanitizeSql(text);
  if (text.length <= CACHEABLE_LENGTH) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(text, sanitized);
  }
  return sanitized;
}
