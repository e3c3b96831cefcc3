import { collectChain } from '../../src/classify/chain.js';
import { isObjectLike, readMessage } from '../../src/classify/safe.js';
import type { ReplayDecision } from '../../src/engine/policy.js';
import { isConnectFailure } from '../connect-failure.js';

/**
 * Whether a failed Redis command (ioredis or node-redis) may be sent again
 * (design.md section 3).
 *
 * A command whose reply was lost may have run. It is replayed only when running it a
 * second time is harmless: it reads, or it writes a state that a second run leaves as
 * the first did (SET, DEL, SADD, EXPIREAT). Everything else is sent once: commands that
 * add or take something each time (INCR, LPUSH, LPOP, XADD, PUBLISH), commands whose
 * reply is the point and would be wrong the second time (SET ... GET answers with the
 * value the first run wrote; SETNX answers "someone else holds the lock" to the caller
 * that took it), relative TTLs (EXPIRE key 60 means 60 s from the caller's call, which a
 * replay cannot keep), scripts (EVAL: breakwater cannot see what they do), and every
 * command not in the table below. Never inside MULTI/EXEC: the transaction is the
 * caller's. A command that provably never left the process (the connection could not be
 * made; node-redis's "client is closed/offline"; ioredis's "Stream isn't writeable")
 * may always be sent again.
 *
 * docs/replay-safety.md gives the table with the reason for each debatable entry. A
 * replayed counting write may answer less than the lost reply would have (DEL, SADD,
 * HSET count what they changed, and the second run changes nothing): a caller that
 * treats such a count as "I was first" should mark the call not idempotent
 * (`markedIdempotent: false`).
 */

/** What a command is, for replay: only `read` and `write` are replayed. */
export type RedisCommandKind =
  | 'read' // changes nothing
  | 'write' // a second run leaves the state the first left
  | 'previous_value' // answers with the state before the write: a replay answers with its own
  | 'claim' // writes only if absent (or equal) and answers whether it did: a replay answers "no"
  | 'relative_ttl' // a deadline relative to when it runs: a replay moves it
  | 'not_idempotent' // each run adds, takes, sends or moves something again, or fails the second time
  | 'script' // EVAL, EVALSHA, FCALL: effects unknown
  | 'transaction' // MULTI, EXEC, DISCARD, WATCH, UNWATCH
  | 'unknown'; // not in the table

/** A command's kind, or how to tell it from the arguments. */
export type RedisCommandRule = RedisCommandKind | ((args: readonly unknown[]) => RedisCommandKind);

/** An argument as text for comparing: strings as they are, Buffers byte for byte, numbers in decimal. */
function argText(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'number' || typeof arg === 'bigint') return String(arg);
  if (ArrayBuffer.isView(arg)) return Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength).toString('latin1');
  return undefined;
}

const TOKEN_MAX = 32;

/** An argument as an upper-cased option token; undefined for anything longer than any option. */
function token(arg: unknown): string | undefined {
  if (ArrayBuffer.isView(arg) && arg.byteLength > TOKEN_MAX) return undefined;
  const text = argText(arg);
  return text !== undefined && text.length <= TOKEN_MAX ? text.toUpperCase() : undefined;
}

function integer(arg: unknown): number | undefined {
  const text = argText(arg);
  return text !== undefined && /^-?\d{1,18}$/.test(text) ? Number(text) : undefined;
}

/** Whether `dest` is one of `sources`: a STORE into its own input reapplies the operation to its result. */
function storesIntoSource(dest: unknown, sources: readonly unknown[]): boolean {
  const d = argText(dest);
  if (d === undefined) return true; // cannot tell: assume the worst
  return sources.some((s) => argText(s) === d);
}

/** The argument after the first `option` token (SORT ... STORE dest), from index `from`. */
function afterToken(args: readonly unknown[], from: number, options: ReadonlySet<string>): unknown[] {
  const found: unknown[] = [];
  for (let i = from; i < args.length - 1; i++) if (options.has(token(args[i]) ?? '')) found.push(args[i + 1]);
  return found;
}

