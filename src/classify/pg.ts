import { makeResult, ResultCache, type ResultOverrides } from './defaults.js';
import { readProperty } from './safe.js';
import type { Classification, ErrorCategory } from './types.js';

/**
 * PostgreSQL errors, recognised by shape: pg's DatabaseError (and postgres.js's
 * PostgresError) carry the SQLSTATE in `code` next to the server's `severity` and
 * `routine`. Never by `instanceof`: the application's copy of pg is not ours.
 */

export const PG_SQLSTATE_RULE = 'builtin:pg.sqlstate';
export const PG_MESSAGE_RULE = 'builtin:pg.message';

function isSqlstateChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90);
}

/**
 * The SQLSTATE of `node`, whose `code` has been read as `code`: five digits or upper-case
 * letters, on an object that also carries a string `severity` or `routine`. A code
 * starting with a digit needs no such company (no Node, undici or Redis code does), so
 * a hand-built `{ code: '40001' }` counts too. `EPIPE` is five upper-case letters as
 * well, which is why letter-first codes need the company.
 */
export function sqlstateOf(node: object, code: string | undefined): string | undefined {
  if (code === undefined || code.length !== 5) return undefined;
  for (let i = 0; i < 5; i++) if (!isSqlstateChar(code.charCodeAt(i))) return undefined;
  const first = code.charCodeAt(0);
  if (first >= 48 && first <= 57) return code;
  if (typeof readProperty(node, 'severity') === 'string' || typeof readProperty(node, 'routine') === 'string') return code;
  return undefined;
}

type Entry = { category: ErrorCategory } & ResultOverrides;

/** Codes decided on their own, before their class. */
const BY_CODE: Readonly<Record<string, Entry>> = {
  '3D000': { category: 'configuration' }, // invalid_catalog_name: the database does not exist
  '3F000': { category: 'configuration' }, // invalid_schema_name
  '42P01': { category: 'configuration' }, // undefined_table: schema not migrated, or wrong database
  '42703': { category: 'configuration' }, // undefined_column
  '42601': { category: 'validation' }, // syntax_error
  '42501': { category: 'authorization' }, // insufficient_privilege
  '40001': { category: 'concurrency' }, // serialization_failure
  '40P01': { category: 'concurrency' }, // deadlock_detected
  '40002': { category: 'data_integrity' }, // transaction_integrity_constraint_violation
  '55P03': { category: 'concurrency' }, // lock_not_available (NOWAIT, lock_timeout)
  '55006': { category: 'concurrency' }, // object_in_use
  '57014': { category: 'timeout' }, // query_canceled: statement_timeout (or pg_cancel_backend)
  '25006': { category: 'external_service' }, // read_only_sql_transaction: a replica after failover, like Redis READONLY
  P0002: { category: 'not_found' }, // no_data_found (PL/pgSQL STRICT)
  XX001: { category: 'external_service', transient: false, severity: 'critical' }, // data_corrupted
  XX002: { category: 'external_service', transient: false, severity: 'critical' }, // index_corrupted
};

/** The SQLSTATE class (first two characters) when the code has no entry of its own. */
const BY_CLASS: Readonly<Record<string, ErrorCategory>> = {
  '08': 'network', // connection exception
  '0A': 'validation', // feature not supported
  '0B': 'validation', // invalid transaction initiation
  '21': 'validation', // cardinality violation
  '22': 'validation', // data exception (22012 division_by_zero, 22P02 invalid_text_representation)
  '23': 'data_integrity', // integrity constraint violation (23505 unique, 23502 not null, 23514 check)
  '24': 'validation', // invalid cursor state
  '25': 'validation', // invalid transaction state (25P02: statement in an aborted transaction)
  '26': 'validation', // invalid SQL statement name
  '27': 'data_integrity', // triggered data change violation
  '28': 'authentication', // invalid authorization specification (28P01 password, 28000)
  '2D': 'validation', // invalid transaction termination
  '34': 'validation', // invalid cursor name
  '3B': 'validation', // savepoint exception
  '3D': 'configuration', // invalid catalog name
  '3F': 'configuration', // invalid schema name
  '40': 'concurrency', // transaction rollback
  '42': 'validation', // syntax error or access rule violation
  '44': 'data_integrity', // WITH CHECK OPTION violation
  '53': 'resource', // insufficient resources (53300 too_many_connections, 53100 disk_full)
  '54': 'validation', // program limit exceeded
  '57': 'external_service', // operator intervention (57P01 admin_shutdown, 57P03 cannot_connect_now)
  '58': 'external_service', // system error (I/O) on the server
  F0: 'configuration', // configuration file error
  P0: 'business_logic', // PL/pgSQL: P0001 raise_exception, P0004 assert_failure
  XX: 'external_service', // internal error (XX000)
};

function buildSqlstateResult(sqlstate: string): Classification {
  const entry = BY_CODE[sqlstate];
  if (entry !== undefined) return makeResult(entry.category, sqlstate, PG_SQLSTATE_RULE, entry);
  const category = BY_CLASS[sqlstate.slice(0, 2)] ?? 'unknown';
  return makeResult(category, sqlstate, PG_SQLSTATE_RULE);
}

const cache = new ResultCache(1024);

/** The shared classification of a SQLSTATE (see docs/classification.md for the table). */
export function classifySqlstate(sqlstate: string): Classification {
  return cache.lookup(sqlstate) ?? cache.remember(sqlstate, buildSqlstateResult(sqlstate));
}

/**
 * pg's and pg-pool's own errors, which carry no SQLSTATE: plain `Error`s known by their
 * exact message (pg/lib/client.js, pg-pool/index.js). Their code is `timeout` for the
 * timeouts and the error name otherwise.
 */
export const PG_MESSAGES: ReadonlyMap<string, Classification> = new Map([
  ['Connection terminated unexpectedly', makeResult('network', 'Error', PG_MESSAGE_RULE)],
  // Queries still queued when the client was ended.
  ['Connection terminated', makeResult('network', 'Error', PG_MESSAGE_RULE)],
  ['Client has encountered a connection error and is not queryable', makeResult('network', 'Error', PG_MESSAGE_RULE)],
  ['Client was closed and is not queryable', makeResult('network', 'Error', PG_MESSAGE_RULE)],
  ['Query read timeout', makeResult('timeout', 'timeout', PG_MESSAGE_RULE)],
  ['timeout exceeded when trying to connect', makeResult('timeout', 'timeout', PG_MESSAGE_RULE)],
  ['Connection terminated due to connection timeout', makeResult('timeout', 'timeout', PG_MESSAGE_RULE)],
  // Client#connect's own connectionTimeoutMillis destroys the socket with this error.
  ['timeout expired', makeResult('timeout', 'timeout', PG_MESSAGE_RULE)],
  ['The server does not support SSL connections', makeResult('configuration', 'Error', PG_MESSAGE_RULE)],
  ['There was an error establishing an SSL connection', makeResult('configuration', 'Error', PG_MESSAGE_RULE)],
]);
