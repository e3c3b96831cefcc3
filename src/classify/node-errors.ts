import { makeResult, ResultCache, type ResultOverrides } from './defaults.js';
import type { Classification, ErrorCategory } from './types.js';

/**
 * Errors of Node itself and of undici (which is also what global fetch runs on):
 * system error codes (`ECONNREFUSED`), Node's `ERR_*` codes, TLS certificate codes,
 * llhttp parser codes (`HPE_*`), undici's `UND_ERR_*`, and the names that say "abort"
 * or "timeout" (`AbortError`, `TimeoutError`), plus the plain runtime errors that mean a
 * bug in this process (`TypeError`...).
 */

export const NODE_CODE_RULE = 'builtin:node.code';
export const UNDICI_CODE_RULE = 'builtin:undici.code';
export const ABORT_RULE = 'builtin:abort';
export const RUNTIME_RULE = 'builtin:runtime';
export const FETCH_FAILED_RULE = 'builtin:fetch.failed';
export const NODE_MESSAGE_RULE = 'builtin:node.message';

type Entry = { category: ErrorCategory } & ResultOverrides;

const TLS: Entry = { category: 'configuration', severity: 'critical' };

const NODE_CODES: Readonly<Record<string, Entry>> = {
  // The connection failed or was lost.
  ECONNREFUSED: { category: 'network' },
  ECONNRESET: { category: 'network' }, // also node:http's "socket hang up"
  EPIPE: { category: 'network' },
  ECONNABORTED: { category: 'network' },
  EHOSTUNREACH: { category: 'network' },
  EHOSTDOWN: { category: 'network' },
  ENETUNREACH: { category: 'network' },
  ENETDOWN: { category: 'network' },
  ENOTCONN: { category: 'network' },
  EADDRNOTAVAIL: { category: 'network' }, // out of ephemeral ports, or the local address went away
  EAI_AGAIN: { category: 'network' }, // DNS temporarily failed
  ESERVFAIL: { category: 'network' }, // DNS server failure (dns.resolve*)
  ERR_STREAM_PREMATURE_CLOSE: { category: 'network' },
  ERR_SOCKET_CLOSED: { category: 'network' },
  ERR_HTTP2_STREAM_ERROR: { category: 'network' },
  ERR_HTTP2_STREAM_CANCEL: { category: 'network' },
  ERR_HTTP2_GOAWAY_SESSION: { category: 'network' },
  ERR_HTTP2_SESSION_ERROR: { category: 'network' },
  ERR_HTTP2_INVALID_SESSION: { category: 'network' },
  // A deadline passed.
  ETIMEDOUT: { category: 'timeout' },
  ESOCKETTIMEDOUT: { category: 'timeout' },
  ETIMEOUT: { category: 'timeout' }, // c-ares DNS timeout
  ERR_SOCKET_CONNECTION_TIMEOUT: { category: 'timeout' }, // happy eyeballs gave up on every address
  ERR_TLS_HANDSHAKE_TIMEOUT: { category: 'timeout' },
  // The setup is wrong: the name does not resolve, the URL is not one, TLS is refused.
  ENOTFOUND: { category: 'configuration' },
  EAI_NONAME: { category: 'configuration' },
  EAI_FAIL: { category: 'configuration' },
  EAI_NODATA: { category: 'configuration' },
  ENODATA: { category: 'configuration' },
  ERR_INVALID_URL: { category: 'configuration' },
  ERR_INVALID_PROTOCOL: { category: 'configuration' },
  EPROTO: { category: 'configuration' }, // e.g. TLS spoken to a plain-text port ("wrong version number")
  CERT_HAS_EXPIRED: TLS,
  CERT_NOT_YET_VALID: TLS,
  CERT_REVOKED: TLS,
  CERT_UNTRUSTED: TLS,
  CERT_REJECTED: TLS,
  CERT_SIGNATURE_FAILURE: TLS,
  CERT_CHAIN_TOO_LONG: TLS,
  DEPTH_ZERO_SELF_SIGNED_CERT: TLS,
  SELF_SIGNED_CERT_IN_CHAIN: TLS,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: TLS,
  UNABLE_TO_GET_ISSUER_CERT: TLS,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: TLS,
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: TLS,
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: TLS,
  ERROR_IN_CERT_NOT_BEFORE_FIELD: TLS,
  ERROR_IN_CERT_NOT_AFTER_FIELD: TLS,
  INVALID_CA: TLS,
  INVALID_PURPOSE: TLS,
  PATH_LENGTH_EXCEEDED: TLS,
  HOSTNAME_MISMATCH: TLS,
  // Something ran out in this process.
  EMFILE: { category: 'resource' },
  ENFILE: { category: 'resource' },
  ENOMEM: { category: 'resource' },
  ENOBUFS: { category: 'resource' },
  ENOSPC: { category: 'resource' },
  // The request itself cannot be sent as it is.
  ERR_INVALID_HTTP_TOKEN: { category: 'validation' },
  ERR_INVALID_CHAR: { category: 'validation' },
  ERR_HTTP_INVALID_HEADER_VALUE: { category: 'validation' },
  ERR_UNESCAPED_CHARACTERS: { category: 'validation' },
};

