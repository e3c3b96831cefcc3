import { makeResult, ResultCache, type ResultOverrides } from './defaults.js';
import { PrefixTable } from './prefix-table.js';
import type { Classification, ErrorCategory } from './types.js';

/**
 * Redis errors, recognised by shape. A reply error (ioredis `ReplyError`, node-redis
 * `ErrorReply`/`SimpleError`/`BlobError`) carries the server's reply as its message,
 * whose first word is the error prefix (`WRONGTYPE Operation against a key...`). The
 * clients' own errors are known by name (node-redis never sets `name`, so by
 * constructor name) or, for ioredis's plain `Error`s, by exact message.
 */

export const REDIS_PREFIX_RULE = 'builtin:redis.prefix';
export const REDIS_CLIENT_RULE = 'builtin:redis.client';

const REPLY_ERROR_NAMES: ReadonlySet<string> = new Set(['ReplyError', 'ErrorReply', 'SimpleError', 'BlobError']);

/** Is this (effective) name one of the clients' reply-error classes? */
export function isReplyErrorName(name: string | undefined): boolean {
  return name !== undefined && REPLY_ERROR_NAMES.has(name);
}

const PREFIX_MAX = 32;

/**
 * The first word of a reply, when it looks like a Redis error prefix: upper-case letters,
 * digits and `_`, at most 32 characters, followed by a space or the end. Reads at most
 * 33 characters whatever the message's length.
 */
export function replyPrefix(message: string): string | undefined {
  const n = message.length;
  let i = 0;
  for (; i < n && i <= PREFIX_MAX; i++) {
    const c = message.charCodeAt(i);
    if (c === 32) break;
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95)) return undefined;
  }
  if (i === 0 || i > PREFIX_MAX) return undefined;
  const first = message.charCodeAt(0);
  if (first < 65 || first > 90) return undefined; // a prefix starts with a letter
  return i === n ? message : message.slice(0, i);
}

type Entry = { category: ErrorCategory } & ResultOverrides;

const PREFIXES: Readonly<Record<string, Entry>> = {
  NOAUTH: { category: 'authentication' },
  WRONGPASS: { category: 'authentication' },
  NOPERM: { category: 'authorization' },
  WRONGTYPE: { category: 'validation' },
  CROSSSLOT: { category: 'validation' },
  EXECABORT: { category: 'validation' }, // MULTI discarded because a queued command was invalid
  ERR: { category: 'validation' }, // ERR syntax error, ERR wrong number of arguments, ERR unknown command...
  OOM: { category: 'resource' },
  BUSY: { category: 'external_service' }, // a script is running
  LOADING: { category: 'external_service' }, // loading the dataset after a restart
  MASTERDOWN: { category: 'external_service' },
  TRYAGAIN: { category: 'external_service' }, // multi-key command during resharding
  READONLY: { category: 'external_service' }, // a replica, typically just after failover
  CLUSTERDOWN: { category: 'external_service' },
  NOREPLICAS: { category: 'external_service' },
  NOMASTERLINK: { category: 'external_service' },
  MISCONF: { category: 'external_service' }, // snapshots failing; writes refused until fixed
  // Cluster redirections are followed by cluster clients. One that surfaces comes from a
  // standalone client pointed at a cluster node: MOVED will be answered again and again
  // (configuration); ASK is a slot migration in progress, over when it completes.
  MOVED: { category: 'configuration' },
  ASK: { category: 'external_service' },
  NOSCRIPT: { category: 'not_found' }, // EVALSHA of a script the server does not have
  NOGROUP: { category: 'not_found' },
  BUSYGROUP: { category: 'concurrency', transient: false }, // already exists: a conflict, like HTTP 409
  BUSYKEY: { category: 'concurrency', transient: false },
  NOPROTO: { category: 'configuration' },
};

/** `ERR` replies whose text says something other than "invalid command". */
const ERR_EXCEPTIONS: ReadonlyArray<readonly [string, Entry]> = [
  ['ERR max number of clients reached', { category: 'resource' }],
  ['ERR invalid password', { category: 'authentication' }],
  ['ERR Client sent AUTH, but no password is set', { category: 'configuration' }],
  ['ERR AUTH <password> called without any password configured', { category: 'configuration' }],
  ['ERR Error running script', { category: 'business_logic' }], // a script's runtime error (Redis < 7)
  ['ERR user_script:', { category: 'business_logic' }], // the same, Redis >= 7
  // An operator ended a long script (SCRIPT KILL): operator intervention, like pg's 57P01.
  ['ERR Script killed by user', { category: 'external_service' }],
];
/** Indexed by the character after `ERR ` (see prefix-table.ts). */
const errExceptions = new PrefixTable(
  ERR_EXCEPTIONS.map(([text, entry]) => [text, makeResult(entry.category, 'ERR', REDIS_PREFIX_RULE, entry)] as const),
  4,
);

