import { SqlTokenizer } from './sql-lexer.js';

/**
 * Whether the SQL text of one pg query is read-only: running a second copy of it at the
 * same time (a hedged request) can never write anything. Conservative: any doubt is
 * `false`, and a `false` only costs the hedge.
 *
 * Read-only means, for the one statement in the text (a trailing `;` is fine; a second
 * statement is `false`):
 * - it starts with SELECT, VALUES, TABLE or WITH (after opening parentheses, as in
 *   `(SELECT 1) UNION (SELECT 2)`), SHOW, or EXPLAIN without ANALYZE/ANALYSE;
 * - nowhere outside strings, comments and quoted identifiers does it have INTO (SELECT
 *   INTO creates a table), a row lock (FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE, FOR KEY
 *   SHARE), INSERT, UPDATE, DELETE, MERGE (so a WITH with a data-modifying CTE is out),
 *   COPY, CALL, DO, LOCK, ANALYZE or ANALYSE;
 * - it calls no built-in function with a side effect (WRITING_FUNCTIONS below: sequences,
 *   advisory locks, NOTIFY, settings, signals to backends, large objects, dblink,
 *   replication slots and WAL control, transaction ids). Names match case-insensitively,
 *   schema-qualified or not, quoted or not (a call through `U&"..."` is `false`).
 *
 * Breakwater cannot see inside user-defined functions (nor triggers, rules, or
 * operators and casts backed by user functions): a SELECT calling one is accepted. A
 * caller whose SELECT calls a function that writes marks it with
 * `idempotent(() => client.query(...), false)` (src/runtime/idempotency.ts), which
 * stops hedging and retries for it.
 *
 * Lexing follows sql-lexer.ts (`standard_conforming_strings = on`). So that the answer
 * holds whatever the server's setting, a text whose meaning could depend on it is
 * `false`: a string other than `E'...'` that contains a backslash (with the setting off
 * the backslash escapes a quote and the string ends elsewhere). Also `false`: an
 * unterminated string, quoted identifier, dollar quote or block comment, a number run
 * into letters (`1into t`: PostgreSQL before 15 reads `1 into t`), and a NUL character
 * (the protocol ends the text there).
 *
 * Bounded cost: texts over READ_ONLY_MAX_LENGTH characters are `false` unread; shorter
 * ones are read once, in linear time.
 */

/** The longest text that is read (64 KiB of UTF-16 code units); longer is `false`. */
export const READ_ONLY_MAX_LENGTH = 64 * 1024;

const FIRST_WORDS: ReadonlySet<string> = new Set(['SELECT', 'VALUES', 'TABLE', 'WITH', 'SHOW', 'EXPLAIN']);

/** Words that write, lock, or run code breakwater cannot read, wherever they stand. */
const WRITING_WORDS: ReadonlySet<string> = new Set([
  'INTO',
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
  'COPY',
  'CALL',
  'DO',
  'LOCK',
  'ANALYZE', // EXPLAIN ANALYZE runs the statement
  'ANALYSE',
]);

/** After FOR, the start of a row-locking clause (FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE). */
const AFTER_FOR: ReadonlySet<string> = new Set(['UPDATE', 'NO', 'KEY', 'SHARE']);

/** Built-in functions with side effects, lower case. */
const WRITING_FUNCTIONS: ReadonlySet<string> = new Set([
  'nextval',
  'setval',
  'setseed', // changes the session's random sequence
  'pg_notify',
  'set_config',
  'pg_cancel_backend',
  'pg_terminate_backend',
  'pg_reload_conf',
  'pg_switch_wal',
  'pg_switch_xlog', // before PostgreSQL 10
  'pg_drop_replication_slot',
  'pg_replication_slot_advance',
  'pg_sync_replication_slots',
  'pg_create_restore_point',
  'pg_log_standby_snapshot',
  'pg_logical_emit_message',
  'pg_promote',
  'pg_wal_replay_pause',
  'pg_wal_replay_resume',
  'pg_xlog_replay_pause',
  'pg_xlog_replay_resume',
  'pg_backup_start',
  'pg_backup_stop',
  'pg_start_backup',
  'pg_stop_backup',
  'pg_import_system_collations',
  'pg_stat_statements_reset',
  'pg_truncate_visibility_map',
  'loread', // large objects by descriptor
  'lowrite',
  // Assign a transaction id: harmless, but a write as far as the server is concerned.
  'txid_current',
  'pg_current_xact_id',
]);

