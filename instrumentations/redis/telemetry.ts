import { annotateFailureCode } from '../kit/failure-code.js';
import type { Attributes } from '@opentelemetry/api';
import { isReplyErrorName, replyPrefix } from '../../src/classify/redis.js';
import { effectiveName, isObjectLike, readMessage, readName } from '../../src/classify/safe.js';
import type { Attempt } from '../../src/engine/attempt.js';
import type { AttemptSpanOptions } from '../../src/telemetry/operation.js';
import { telemetrySettings } from '../../src/telemetry/settings.js';
import { ATTR_DB_OPERATION_NAME, DB_QUERY_TEXT_MAX } from '../kit/semconv.js';

/**
 * The telemetry both Redis adapters (ioredis, node-redis) share: `db.query.text` as the
 * official instrumentations serialise a command, the duration metric's attributes, and
 * the error attributes of a failed attempt.
 */

// ---------------------------------------------------------------------------------------
// db.query.text

/**
 * How many arguments of a command are shown, as @opentelemetry/redis-common's
 * defaultDbStatementSerializer (0.38) decides it: the ones that name keys (and fields),
 * never a value written. -1 shows all; a command matching none shows none.
 */
const SERIALIZATION_SUBSETS: ReadonlyArray<{ regex: RegExp; args: number }> = [
  { regex: /^ECHO/i, args: 0 },
  { regex: /^(GETSET|LPUSH|MSET|PFA|PSETEX|PUBLISH|RPUSH|SADD|SET|SPUBLISH|XADD|ZADD)/i, args: 1 },
  { regex: /^(HSET|HMSET|LSET|LINSERT)/i, args: 2 },
  { regex: /^(ACL|CONFIG)/i, args: 1 },
  {
    regex: /^(BIT|B[LRZ]|CLIENT|CLUSTER|COMMAND|DECR|DEL|EVAL|EX|FUNCTION|GEO|GET|HINCR|HMGET|HSCAN|INCR|L[TRLM]|MEMORY|P[EFISTU]|RPOP|S[CDIMORSU]|XACK|X[CDGILPRT]|Z[CDILMPRS])/i,
    args: -1,
  },
];

/**
 * Scripts and functions: the official serializer shows all their arguments, script
 * source included, and both may hold values (often tokens). Shown here: the SHA or the
 * function's name (the source of EVAL as `?`), the key count and the keys.
 */
const SCRIPT_COMMANDS = /^(EVAL|EVALSHA|EVAL_RO|EVALSHA_RO|FCALL|FCALL_RO)$/i;
const SCRIPT_SOURCE_COMMANDS = /^(EVAL|EVAL_RO)$/i;

function shownArguments(name: string, args: readonly unknown[]): number {
  if (SCRIPT_COMMANDS.test(name)) {
    const keys = Number(argumentText(args[1]));
    return Number.isInteger(keys) && keys >= 0 ? Math.min(args.length, 2 + keys) : Math.min(args.length, 2);
  }
  const subset = SERIALIZATION_SUBSETS.find(({ regex }) => regex.test(name));
  const count = subset?.args ?? 0;
  return count < 0 ? args.length : Math.min(args.length, count);
}

function argumentText(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (Buffer.isBuffer(arg)) return arg.toString();
  return String(arg);
}

/**
 * `db.query.text` of one command: `SET key [1 other arguments]`, `GET key`, `AUTH [1 other
 * arguments]`, as the official serializer writes it, cut at DB_QUERY_TEXT_MAX characters
 * (built only that far: a command with a million keys costs no more).
 */
export function redisQueryText(name: string, args: readonly unknown[], max = DB_QUERY_TEXT_MAX): string {
  if (args.length === 0) return name.slice(0, max);
  const shown = shownArguments(name, args);
  let text = name;
  const hideFirst = SCRIPT_SOURCE_COMMANDS.test(name);
  for (let i = 0; i < shown && text.length < max; i++) text += ' ' + (i === 0 && hideFirst ? '?' : argumentText(args[i]));
  if (shown < args.length && text.length < max) text += ` [${args.length - shown} other arguments]`;
  return text.length > max ? text.slice(0, max) : text;
}

