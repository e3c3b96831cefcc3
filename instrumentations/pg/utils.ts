import { annotateFailureCode } from '../kit/failure-code.js';
import type { Attributes, SpanKind } from '@opentelemetry/api';
import { sqlstateOf } from '../../src/classify/pg.js';
import { isObjectLike, readCode } from '../../src/classify/safe.js';
import type { Attempt } from '../../src/engine/attempt.js';
import { pgTargetKey } from '../../src/target-key.js';
import type { AttemptSpanOptions } from '../../src/telemetry/operation.js';
import { pgStatementOf, UNKNOWN_STATEMENT, type PgStatement } from './replay.js';
import {
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_POSTGRESQL_PLAN,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_QUERY_TEXT_MAX,
  DB_SYSTEM_POSTGRESQL,
} from '../kit/semconv.js';
import { pgQueryText } from './query-text.js';
import { splitStatements } from './statements.js';

// ---------------------------------------------------------------------------------------
// The SQL text of a call

/** What the adapter needs of a query's SQL text: its replay facts and its operation name. */
export interface QueryDescription {
  readonly statement: PgStatement;
  /** `db.operation.name`: an SQL command keyword, never anything the caller wrote freely. */
  readonly operation: string | undefined;
}

/**
 * PostgreSQL's SQL commands (the first keyword of every statement in its reference).
 * Only these become `db.operation.name`: a text that starts with anything else (a typo,
 * a value pasted where SQL belongs) must not reach a span name, where it could leak a
 * secret or explode the name space.
 */
const SQL_COMMANDS: ReadonlySet<string> = new Set([
  'ABORT', 'ALTER', 'ANALYZE', 'BEGIN', 'CALL', 'CHECKPOINT', 'CLOSE', 'CLUSTER', 'COMMENT', 'COMMIT', 'COPY',
  'CREATE', 'DEALLOCATE', 'DECLARE', 'DELETE', 'DISCARD', 'DO', 'DROP', 'END', 'EXECUTE', 'EXPLAIN', 'FETCH',
  'GRANT', 'IMPORT', 'INSERT', 'LISTEN', 'LOAD', 'LOCK', 'MERGE', 'MOVE', 'NOTIFY', 'PREPARE', 'REASSIGN',
  'REFRESH', 'REINDEX', 'RELEASE', 'RESET', 'REVOKE', 'ROLLBACK', 'SAVEPOINT', 'SECURITY', 'SELECT', 'SET',
  'SHOW', 'START', 'TABLE', 'TRUNCATE', 'UNLISTEN', 'UPDATE', 'VACUUM', 'VALUES', 'WITH',
]);

const UNKNOWN_DESCRIPTION: QueryDescription = Object.freeze({ statement: UNKNOWN_STATEMENT, operation: undefined });

/**
 * Applications send the same few texts over and over: their descriptions are kept
 * (bounded, short texts only) so the hot path reads the SQL once per text, not per call.
 */
const CACHE_LIMIT = 512;
const CACHEABLE_LENGTH = 4096;
const cache = new Map<string, QueryDescription>();

function operationOf(firstWords: readonly (string | undefined)[]): string | undefined {
  if (firstWords.length === 0) return undefined;
  const first = firstWords[0];
  const same = firstWords.every((w) => w === first);
  // The semantic conventions name a batch `BATCH <operation>` when its operations agree.
  if (firstWords.length > 1) return same && first !== undefined && SQL_COMMANDS.has(first) ? `BATCH ${first}` : 'BATCH';
  return first !== undefined && SQL_COMMANDS.has(first) ? first : undefined;
}

/** Reads a query's SQL text (a string; anything else is unknown). Never throws. */
export function describeQuery(text: unknown): QueryDescription {
  if (typeof text !== 'string') return UNKNOWN_DESCRIPTION;
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  let description: QueryDescription;
  try {
    const statements = splitStatements(text);
    description = { statement: pgStatementOf(statements), operation: operationOf(statements.map((s) => s.words[0])) };
  } catch {
    return UNKNOWN_DESCRIPTION;
  }
  if (text.length <= CACHEABLE_LENGTH) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(text, description);
  }
  return description;
}

/** A query config's `text` (`client.query({ text })`, a Submittable's `text`), without throwing. */
export function queryTextOf(config: unknown): unknown {
  if (typeof config === 'string') return config;
  try {
    return (config as { text?: unknown } | null | undefined)?.text;
  } catch {
    return undefined;
  }
}