/** Prefixes of families of them. */
const WRITING_PREFIXES: readonly string[] = [
  'pg_advisory_', // pg_advisory_lock, _lock_shared, _unlock, _unlock_all, _xact_lock, ...
  'pg_try_advisory_',
  'pg_rotate_logfile',
  'lo_', // large objects: lo_import, lo_export (server files), lo_unlink, lo_put, ...
  'dblink', // runs anything on another server
  'pg_replication_origin_',
  'pg_logical_slot_get_', // consumes the slot's changes (the _peek_ ones do not)
  'pg_stat_reset',
  'pg_file_', // adminpack: pg_file_write, pg_file_rename, pg_file_unlink
  'pg_restore_', // PostgreSQL 18: pg_restore_relation_stats, pg_restore_attribute_stats
  'pg_clear_', // pg_clear_relation_stats, pg_clear_attribute_stats
  'binary_upgrade_',
];

/** pg_create_physical_replication_slot, pg_copy_logical_replication_slot, ... */
function isSlotFunction(name: string): boolean {
  return (name.startsWith('pg_create_') || name.startsWith('pg_copy_')) && name.endsWith('_replication_slot');
}

function isWritingFunction(name: string): boolean {
  if (WRITING_FUNCTIONS.has(name) || isSlotFunction(name)) return true;
  for (const prefix of WRITING_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}

/**
 * A number token that no server version reads as a number and a word that matters:
 * decimal with fraction, exponent and `_` separators, or a 0x/0o/0b integer (before
 * PostgreSQL 16, `0` and a name of hex digits, which spells none of the words above).
 * Anything else is a number run into letters (`1into`), which servers before 15 split.
 */
const NUMBER = /^(?:(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+)$/;

/** True when `text` is one read-only statement (see above). Never throws; undefined, empty or unsure: false. */
export function isReadOnlyQuery(text: string | undefined): boolean {
  if (typeof text !== 'string' || text.length > READ_ONLY_MAX_LENGTH) return false;
  // The protocol sends the text NUL-terminated: the server would read only what precedes one.
  if (text.includes('\u0000')) return false;
  try {
    return readOnly(text);
  } catch {
    return false;
  }
}

function readOnly(text: string): boolean {
  const tokens = new SqlTokenizer(text);
  let started = false; // the first word was seen (and is a read-only one)
  let ended = false; // a `;` was seen: only more `;` may follow
  let previousWord = ''; // the word just before, for FOR UPDATE & co.
  // The name just before, called if a `(` follows; null: a name that cannot be read (U&"...").
  let callee: string | null | undefined;
  // The first backslash at or after the current string; only moves forward, so the scan stays linear.
  let backslash = text.indexOf('\\');
  for (let kind = tokens.next(); kind !== 'end'; kind = tokens.next()) {
    const { start, end } = tokens;
    const c = text.charCodeAt(start);
    if (ended) {
      if (kind === 'symbol' && c === 59) continue;
      return false; // a second statement
    }
    if (!started && kind !== 'word' && !(kind === 'symbol' && c === 40)) return false;
    let name: string | null | undefined;
    let word = '';
    switch (kind) {
      case 'word':
        word = text.slice(start, end).toUpperCase();
        if (!started) {
          if (!FIRST_WORDS.has(word)) return false;
          started = true;
        }
        if (WRITING_WORDS.has(word)) return false;
        if (previousWord === 'FOR' && AFTER_FOR.has(word)) return false;
        name = word;
        break;
      case 'quoted':
        name = c === 34 ? text.slice(start + 1, end - 1) : null;
        break;
      case 'symbol':
        if (c === 59) ended = true;
        else if (c === 40 && callee !== undefined && (callee === null || isWritingFunction(callee.toLowerCase()))) return false;
        break;
      case 'string':
        // Outside E'' strings a backslash is literal only with standard_conforming_strings on.
        if (c !== 69 && c !== 101 && backslash >= 0) {
          if (backslash < start) backslash = text.indexOf('\\', start);
          if (backslash >= 0 && backslash < end) return false;
        }
        break;
      case 'number':
        if (!NUMBER.test(text.slice(start, end))) return false;
        break;
      default: // dollar, parameter: nothing to read in them
    }
    previousWord = word;
    callee = name;
  }
  return started && !tokens.unterminated;
}
