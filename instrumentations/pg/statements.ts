/**
 * The statements in the SQL text of one pg query, split where PostgreSQL splits a
 * simple-protocol query string (`BEGIN; INSERT ...; COMMIT` is three statements), with
 * what the transaction tracker (replay.ts) needs of each: its first words.
 *
 * A semicolon ends a statement only outside string literals (`'...'` with `''`, `E'...'`
 * with backslash escapes), quoted identifiers, dollar quotes (`$$...$$`, `$tag$...$tag$`),
 * comments (`-- ...`, nested `/* ... *\/`), parentheses (a multi-action `CREATE RULE`),
 * and the `BEGIN ATOMIC ... END` body of a SQL-standard `CREATE FUNCTION/PROCEDURE`
 * (psql's own heuristic: inside such a statement BEGIN, and CASE within it, open a
 * block that END closes). A `BEGIN` inside any of these is not a transaction. Tokens
 * come from sql-lexer.ts, shared with query-text.ts and read-only.ts.
 *
 * Assumes `standard_conforming_strings = on` (the default since PostgreSQL 9.1): with it
 * off, a backslash escapes a quote in every string.
 */

import { SqlTokenizer } from './sql-lexer.js';

export interface SqlStatement {
  /** The first MAX_WORDS words (keywords and unquoted identifiers) upper-cased; `"` stands for a quoted identifier. */
  readonly words: readonly string[];
}

export const MAX_WORDS = 8;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isRoutineDefinition(words: readonly string[]): boolean {
  if (words[0] !== 'CREATE') return false;
  const kind = words[1] === 'OR' && words[2] === 'REPLACE' ? words[3] : words[1];
  return kind === 'FUNCTION' || kind === 'PROCEDURE';
}

/** The statements of `text`, in order; empty ones (`;;`, only comments) are left out. */
export function splitStatements(text: string): SqlStatement[] {
  const out: SqlStatement[] = [];
  const n = text.length;
  // The last semicolon that can start another statement: trailing ones (`SELECT 1;`) cannot.
  let end = n;
  while (end > 0 && (isSpace(text.charCodeAt(end - 1)) || text.charCodeAt(end - 1) === 59)) end--;
  const lastSemicolon = end > 0 ? text.lastIndexOf(';', end - 1) : -1;
  let words: string[] = [];
  let hasToken = false;
  let parenDepth = 0;
  let blockDepth = 0;
  let routine = false;

  const finish = (): void => {
    if (hasToken) out.push({ words });
    words = [];
    hasToken = false;
    parenDepth = 0;
    blockDepth = 0;
    routine = false;
  };
  const word = (w: string): void => {
    if (words.length < MAX_WORDS) {
      words.push(w);
      if (words.length <= 4) routine = isRoutineDefinition(words);
    }
    if (routine && parenDepth === 0) {
      if (w === 'BEGIN') blockDepth++;
      else if (w === 'CASE') {
        if (blockDepth > 0) blockDepth++;
      } else if (w === 'END' && blockDepth > 0) blockDepth--;
    }
  };

  const tokens = new SqlTokenizer(text);
  for (let kind = tokens.next(); kind !== 'end'; kind = tokens.next()) {
    // Past the last semicolon with the words all taken, nothing more can be learnt.
    if (tokens.start > lastSemicolon && words.length >= MAX_WORDS && !routine) break;
    if (kind === 'symbol') {
      const c = text.charCodeAt(tokens.start);
      if (c === 59) {
        if (parenDepth === 0 && blockDepth === 0) finish();
        continue;
      }
      if (c === 40) parenDepth++;
      else if (c === 41 && parenDepth > 0) parenDepth--;
    } else if (kind === 'word') word(text.slice(tokens.start, tokens.end).toUpperCase());
    else if (kind === 'quoted') word('"');
    hasToken = true;
  }
  finish();
  return out;
}
