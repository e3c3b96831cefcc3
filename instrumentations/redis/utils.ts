import type { Attributes } from '@opentelemetry/api';
import { redisTargetKey } from '../../src/target-key.js';
import {
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_REDIS,
} from '../kit/semconv.js';

/** What every call of one client shares: its target key and connection attributes. */
export interface Connection {
  readonly target: string;
  readonly attributes: Readonly<Attributes>;
}

const COMMAND_NAME = /^[A-Za-z][A-Za-z0-9_.|-]{0,39}$/;

/**
 * The command's name for span names and `db.operation.name`: the first word,
 * upper-cased. Anything that does not look like a command name (a user's value sent
 * as the first argument by mistake) becomes `UNKNOWN`, so no argument reaches a span.
 */
export function commandName(first: unknown): string {
  let text: string | undefined;
  if (typeof first === 'string') text = first;
  else if (Buffer.isBuffer(first) && first.length <= 40) text = first.toString('latin1');
  return text !== undefined && COMMAND_NAME.test(text) ? text.toUpperCase() : 'UNKNOWN';
}

/**
 * `db.operation.name` of a command: its name as the application gave it (the
 * conventions advise no case normalisation; the official instrumentations record it so),
 * or `UNKNOWN` when it does not look like a command name.
 */
export function operationName(first: unknown): string {
  let text: string | undefined;
  if (typeof first === 'string') text = first;
  else if (Buffer.isBuffer(first) && first.length <= 40) text = first.toString('latin1');
  return text !== undefined && COMMAND_NAME.test(text) ? text : 'UNKNOWN';
}

/** `redis://host:port/db` (and `rediss://`), as src/target-key.ts writes them. */
const TCP_KEY = /^rediss?:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/(\d+)$/;

const connections = new WeakMap<object, Connection>();

/**
 * The target key and span attributes of a node-redis client, from its options (the
 * parsed URL, `socket`, `database`). Both come from the target key, which never holds
 * a user name, password or path: the attributes cannot carry more than the key does.
 * Cached per options object (one per client).
 */
export function connectionOf(options: unknown): Connection {
  const cacheable = typeof options === 'object' && options !== null;
  if (cacheable) {
    const known = connections.get(options);
    if (known !== undefined) return known;
  }
  const target = redisTargetKey(options ?? {});
  const attributes: Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_REDIS };
  const tcp = TCP_KEY.exec(target);
  if (tcp !== null) {
    attributes[ATTR_SERVER_ADDRESS] = tcp[1]!.replace(/^\[|\]$/g, '');
    attributes[ATTR_SERVER_PORT] = Number(tcp[2]);
    attributes[ATTR_DB_NAMESPACE] = tcp[3]!;
  } else {
    const db = /\/(\d+)$/.exec(target);
    if (db !== null) attributes[ATTR_DB_NAMESPACE] = db[1]!;
  }
  const connection: Connection = { target, attributes: Object.freeze(attributes) };
  if (cacheable) connections.set(options, connection);
  return connection;
}

/** The attempt span's attributes: the connection's, the operation's name and the (masked) query text. */
export function operationAttributes(connection: Connection, operation: string, queryText: string, extra?: Attributes): Attributes {
  return { ...connection.attributes, [ATTR_DB_OPERATION_NAME]: operation, [ATTR_DB_QUERY_TEXT]: queryText, ...extra };
}