const UNDICI_CODES: Readonly<Record<string, Entry>> = {
  UND_ERR_CONNECT_TIMEOUT: { category: 'timeout' },
  UND_ERR_HEADERS_TIMEOUT: { category: 'timeout' },
  UND_ERR_BODY_TIMEOUT: { category: 'timeout' },
  UND_ERR_SOCKET: { category: 'network' }, // "other side closed"
  UND_ERR_CLOSED: { category: 'network' },
  UND_ERR_DESTROYED: { category: 'network' },
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: { category: 'network' }, // the response was cut short
  UND_ERR_SOCKS5: { category: 'network' },
  UND_ERR_INVALID_ARG: { category: 'validation' }, // the request as given cannot be sent
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: { category: 'validation' },
  UND_ERR_NOT_SUPPORTED: { category: 'validation' },
  UND_ERR_INVALID_RETURN_VALUE: { category: 'system' }, // a handler of ours broke the contract
  UND_ERR_HEADERS_OVERFLOW: { category: 'external_service', transient: false },
  UND_ERR_RES_EXCEEDED_MAX_SIZE: { category: 'resource', transient: false },
  UND_ERR_MAX_ORIGINS_REACHED: { category: 'resource' },
  UND_ERR_BPL_MISSING_UPSTREAM: { category: 'configuration' },
  UND_ERR_PRX_TLS: TLS,
  // UND_ERR_RESPONSE_STATUS_CODE (undici 6), UND_ERR_RESPONSE and UND_ERR_REQ_RETRY carry a
  // `statusCode`: they are classified by that status, so they have no entry here.
};

function buildTable(entries: Readonly<Record<string, Entry>>, rule: string): Map<string, Classification> {
  const table = new Map<string, Classification>();
  for (const [code, entry] of Object.entries(entries)) table.set(code, makeResult(entry.category, code, rule, entry));
  return table;
}

const STRONG_CODES = new Map([...buildTable(NODE_CODES, NODE_CODE_RULE), ...buildTable(UNDICI_CODES, UNDICI_CODE_RULE)]);
const familyCache = new ResultCache(256);

function familyOf(code: string): Classification | undefined {
  // OpenSSL and Node TLS errors not listed one by one: a TLS failure is critical.
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
    return familyCache.lookup(code) ?? familyCache.remember(code, makeResult('configuration', code, NODE_CODE_RULE, TLS));
  }
  // llhttp could not parse what the server sent: the dependency is broken, not slow.
  if (code.startsWith('HPE_')) {
    return familyCache.lookup(code) ?? familyCache.remember(code, makeResult('external_service', code, NODE_CODE_RULE, { transient: false }));
  }
  return undefined;
}

/** A system, Node or undici code the tables know, as a shared classification. */
export function classifyNodeCode(code: string): Classification | undefined {
  return STRONG_CODES.get(code) ?? familyOf(code);
}

/**
 * Codes that say "aborted" without saying why. They are weak: an abort whose cause is a
 * timeout (node:http's AbortError with `AbortSignal.timeout()`'s reason as `cause`) is a
 * timeout, so the walk keeps looking below them.
 */
const ABORT_CODES: ReadonlyMap<string, Classification> = new Map([
  ['ABORT_ERR', makeResult('cancelled', 'ABORT_ERR', ABORT_RULE)], // Node's AbortError
  ['UND_ERR_ABORTED', makeResult('cancelled', 'UND_ERR_ABORTED', ABORT_RULE)], // undici RequestAbortedError
  ['UND_ERR_ABORT', makeResult('cancelled', 'UND_ERR_ABORT', ABORT_RULE)],
]);

export function classifyAbortCode(code: string): Classification | undefined {
  return ABORT_CODES.get(code);
}

/**
 * `TimeoutError`: the reason of `AbortSignal.timeout()` (a DOMException) and the name
 * breakwater's own AttemptTimeoutError keeps for compatibility (that one is recognised
 * by its code first). node-redis's command timeout is a bare `TimeoutError` class too.
 */
export const TIMEOUT_BY_NAME = makeResult('timeout', 'timeout', ABORT_RULE);

/**
 * Errors known by name when their code is missing: undici's HTTPParserError has
 * `code: undefined` for some parser failures (Node 24's fetch on a response that is not
 * HTTP at all), where Node 20's had `HPE_INVALID_CONSTANT`.
 */
export const NODE_ERROR_NAMES: ReadonlyMap<string, Classification> = new Map([
  ['HTTPParserError', makeResult('external_service', 'HTTPParserError', NODE_CODE_RULE, { transient: false })],
]);

/** An `AbortError` (DOMException, node-redis's) with no more telling code. */
export const ABORT_BY_NAME = makeResult('cancelled', 'AbortError', ABORT_RULE);

/** fetch's `TypeError: fetch failed` whose cause says nothing the tables know. */
export const FETCH_FAILED = makeResult('network', 'TypeError', FETCH_FAILED_RULE);

/** Plain runtime errors: a bug or runtime failure in this process. */
const RUNTIME_ERROR_NAMES: ReadonlySet<string> = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError']);

export function isRuntimeErrorName(name: string | undefined): boolean {
  return name !== undefined && RUNTIME_ERROR_NAMES.has(name);
}

const runtimeCache = new ResultCache(256);

/** A runtime error's classification; its code is its own code (`ERR_INVALID_ARG_TYPE`) or its name. */
export function classifyRuntimeError(code: string): Classification {
  return runtimeCache.lookup(code) ?? runtimeCache.remember(code, makeResult('system', code, RUNTIME_RULE));
}

/** Node's and undici's plain `Error`s known by exact message. */
export const NODE_MESSAGES: ReadonlyMap<string, Classification> = new Map([
  // fetch refuses the ports browsers block (fetch spec "bad port"): the URL is wrong.
  ['bad port', makeResult('configuration', 'Error', NODE_MESSAGE_RULE)],
]);