/**
 * A batch's text: its commands' texts joined by `; ` (the conventions' batch form), cut
 * at the same length. `commandAt(i)` gives the i-th command's name and arguments; only
 * the commands that fit are read.
 */
export function redisBatchQueryText(count: number, commandAt: (i: number) => { name: string; args: readonly unknown[] }, max = DB_QUERY_TEXT_MAX): string {
  let text = '';
  for (let i = 0; i < count && text.length < max; i++) {
    const { name, args } = commandAt(i);
    text += (i === 0 ? '' : '; ') + redisQueryText(name, args, max);
  }
  return text.length > max ? text.slice(0, max) : text;
}

// ---------------------------------------------------------------------------------------
// The duration metric

const OPERATIONS_PER_CONNECTION = 256;
const byConnection = new WeakMap<object, Map<string, NonNullable<AttemptSpanOptions['duration']>>>();

/**
 * `db.client.operation.duration`'s attributes for one connection and operation: the
 * connection's (db.system.name, server.address, server.port, db.namespace when known)
 * and db.operation.name. Built once and frozen; the connection's attributes object must
 * be a shared one (the adapters cache theirs per client). undefined unless asked for
 * (telemetrySettings().redisDurationMetric): the official Redis instrumentations record
 * no metric.
 */
export function redisDuration(connection: Readonly<Attributes>, operation: string): AttemptSpanOptions['duration'] {
  if (!telemetrySettings().redisDurationMetric) return undefined;
  let operations = byConnection.get(connection);
  if (operations === undefined) {
    operations = new Map();
    byConnection.set(connection, operations);
  }
  let duration = operations.get(operation);
  if (duration === undefined) {
    duration = Object.freeze({ kind: 'db' as const, attributes: Object.freeze({ ...connection, [ATTR_DB_OPERATION_NAME]: operation }) });
    // Command names come from the application's code, but a bound keeps a runaway one in check.
    if (operations.size < OPERATIONS_PER_CONNECTION) operations.set(operation, duration);
  }
  return duration;
}

// ---------------------------------------------------------------------------------------
// Failures

/** The Redis error prefix of a reply error (`WRONGTYPE`, `ERR`, `NOAUTH`), the conventions' db.response.status_code. */
export function redisStatusCodeOf(error: unknown): string | undefined {
  if (!isObjectLike(error)) return undefined;
  try {
    const name = readName(error);
    const isReply = isReplyErrorName(effectiveName(error, typeof name === 'string' ? name : undefined));
    const message = readMessage(error);
    return isReply && typeof message === 'string' ? replyPrefix(message) : undefined;
  } catch {
    return undefined;
  }
}

/** A failed attempt's Redis error prefix as `db.response.status_code` and `error.type` (kit/failure-code.ts). */
export function annotateRedisFailure(attempt: Attempt | undefined, error: unknown): void {
  let code: string | undefined;
  try {
    code = redisStatusCodeOf(error);
  } catch {
    return;
  }
  annotateFailureCode(attempt, code);
}

/**
 * Returns `pending` itself, having registered (before the engine does) a reaction that
 * annotates a failure: its rejection, or the error `failureOf` finds in its result (a
 * pipeline's replies). The engine's own reaction then runs in the same tick as before,
 * with the attributes already on the attempt.
 */
export function annotatingFailure<T>(attempt: Attempt, pending: Promise<T>, failureOf?: (result: T) => unknown): Promise<T> {
  try {
    pending.then(
      (result) => {
        if (failureOf !== undefined) annotateRedisFailure(attempt, failureOf(result));
      },
      (error: unknown) => annotateRedisFailure(attempt, error),
    );
  } catch {
    // not a real promise: nothing to annotate
  }
  return pending;
}