const KNOWN_PREFIXES: ReadonlySet<string> = new Set(Object.keys(PREFIXES));
const cache = new ResultCache(512);

function buildPrefixResult(prefix: string): Classification {
  const entry = PREFIXES[prefix];
  // An unknown prefix (a module's, a script's own error_reply) is reported as itself.
  return entry === undefined ? makeResult('unknown', prefix, REDIS_PREFIX_RULE) : makeResult(entry.category, prefix, REDIS_PREFIX_RULE, entry);
}

/** Is `prefix` one the built-in table knows (so worth trusting on a plain Error)? */
export function isKnownPrefix(prefix: string): boolean {
  return KNOWN_PREFIXES.has(prefix);
}

/**
 * The reply prefix of an error with this message and (effective) name: any prefix on a
 * reply-error class; on another error (a wrapper, a plain Error) only a prefix the table
 * knows, and only when the adapter says the client is `ioredis` or `redis`.
 */
export function redisPrefixOf(message: string, name: string | undefined, client: string | undefined): string | undefined {
  const reply = isReplyErrorName(name);
  if (!reply && client !== 'ioredis' && client !== 'redis') return undefined;
  const prefix = replyPrefix(message);
  if (prefix === undefined) return undefined;
  return reply || isKnownPrefix(prefix) ? prefix : undefined;
}

/** The classification of a reply whose first word is `prefix`; `message` refines `ERR`. */
export function classifyRedisReply(prefix: string, message: string): Classification {
  if (prefix === 'ERR') {
    const exception = errExceptions.match(message);
    if (exception !== undefined) return exception;
  }
  return cache.lookup(prefix) ?? cache.remember(prefix, buildPrefixResult(prefix));
}

function client(category: ErrorCategory, code: string): Classification {
  return makeResult(category, code, REDIS_CLIENT_RULE);
}

/** ioredis's and node-redis's own error classes, by (constructor) name. */
export const REDIS_ERROR_NAMES: ReadonlyMap<string, Classification> = new Map([
  ['MaxRetriesPerRequestError', client('network', 'MaxRetriesPerRequestError')], // ioredis: gave up reconnecting for this command
  ['ClusterAllFailedError', client('network', 'ClusterAllFailedError')],
  ['ClientClosedError', client('network', 'ClientClosedError')],
  ['ClientOfflineError', client('network', 'ClientOfflineError')],
  ['SocketClosedUnexpectedlyError', client('network', 'SocketClosedUnexpectedlyError')],
  ['DisconnectsClientError', client('network', 'DisconnectsClientError')],
  ['ReconnectStrategyError', client('network', 'ReconnectStrategyError')],
  ['RootNodesUnavailableError', client('network', 'RootNodesUnavailableError')],
  ['ConnectionTimeoutError', client('timeout', 'timeout')],
  ['SocketTimeoutError', client('timeout', 'timeout')],
  ['CommandTimeoutDuringMaintenanceError', client('timeout', 'timeout')],
  ['SocketTimeoutDuringMaintenanceError', client('timeout', 'timeout')],
  ['WatchError', client('concurrency', 'WatchError')], // a WATCHed key changed: EXEC again may succeed
  ['MaxCommandRedirectionsError', client('external_service', 'MaxCommandRedirectionsError')],
]);

/** ioredis's and node-redis's plain `Error`s, by exact message. */
export const REDIS_MESSAGES: ReadonlyMap<string, Classification> = new Map([
  ['Connection is closed.', client('network', 'Error')],
  ['Command timed out', client('timeout', 'timeout')],
  ['Command aborted due to connection close', client('network', 'Error')], // a redis-errors AbortError, not a caller's abort
  ["Stream isn't writeable and enableOfflineQueue options is false", client('network', 'Error')],
  ['None of startup nodes is available', client('network', 'Error')],
  ['Cluster is disconnected.', client('network', 'Error')],
  ['Cluster is disconnecting.', client('network', 'Error')],
  ["Cluster isn't ready and enableOfflineQueue options is false", client('network', 'Error')],
  ['Failed to refresh slots cache.', client('network', 'Error')],
  ['Node is disconnected', client('network', 'Error')],
  ['Socket closed unexpectedly', client('network', 'Error')],
  ['The client is closed', client('network', 'Error')],
  ['Connection timeout', client('timeout', 'timeout')],
  ['The queue is full', client('resource', 'Error')],
]);

/** ioredis messages that carry a number: matched by prefix. */
export const REDIS_MESSAGE_PREFIXES: ReadonlyArray<readonly [string, Classification]> = [
  ["Socket timeout. Expecting data, but didn't receive any in", client('timeout', 'timeout')],
  ['Too many Cluster redirections', client('external_service', 'Error')],
];