// SET key value [NX | XX | IFEQ v | IFNE v | IFDEQ d | IFDNE d] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]
function setKind(args: readonly unknown[]): RedisCommandKind {
  for (let i = 2; i < args.length; i++) {
    switch (token(args[i])) {
      case 'EX':
      case 'PX': // the value is rewritten with its TTL: the TTL still counts from the value's write
      case 'EXAT':
      case 'PXAT':
        i++;
        break;
      case 'KEEPTTL': // keeps whatever TTL the key has: the same after a second run
      case 'XX': // the key exists after the first run, so the second sets it again
        break;
      case 'NX':
      case 'IFEQ':
      case 'IFNE':
      case 'IFDEQ':
      case 'IFDNE':
        return 'claim';
      case 'GET':
        return 'previous_value';
      default:
        return 'unknown'; // an option this table does not know
    }
  }
  return 'write';
}

// GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]; HGETEX key [same] FIELDS n f...
function getExKind(args: readonly unknown[]): RedisCommandKind {
  let kind: RedisCommandKind = 'read';
  for (let i = 1; i < args.length; i++) {
    const t = token(args[i]);
    if (t === 'FIELDS') break;
    if (t === 'EX' || t === 'PX') return 'relative_ttl';
    if (t === 'EXAT' || t === 'PXAT') {
      kind = 'write';
      i++;
    } else if (t === 'PERSIST') kind = 'write';
    else return 'unknown';
  }
  return kind;
}

// HSETEX key [FNX | FXX] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL] FIELDS n f v...
function hsetExKind(args: readonly unknown[]): RedisCommandKind {
  for (let i = 1; i < args.length; i++) {
    const t = token(args[i]);
    if (t === 'FIELDS') return 'write';
    if (t === 'FNX') return 'claim';
    if (t === 'EX' || t === 'PX' || t === 'EXAT' || t === 'PXAT') i++;
    else if (t !== 'FXX' && t !== 'KEEPTTL') return 'unknown';
  }
  return 'write';
}

const ZADD_OPTIONS: ReadonlySet<string> = new Set(['NX', 'XX', 'GT', 'LT', 'CH']);

// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member ...
function zaddKind(args: readonly unknown[]): RedisCommandKind {
  for (let i = 1; i < args.length; i++) {
    const t = token(args[i]);
    if (t === 'INCR') return 'not_idempotent';
    if (t === undefined || !ZADD_OPTIONS.has(t)) break; // the first score
  }
  return 'write';
}

// BITFIELD key [GET enc offset] [SET enc offset value] [INCRBY enc offset increment] [OVERFLOW ...]
function bitfieldKind(args: readonly unknown[]): RedisCommandKind {
  let kind: RedisCommandKind = 'read';
  for (let i = 1; i < args.length; i++) {
    const t = token(args[i]);
    if (t === 'INCRBY') return 'not_idempotent';
    if (t === 'SET') kind = 'previous_value'; // SET answers with the old value
  }
  return kind;
}

// LREM key count element: count 0 removes every match (again: none left); otherwise it removes the next ones.
function lremKind(args: readonly unknown[]): RedisCommandKind {
  return integer(args[1]) === 0 ? 'write' : 'not_idempotent';
}

// LTRIM key start stop: keeping a prefix (0..k) or a suffix (-k..-1) is idempotent; dropping an end is not.
function ltrimKind(args: readonly unknown[]): RedisCommandKind {
  const start = integer(args[1]);
  const stop = integer(args[2]);
  if (start === undefined || stop === undefined) return 'not_idempotent';
  if (start === 0 && (stop >= 0 || stop === -1)) return 'write';
  if (start < 0 && stop === -1) return 'write';
  return 'not_idempotent';
}

/** `<command> dest numkeys key ...`: ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE. */
function numkeysStoreKind(args: readonly unknown[]): RedisCommandKind {
  const n = integer(args[1]);
  const sources = n !== undefined && n >= 0 ? args.slice(2, 2 + n) : args.slice(2);
  return storesIntoSource(args[0], sources) ? 'not_idempotent' : 'write';
}

/** `<command> dest key ...`: SDIFFSTORE. */
function storeKind(args: readonly unknown[]): RedisCommandKind {
  return storesIntoSource(args[0], args.slice(1)) ? 'not_idempotent' : 'write';
}

/** `<command> dest src ...`: ZRANGESTORE, GEOSEARCHSTORE. */
function destSrcKind(args: readonly unknown[]): RedisCommandKind {
  return storesIntoSource(args[0], args.slice(1, 2)) ? 'not_idempotent' : 'write';
}

