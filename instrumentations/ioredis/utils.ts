import type { Attributes, SpanKind } from '@opentelemetry/api';
import { redisTargetKey } from '../../src/target-key.js';
import type { AttemptSpanOptions } from '../../src/telemetry/operation.js';
import {
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_BATCH_SIZE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_REDIS as DB_SYSTEM_NAME_VALUE_REDIS,
} from '../kit/semconv.js';
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

/**
 * Where the attempt goes, as the semantic conventions name it: host and port of a TCP
 * connection (none for a Unix socket or a Sentinel group, whose master is found at
 * connect time), and the database index selected on the connection.
 */
function connectionAttributes(client: IoredisClient): Attributes {
  const attributes: Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_REDIS };
  const options = client.options ?? {};
  const db = client.condition?.select ?? options.db ?? 0;
  if (typeof db === 'number' || typeof db === 'string') attributes[ATTR_DB_NAMESPACE] = String(db);
  if (options.sentinels === undefined || options.sentinels === null) {
    if (typeof options.path !== 'string' || options.path === '') {
      attributes[ATTR_SERVER_ADDRESS] = typeof options.host === 'string' && options.host !== '' ? options.host : 'localhost';
      const port = typeof options.port === 'number' ? options.port : Number(options.port ?? 6379);
      if (Number.isInteger(port) && port > 0) attributes[ATTR_SERVER_PORT] = port;
    }
  }
  return attributes;
}

/** The attempt span of one command (`GET`) or one batch (`PIPELINE`, `MULTI` with its size). Never arguments. */
export function attemptSpanOf(client: IoredisClient, operation: string, kind: SpanKind, batchSize?: number): AttemptSpanOptions {
  const attributes = connectionAttributes(client);
  attributes[ATTR_DB_OPERATION_NAME] = operation;
  if (batchSize !== undefined) attributes[ATTR_DB_OPERATION_BATCH_SIZE] = batchSize;
  return { name: operation, kind, attributes };
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