/** A pg Submittable (pg-cursor, pg-query-stream, `new Query()`): pg drives it itself. */
export function isSubmittable(config: unknown): boolean {
  try {
    return typeof (config as { submit?: unknown } | null | undefined)?.submit === 'function';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Where the call goes

/** A target key and the span attributes that name the same endpoint. */
export interface PgEndpoint {
  readonly target: string;
  /** db.system.name, db.namespace, server.address, server.port (what is known). */
  readonly attributes: Readonly<Attributes>;
  /** The database, or the address when there is none: the span name's `{target}`. */
  readonly spanTarget: string;
  /** Attempt span shapes by operation, built once (bounded: operations come from SQL_COMMANDS). */
  readonly spans: Map<string | undefined, AttemptSpanShape>;
}

export interface AttemptSpanShape {
  readonly name: string;
  /**
   * What every attempt of this endpoint and operation shares, frozen: exactly the
   * attributes the official pg instrumentation gives `db.client.operation.duration`
   * (db.system.name, db.namespace, server.address, server.port, db.operation.name).
   */
  readonly attributes: Attributes;
  readonly duration: NonNullable<AttemptSpanOptions['duration']>;
}

const KEY_SHAPE = /^postgresql(\+unix)?:\/\/(\[[^\]]+\]|[^/:]+):(\d+)(?:\/(.*))?$/;

/**
 * The endpoint of a pg Client or Pool, read from its target key: the key already holds
 * exactly what may be shown (no user, no password, no query parameters), so the span
 * attributes can never say more than the key. A unix socket's directory is left out of
 * `server.address` as it is of the key (it may name a user).
 */
export function endpointOf(config: unknown): PgEndpoint {
  const target = pgTargetKey(config);
  const attributes: Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_POSTGRESQL };
  const match = KEY_SHAPE.exec(target);
  let spanTarget = DB_SYSTEM_POSTGRESQL;
  if (match !== null) {
    const [, unix, host, port, database] = match;
    if (unix === undefined && host !== undefined && port !== undefined) {
      attributes[ATTR_SERVER_ADDRESS] = host.startsWith('[') ? host.slice(1, -1) : host;
      attributes[ATTR_SERVER_PORT] = Number(port);
      spanTarget = `${host}:${port}`;
    }
    if (database !== undefined && database !== '') {
      attributes[ATTR_DB_NAMESPACE] = safeDecode(database);
      spanTarget = attributes[ATTR_DB_NAMESPACE] as string;
    }
  }
  return { target, attributes: Object.freeze(attributes), spanTarget, spans: new Map() };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The attempt span's name and attributes: `<db.operation.name> <target>` (semantic conventions). */
export function attemptSpanOf(endpoint: PgEndpoint, operation: string | undefined): AttemptSpanShape {
  let shape = endpoint.spans.get(operation);
  if (shape === undefined) {
    const attributes: Attributes =
      operation === undefined ? endpoint.attributes : Object.freeze({ ...endpoint.attributes, [ATTR_DB_OPERATION_NAME]: operation });
    shape = {
      name: operation === undefined ? endpoint.spanTarget : `${operation} ${endpoint.spanTarget}`,
      attributes,
      duration: Object.freeze({ kind: 'db' as const, attributes }),
    };
    endpoint.spans.set(operation, shape);
  }
  return shape;
}

/** A query config's prepared-statement `name`, without throwing. */
function planNameOf(config: unknown): string | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  try {
    const name = (config as { name?: unknown }).name;
    return typeof name === 'string' && name !== '' ? name.slice(0, DB_QUERY_TEXT_MAX) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One call's attempt span: the shape's attributes plus what the official pg
 * instrumentation adds per query, `db.query.text` (sanitised: query-text.ts) and
 * `db.postgresql.plan` (a named prepared statement). `innerRecordsDuration`: an
 * OpenTelemetry instrumentation wrapped inside breakwater records the duration metric of
 * each attempt itself, so breakwater records none (one point per attempt in all).
 */
export function attemptSpanOptions(shape: AttemptSpanShape, config: unknown, kind: SpanKind, innerRecordsDuration: boolean): AttemptSpanOptions {
  const attributes: Attributes = { ...shape.attributes };
  const text = queryTextOf(config);
  if (typeof text === 'string') attributes[ATTR_DB_QUERY_TEXT] = pgQueryText(text);
  const plan = planNameOf(config);
  if (plan !== undefined) attributes[ATTR_DB_POSTGRESQL_PLAN] = plan;
  return { name: shape.name, kind, attributes, duration: innerRecordsDuration ? undefined : shape.duration };
}

/** The SQLSTATE a failure carries (the server's error), if any. */
export function sqlstateOfFailure(error: unknown): string | undefined {
  if (!isObjectLike(error)) return undefined;
  try {
    const code = readCode(error);
    return typeof code === 'string' ? sqlstateOf(error, code) : undefined;
  } catch {
    return undefined;
  }
}

/** A failed attempt's SQLSTATE as `db.response.status_code` and `error.type` (kit/failure-code.ts). */
export function annotatePgFailure(attempt: Attempt | undefined, error: unknown): void {
  annotateFailureCode(attempt, sqlstateOfFailure(error));
}