// BITOP op dest key ...: AND and OR are idempotent even into a source; XOR, NOT and the rest are not.
function bitopKind(args: readonly unknown[]): RedisCommandKind {
  const op = token(args[0]);
  if (op === 'AND' || op === 'OR') return 'write';
  return storesIntoSource(args[1], args.slice(2)) ? 'not_idempotent' : 'write';
}

const STORE_OPTIONS: ReadonlySet<string> = new Set(['STORE', 'STOREDIST']);

/** SORT key ... [STORE dest], GEORADIUS key ... [STORE dest] [STOREDIST dest]: a read unless it stores. */
function sortKind(args: readonly unknown[]): RedisCommandKind {
  const dests = afterToken(args, 1, STORE_OPTIONS);
  if (dests.length === 0) return 'read';
  return dests.some((d) => storesIntoSource(d, args.slice(0, 1))) ? 'not_idempotent' : 'write';
}

// RESTORE key ttl payload [REPLACE] ...: without REPLACE the second run fails with BUSYKEY.
function restoreKind(args: readonly unknown[]): RedisCommandKind {
  for (let i = 3; i < args.length; i++) if (token(args[i]) === 'REPLACE') return 'write';
  return 'not_idempotent';
}

// FUNCTION LOAD [REPLACE] code: without REPLACE the second run fails ("already exists").
function functionLoadKind(args: readonly unknown[]): RedisCommandKind {
  return token(args[1]) === 'REPLACE' ? 'write' : 'not_idempotent';
}

/** Container commands: the first argument is the subcommand. Subcommands not listed are unknown. */
const SUBCOMMANDS: Readonly<Record<string, Readonly<Record<string, RedisCommandRule>>>> = {
  CLIENT: {
    ID: 'read',
    INFO: 'read',
    LIST: 'read',
    GETNAME: 'read',
    GETREDIR: 'read',
    TRACKINGINFO: 'read',
    SETNAME: 'write',
    SETINFO: 'write',
    'NO-EVICT': 'write',
    'NO-TOUCH': 'write',
  },
  CONFIG: { GET: 'read' },
  OBJECT: { ENCODING: 'read', FREQ: 'read', IDLETIME: 'read', REFCOUNT: 'read', HELP: 'read' },
  MEMORY: { USAGE: 'read', STATS: 'read', DOCTOR: 'read', 'MALLOC-STATS': 'read', HELP: 'read' },
  XINFO: { STREAM: 'read', GROUPS: 'read', CONSUMERS: 'read', HELP: 'read' },
  COMMAND: { COUNT: 'read', DOCS: 'read', GETKEYS: 'read', GETKEYSANDFLAGS: 'read', INFO: 'read', LIST: 'read', HELP: 'read' },
  CLUSTER: {
    INFO: 'read',
    NODES: 'read',
    SLOTS: 'read',
    SHARDS: 'read',
    MYID: 'read',
    MYSHARDID: 'read',
    KEYSLOT: 'read',
    COUNTKEYSINSLOT: 'read',
    GETKEYSINSLOT: 'read',
    LINKS: 'read',
    REPLICAS: 'read',
    HELP: 'read',
  },
  PUBSUB: { CHANNELS: 'read', NUMSUB: 'read', NUMPAT: 'read', SHARDCHANNELS: 'read', SHARDNUMSUB: 'read', HELP: 'read' },
  ACL: { WHOAMI: 'read', CAT: 'read', LIST: 'read', USERS: 'read', GETUSER: 'read', HELP: 'read' },
  SLOWLOG: { GET: 'read', LEN: 'read', HELP: 'read' },
  SCRIPT: { EXISTS: 'read', LOAD: 'write' }, // LOAD: the same script gets the same SHA1
  FUNCTION: { LIST: 'read', DUMP: 'read', STATS: 'read', HELP: 'read', LOAD: functionLoadKind },
  XGROUP: {
    CREATE: 'not_idempotent', // the second run fails with BUSYGROUP
    SETID: 'write',
    DESTROY: 'write',
    CREATECONSUMER: 'write',
    DELCONSUMER: 'write',
    HELP: 'read',
  },
};

function commands(kind: RedisCommandKind, names: string): Array<[string, RedisCommandRule]> {
  return names
    .trim()
    .split(/\s+/)
    .map((name) => [name, kind]);
}

