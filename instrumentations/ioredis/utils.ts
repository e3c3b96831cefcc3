import { context, SpanKind } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { attemptSpanKind } from '../kit/calls.js';
import { redisTargetKey } from '../../src/target-key.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { AttemptSpanOptions } from '../../src/telemetry/operation.js';
import {
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_BATCH_SIZE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_REDIS as DB_SYSTEM_NAME_VALUE_REDIS,
} from '../kit/semconv.js';
import { redisDuration } from '../redis/telemetry.js';
import type { IoredisClient } from './types.js';

/** Target keys per options object: options do not change after the client is built. */
const targets = new WeakMap<object, string>();

/** `redis://host:port/db` from the client's options (never the password or user name). */
export function targetOf(client: IoredisClient): string {
  const options = client.options;
  if (typeof options !== 'object' || options === null) return redisTargetKey(undefined);
  let target = targets.get(options);
  if (target === undefined) {
    target = redisTargetKey(options);
    targets.set(options, target);
  }
  return target;
}

/** Connection attributes per options object and selected database, built once and frozen. */
const connections = new WeakMap<object, Map<string, Readonly<Attributes>>>();

/**
 * Where the attempt goes, as the semantic conventions name it: host and port of a TCP
 * connection (none for a Unix socket or a Sentinel group, whose master is found at
 * connect time), and the database index selected on the connection.
 */
function connectionAttributes(client: IoredisClient): Readonly<Attributes> {
  const options = client.options ?? {};
  const db = client.condition?.select ?? options.db ?? 0;
  const dbText = typeof db === 'number' || typeof db === 'string' ? String(db) : undefined;
  let byDb = connections.get(options);
  if (byDb === undefined) {
    byDb = new Map();
    connections.set(options, byDb);
  }
  const key = dbText ?? '';
  let attributes = byDb.get(key);
  if (attributes === undefined) {
    const built: Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_REDIS };
    if (dbText !== undefined) built[ATTR_DB_NAMESPACE] = dbText;
    if (options.sentinels === undefined || options.sentinels === null) {
      if (typeof options.path !== 'string' || options.path === '') {
        built[ATTR_SERVER_ADDRESS] = typeof options.host === 'string' && options.host !== '' ? options.host : 'localhost';
        const port = typeof options.port === 'number' ? options.port : Number(options.port ?? 6379);
        if (Number.isInteger(port) && port > 0) built[ATTR_SERVER_PORT] = port;
      }
    }
    attributes = Object.freeze(built);
    if (byDb.size < 16) byDb.set(key, attributes); // SELECT moves a connection among a few databases
  }
  return attributes;
}

/**
 * The attempt span of one command (`GET`) or one batch (`PIPELINE`, `MULTI` with its
 * size): `spanName` upper-cased, `db.operation.name` as ioredis holds it (`get`: the
 * official instrumentation's value, the conventions advise no case normalisation),
 * `db.query.text` with values masked (../redis/telemetry.ts), and the duration metric.
 */
export function attemptSpanOf(client: IoredisClient, spanName: string, operation: string, queryText: string, kind: SpanKind, batchSize?: number): AttemptSpanOptions {
  const connection = connectionAttributes(client);
  const attributes: Attributes = { ...connection, [ATTR_DB_OPERATION_NAME]: operation, [ATTR_DB_QUERY_TEXT]: queryText };
  if (batchSize !== undefined) attributes[ATTR_DB_OPERATION_BATCH_SIZE] = batchSize;
  return { name: spanName, kind, attributes, duration: redisDuration(connection, operation) };
}

/**
 * A call's attempt span options, built only when an SDK will record the call (nothing
 * reads them otherwise). The kind is INTERNAL when another instrumentation wrapped
 * ioredis over breakwater (its span is the CLIENT one; kit/calls.ts), CLIENT otherwise;
 * `wrappedByOthers` is asked either way, since asking schedules the re-layering.
 */
export function attemptSpanIfRecorded(
  runtime: Runtime,
  wrappedByOthers: () => boolean,
  build: (kind: SpanKind) => AttemptSpanOptions,
): AttemptSpanOptions | undefined {
  const wrapped = wrappedByOthers();
  if (!runtime.telemetryActive()) return undefined;
  return build(wrapped ? SpanKind.INTERNAL : attemptSpanKind(context.active()));
}

/** Commands of the connection set-up ioredis sends itself while connecting. */
const HANDSHAKE_COMMANDS: ReadonlySet<string> = new Set(['auth', 'hello', 'select', 'client', 'readonly', 'info']);

/**
 * Commands that wait by design (BLPOP 0 waits for ever; SUBSCRIBE and MONITOR turn the
 * connection into a stream of messages): an attempt timeout would cut them, a retry
 * makes no sense. XREAD/XREADGROUP only with BLOCK.
 */
const LONG_LIVED_COMMANDS: ReadonlySet<string> = new Set([
  'blpop', 'brpop', 'brpoplpush', 'blmove', 'blmovem', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop',
  'subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'monitor',
]);

function hasBlockOption(args: readonly unknown[]): boolean {
  return args.some((arg) => typeof arg === 'string' && arg.length === 5 && arg.toUpperCase() === 'BLOCK');
}

/**
 * Commands sent straight to ioredis, not as a logical call: ioredis's own connection
 * set-up (AUTH, HELLO, SELECT, CLIENT SETINFO, the INFO ready check) while connecting,
 * and the long-lived commands above.
 */
export function isPassThroughCommand(client: IoredisClient, name: string, args: readonly unknown[]): boolean {
  if (client.status === 'connect' && HANDSHAKE_COMMANDS.has(name)) return true;
  if (LONG_LIVED_COMMANDS.has(name)) return true;
  return (name === 'xread' || name === 'xreadgroup') && hasBlockOption(args);
}

/** Span and operation names of the two batch forms (a Redis command name for single commands). */
export const OPERATION_PIPELINE = 'PIPELINE';
export const OPERATION_MULTI = 'MULTI';
