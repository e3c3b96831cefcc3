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
 * block that END closes). A `BEGIN` inside any of these is not a transaction.
 *
 * Assumes `standard_conforming_strings = on` (the default since PostgreSQL 9.1): with it
 * off, a backslash escapes a quote in every string.
 */

import { isIdentPart, isIdentStart, skipBlockComment, skipDollarQuote, skipQuotedIdentifier, skipString } from './sql-lexer.js';

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

  let i = 0;
  while (i < n) {
    // Past the last semicolon with the words all taken, nothing more can be learnt.
    if (i > lastSemicolon && words.length >= MAX_WORDS && !routine) break;
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 45 && text.charCodeAt(i + 1) === 45) {
      const newline = text.indexOf('\n', i + 2);
      i = newline < 0 ? n : newline + 1;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 42) {
      i = skipBlockComment(text, i);
      continue;
    }
    if (c === 59) {
      if (parenDepth === 0 && blockDepth === 0) finish();
      i++;
      continue;
    }
    hasToken = true;
    if (c === 39) i = skipString(text, i, false);
    else if (c === 34) {
      i = skipQuotedIdentifier(text, i);
      word('"');
    } else if (c === 36) {
      const end = skipDollarQuote(text, i);
      i = end < 0 ? i + 1 : end;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(text.charCodeAt(j))) j++;
      if (j === i + 1 && (c === 69 || c === 101) && text.charCodeAt(j) === 39) {
        i = skipString(text, j, true); // E'...'
        continue;
      }
      word(text.slice(i, j).toUpperCase());
      i = j;
    } else if (c >= 48 && c <= 57) {
      // A number, with its exponent, fraction or radix letters (1e5, 0x1F, 1.5).
      let j = i + 1;
      while (j < n && (isIdentPart(text.charCodeAt(j)) || text.charCodeAt(j) === 46)) j++;
      i = j;
    } else {
      if (c === 40) parenDepth++;
      else if (c === 41 && parenDepth > 0) parenDepth--;
      i++;
    }
  }
  finish();
  return out;
}