/** The table (upper-case command names); docs/replay-safety.md explains every entry that is not obvious. */
export const REDIS_COMMANDS: ReadonlyMap<string, RedisCommandRule> = new Map<string, RedisCommandRule>([
  ...commands(
    'read',
    `GET MGET GETRANGE SUBSTR STRLEN LCS GETBIT BITCOUNT BITPOS BITFIELD_RO
     EXISTS TYPE TTL PTTL EXPIRETIME PEXPIRETIME KEYS SCAN RANDOMKEY DBSIZE DUMP TOUCH SORT_RO
     HGET HMGET HGETALL HKEYS HVALS HLEN HEXISTS HSTRLEN HSCAN HRANDFIELD HTTL HPTTL HEXPIRETIME HPEXPIRETIME
     LRANGE LINDEX LLEN LPOS
     SMEMBERS SISMEMBER SMISMEMBER SCARD SRANDMEMBER SINTER SUNION SDIFF SINTERCARD SSCAN
     ZRANGE ZRANGEBYSCORE ZRANGEBYLEX ZREVRANGE ZREVRANGEBYSCORE ZREVRANGEBYLEX ZRANK ZREVRANK ZSCORE ZMSCORE
     ZCARD ZCOUNT ZLEXCOUNT ZSCAN ZRANDMEMBER ZINTER ZUNION ZDIFF ZINTERCARD
     PFCOUNT GEODIST GEOHASH GEOPOS GEORADIUS_RO GEORADIUSBYMEMBER_RO GEOSEARCH
     XRANGE XREVRANGE XLEN XREAD XPENDING
     EVAL_RO EVALSHA_RO FCALL_RO
     PING ECHO INFO TIME LASTSAVE ROLE WAIT WAITAOF`,
  ),
  ...commands(
    'write',
    `SETEX PSETEX MSET SETRANGE DEL UNLINK EXPIREAT PEXPIREAT PERSIST COPY
     HSET HMSET HDEL HEXPIREAT HPEXPIREAT HPERSIST
     LSET SADD SREM SINTERSTORE SUNIONSTORE
     ZREM ZREMRANGEBYSCORE ZREMRANGEBYLEX PFADD PFMERGE GEOADD
     XACK XDEL XTRIM XSETID
     SELECT READONLY READWRITE AUTH HELLO`,
  ),
  ...commands('previous_value', 'GETSET GETDEL SETBIT HGETDEL'),
  ...commands('claim', 'SETNX MSETNX HSETNX RENAMENX SMOVE MOVE XCLAIM XAUTOCLAIM'),
  ...commands('relative_ttl', 'EXPIRE PEXPIRE HEXPIRE HPEXPIRE'),
  ...commands(
    'not_idempotent',
    `INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND HINCRBY HINCRBYFLOAT ZINCRBY
     LPUSH RPUSH LPUSHX RPUSHX LINSERT LPOP RPOP RPOPLPUSH LMOVE BLPOP BRPOP BRPOPLPUSH BLMOVE LMPOP BLMPOP
     SPOP ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZMPOP BZMPOP ZREMRANGEBYRANK
     XADD XREADGROUP PUBLISH SPUBLISH RENAME`,
  ),
  ...commands('script', 'EVAL EVALSHA FCALL'),
  ...commands('transaction', 'MULTI EXEC DISCARD WATCH UNWATCH'),
  ['SET', setKind],
  ['GETEX', getExKind],
  ['HGETEX', getExKind],
  ['HSETEX', hsetExKind],
  ['ZADD', zaddKind],
  ['BITFIELD', bitfieldKind],
  ['LREM', lremKind],
  ['LTRIM', ltrimKind],
  ['ZUNIONSTORE', numkeysStoreKind],
  ['ZINTERSTORE', numkeysStoreKind],
  ['ZDIFFSTORE', numkeysStoreKind],
  ['SDIFFSTORE', storeKind],
  ['ZRANGESTORE', destSrcKind],
  ['GEOSEARCHSTORE', destSrcKind],
  ['BITOP', bitopKind],
  ['SORT', sortKind],
  ['GEORADIUS', sortKind],
  ['GEORADIUSBYMEMBER', sortKind],
  ['RESTORE', restoreKind],
]);

function applyRule(rule: RedisCommandRule | undefined, args: readonly unknown[]): RedisCommandKind {
  if (rule === undefined) return 'unknown';
  return typeof rule === 'function' ? rule(args) : rule;
}

/**
 * What `command` with `args` is, for replay. `command` is the command's first word
 * (`'set'`, `'SET'`, `'client'`; ioredis's `command.name`), `args` the rest (ioredis's
 * `command.args`; node-redis's argument array without its first element): strings,
 * Buffers or numbers. Never throws; anything it cannot read is `unknown`.
 */
