import { DB_QUERY_TEXT_MAX } from '../kit/semconv.js';
import { SqlTokenizer } from './sql-lexer.js';

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

/** The sanitised, bounded text (see above). Never throws on any string. */
export function sanitizeSql(text: string, max = DB_QUERY_TEXT_MAX): string {
  let out = '';
  let copyFrom = 0; // the start of the run of `text` still to be copied as it is
  let copyTo = text.length;
  const tokens = new SqlTokenizer(text);
  for (let kind = tokens.next(); kind !== 'end'; kind = tokens.next()) {
    if (out.length + (tokens.start - copyFrom) >= max) {
      copyTo = tokens.start; // enough for the cut: stop before this token, a literal included
      break;
    }
    if (kind === 'string' || kind === 'dollar' || kind === 'number') {
      out += text.slice(copyFrom, tokens.start) + '?';
      copyFrom = tokens.end;
    }
  }
  out += text.slice(copyFrom, copyTo);
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