export function redisCommandKind(command: unknown, args: readonly unknown[] = []): RedisCommandKind {
  try {
    const name = token(command);
    if (name === undefined) return 'unknown';
    const list = Array.isArray(args) ? args : [];
    if (name === 'COMMAND' && list.length === 0) return 'read';
    const sub = SUBCOMMANDS[name];
    if (sub !== undefined) {
      const subName = token(list[0]);
      return subName !== undefined && Object.prototype.hasOwnProperty.call(sub, subName) ? applyRule(sub[subName], list) : 'unknown';
    }
    return applyRule(REDIS_COMMANDS.get(name), list);
  } catch {
    return 'unknown';
  }
}

/** Whether a second run of `command args` is harmless (`read` or `write`). Never throws. */
export function isIdempotentRedisCommand(command: unknown, args?: readonly unknown[]): boolean {
  const kind = redisCommandKind(command, args);
  return kind === 'read' || kind === 'write';
}

/**
 * Errors raised before a command is written (never a reply lost on the way back):
 * ioredis with the offline queue disabled and no connection, node-redis's
 * ClientClosedError and ClientOfflineError.
 */
const NOT_SENT_MESSAGES: ReadonlySet<string> = new Set([
  "Stream isn't writeable and enableOfflineQueue options is false",
  'The client is closed',
  'The client is offline',
]);

function provedNotSent(failure: unknown): boolean {
  if (isConnectFailure(failure)) return true;
  for (const node of collectChain(failure)) {
    if (!isObjectLike(node)) continue;
    const message = readMessage(node);
    if (typeof message === 'string' && NOT_SENT_MESSAGES.has(message)) return true;
  }
  return false;
}

export interface RedisReplayInput {
  /** The command's first word (see redisCommandKind). */
  command: unknown;
  /** The rest of the command. */
  args?: readonly unknown[];
  /** Queued inside MULTI/EXEC (or the EXEC itself): never replayed. */
  inMulti?: boolean;
  /** The caller's say: true replays any command, false none (unless it provably never left). */
  markedIdempotent?: boolean;
  /** False when the adapter knows the command was never written to the connection. */
  sent?: boolean;
  /** The failure: a connect failure or a "client closed/offline" error proves it never left. */
  failure?: unknown;
}

/**
 * Whether a failed Redis command may be sent again: `'in_transaction'` inside
 * MULTI/EXEC (or for MULTI, EXEC, DISCARD, WATCH, UNWATCH themselves); true when it
 * provably never left, or the caller marked it idempotent, or the table says it is;
 * else `'not_idempotent'`. Never throws.
 */
export function redisReplayDecision(input: RedisReplayInput): ReplayDecision {
  try {
    const kind = redisCommandKind(input.command, input.args);
    if (input.inMulti === true || kind === 'transaction') return 'in_transaction';
    if (input.sent === false || (input.failure !== undefined && provedNotSent(input.failure))) return true;
    if (input.markedIdempotent !== undefined) return input.markedIdempotent === true ? true : 'not_idempotent';
    return kind === 'read' || kind === 'write' ? true : 'not_idempotent';
  } catch {
    return 'not_idempotent';
  }
}

/** What the pipeline decision needs of each command: its whole argument list, name first. */
export interface RedisPipelineInput {
  /** Each command as sent: `[name, ...args]` (node-redis's `{ args }` entries, ioredis's name and args joined). */
  commands: ReadonlyArray<readonly unknown[]>;
  markedIdempotent?: boolean;
  sent?: boolean;
  failure?: unknown;
}

/**
 * Whether a failed pipeline (commands written together, no MULTI) may be sent again
 * whole: only when every command in it may be (redisReplayDecision), since the
 * failure may have come after any of them ran. The first refusal is the answer.
 * Never throws.
 */
export function redisPipelineReplayDecision(input: RedisPipelineInput): ReplayDecision {
  try {
    for (const command of input.commands) {
      const list = Array.isArray(command) ? command : [];
      const decision = redisReplayDecision({
        command: list[0],
        args: list.slice(1),
        markedIdempotent: input.markedIdempotent,
        sent: input.sent,
        failure: input.failure,
      });
      if (decision !== true) return decision;
    }
    return true;
  } catch {
    return 'not_idempotent';
  }
}
