import { classifyBreakwaterCode } from './breakwater.js';
import { enqueueChildren, enqueueRead, MAX_AGGREGATE } from './chain.js';
import { makeResult, ResultCache, withRetryAfter } from './defaults.js';
import { FailureFacts } from './facts.js';
import { classifyHttp } from './http.js';
import {
  ABORT_BY_NAME,
  ABORT_RULE,
  classifyAbortCode,
  classifyNodeCode,
  classifyRuntimeError,
  FETCH_FAILED,
  isRuntimeErrorName,
  NODE_ERROR_NAMES,
  NODE_MESSAGES,
  TIMEOUT_BY_NAME,
} from './node-errors.js';
import { classifySqlstate, PG_MESSAGES, sqlstateOf } from './pg.js';
import { PrefixTable } from './prefix-table.js';
import { classifyRedisReply, REDIS_ERROR_NAMES, REDIS_MESSAGE_PREFIXES, REDIS_MESSAGES, redisPrefixOf } from './redis.js';
import { compileRules, firstMatchingRule } from './rules.js';
import type { ClassificationRule } from './rule-types.js';
import {
  asToken,
  effectiveName,
  isObjectLike,
  readCallerSignal,
  readCause,
  readClient,
  readCode,
  readErrorList,
  readMessage,
  readName,
  readProperty,
  readString,
} from './safe.js';
import type { Classification, ClassifyHints } from './types.js';

export { parseRetryAfter } from './http.js';

/**
 * The classifier: a pure function from anything thrown (or a failed response) to a
 * Classification. It never throws.
 *
 * How one failure is decided:
 * 1. If the caller's own signal (`hints.callerSignal`) is aborted and the failure, or an
 *    error it wraps, is that signal's reason, it is `cancelled`, whatever the reason
 *    says (a caller's own `AbortSignal.timeout()` is the caller's deadline, not the
 *    dependency's slowness).
 * 2. The failure and the errors it wraps (`cause`, `AggregateError.errors`; see chain.ts)
 *    are looked at outermost first. Each error is recognised by shape, never by
 *    `instanceof`, with three strengths of evidence:
 *    - structured: breakwater's own code, a system/undici code, a SQLSTATE, an HTTP
 *      status (own or `response.status`), a Redis reply prefix, a known error class name
 *      (`TimeoutError`, node-redis's `SocketClosedUnexpectedlyError`...);
 *    - a client library's known message (pg's "Connection terminated unexpectedly",
 *      ioredis's "Connection is closed.");
 *    - weak: an abort without a reason (`AbortError`, `ABORT_ERR`, `UND_ERR_ABORTED`), a
 *      plain runtime error (`TypeError` means `system`, except fetch's "fetch failed"
 *      wrapper, which is `network` only if nothing it wraps says more).
 *    The first structured match wins at once; otherwise the strongest match, the outer
 *    one on a tie. So an AbortError whose cause is a TimeoutError is a `timeout`, and
 *    "fetch failed" is whatever its cause is.
 * 3. Nothing recognised: `unknown`, rule `builtin:fallback`.
 *
 * Results are shared frozen objects, except when they carry `retryAfterMs`.
 */

export const FALLBACK_RULE = 'builtin:fallback';

const FALLBACK = makeResult('unknown', 'unknown', FALLBACK_RULE);
const fallbackCache = new ResultCache(256);
const cancelledCache = new ResultCache(64);

const STRONG_NAMES: ReadonlyMap<string, Classification> = new Map([...REDIS_ERROR_NAMES, ...NODE_ERROR_NAMES, ['TimeoutError', TIMEOUT_BY_NAME]]);
const KNOWN_MESSAGES: ReadonlyMap<string, Classification> = new Map([...PG_MESSAGES, ...REDIS_MESSAGES, ...NODE_MESSAGES]);
const MESSAGE_PREFIXES = new PrefixTable(REDIS_MESSAGE_PREFIXES);
/** Longer messages are never a known exact message; skip hashing them. */
const KNOWN_MESSAGE_MAX = 128;

const NONE = 0;
const WEAK = 1;
const MESSAGE = 2;
const STRUCTURED = 3;

/**
 * Strength of the last classifyNode result. Set immediately before classifyNode
 * returns and read immediately after, with no user code (getters) running in between,
 * so a hostile getter that calls classify re-entrantly cannot confuse it.
 */
let nodeTier = NONE;

function classifyNode(node: object, client: string | undefined): Classification | undefined {
  const rawCode = readCode(node);
  const code = typeof rawCode === 'string' ? rawCode : undefined;
  let result: Classification | undefined;
  if (code !== undefined) {
    result = classifyBreakwaterCode(code) ?? classifyNodeCode(code);
    if (result !== undefined) {
      nodeTier = STRUCTURED;
      return result;
    }
  }
  const sqlstate = sqlstateOf(node, code);
  result = sqlstate !== undefined ? classifySqlstate(sqlstate) : classifyHttp(node);
  if (result !== undefined) {
    nodeTier = STRUCTURED;
    return result;
  }
  const rawName = readName(node);
  const name = effectiveName(node, typeof rawName === 'string' ? rawName : undefined);
  if (name !== undefined) {
    result = STRONG_NAMES.get(name);
    if (result !== undefined) {
      nodeTier = STRUCTURED;
      return result;
    }
  }
  const rawMessage = readMessage(node);
  const message = typeof rawMessage === 'string' ? rawMessage : undefined;
  if (message !== undefined) {
    const prefix = redisPrefixOf(message, name, client);
    if (prefix !== undefined) {
      nodeTier = STRUCTURED;
      return classifyRedisReply(prefix, message);
    }
    if (message.length <= KNOWN_MESSAGE_MAX) result = KNOWN_MESSAGES.get(message);
    if (result === undefined) result = MESSAGE_PREFIXES.match(message);
    if (result !== undefined) {
      nodeTier = MESSAGE;
      return result;
    }
  }
  if (code !== undefined) result = classifyAbortCode(code);
  if (result === undefined && name !== undefined) {
    if (name === 'AbortError') result = ABORT_BY_NAME;
    else if (isRuntimeErrorName(name)) {
      result = name === 'TypeError' && message === 'fetch failed' ? FETCH_FAILED : classifyRuntimeError(asToken(code) ?? name);
    }
  }
  nodeTier = result === undefined ? NONE : WEAK;
  return result;
}

/** The code of an error that nothing recognised: its own code, else its name. */
function codeOf(node: object): string {
  return asToken(readProperty(node, 'code')) ?? asToken(effectiveName(node, readString(node, 'name'))) ?? 'unknown';
}

function fallbackFor(failure: object): Classification {
  const code = codeOf(failure);
  return fallbackCache.lookup(code) ?? fallbackCache.remember(code, makeResult('unknown', code, FALLBACK_RULE));
}

function cancelledByCaller(reason: unknown): Classification {
  const code = isObjectLike(reason) ? asToken(readProperty(reason, 'code')) ?? asToken(effectiveName(reason, readString(reason, 'name'))) ?? 'AbortError' : 'AbortError';
  return cancelledCache.lookup(code) ?? cancelledCache.remember(code, makeResult('cancelled', code, ABORT_RULE));
}

/** A value no failure can be identical to: "the caller's signal is not aborted". */
const NOT_ABORTED = Symbol('not aborted');

function callerReasonOf(hints: unknown): unknown {
  if (!isObjectLike(hints)) return NOT_ABORTED;
  const signal = readCallerSignal(hints);
  if (!isObjectLike(signal) || readProperty(signal, 'aborted') !== true) return NOT_ABORTED;
  const reason = readProperty(signal, 'reason');
  return reason === undefined ? NOT_ABORTED : reason;
}

function clientOf(hints: unknown): string | undefined {
  if (!isObjectLike(hints)) return undefined;
  const client = readClient(hints);
  return typeof client === 'string' ? client : undefined;
}

/** The built-in classification, given what the hints say (read once by the caller). */
function classifyUnsafe(failure: unknown, callerReason: unknown, client: string | undefined): Classification {
  if (failure === callerReason) return cancelledByCaller(failure);
  if (!isObjectLike(failure)) return FALLBACK;

  let best = classifyNode(failure, client);
  let bestTier = nodeTier;
  if (bestTier === STRUCTURED) return best!;
  // Most failures wrap nothing: no queue for them.
  const cause = readCause(failure);
  const members = readErrorList(failure, MAX_AGGREGATE);
  if (!isObjectLike(cause) && members === undefined) return best ?? fallbackFor(failure);

  const queue: object[] = [failure];
  enqueueRead(queue, cause, members);
  for (let i = 1; i < queue.length; i++) {
    const node = queue[i]!;
    if (node === callerReason) return cancelledByCaller(node);
    const result = classifyNode(node, client);
    const tier = nodeTier;
    if (tier === STRUCTURED) return result!;
    if (tier > bestTier) {
      best = result;
      bestTier = tier;
    }
    enqueueChildren(node, queue);
  }
  return best ?? fallbackFor(failure);
}

/**
 * Classifies anything thrown or rejected, or a failed response, with the built-in rules
 * only. Never throws: whatever goes wrong inside gives `unknown` (`builtin:fallback`).
 */
export function classify(failure: unknown, hints?: ClassifyHints): Classification {
  try {
    return classifyUnsafe(failure, callerReasonOf(hints), clientOf(hints));
  } catch {
    return FALLBACK;
  }
}

/**
 * A classifier with the user's rules in front of the built-ins: the first rule that
 * matches decides the category (and severity, transience and user message, each
 * defaulting to the category's); `code` and `retryAfterMs` still come from the failure
 * as the built-ins read it. Rules are validated and compiled here, once: a bad regular
 * expression or an unknown condition key throws an Error naming the rule, now rather
 * than at classify time. See docs/classification.md for how conditions match.
 */
export function createClassifier(rules: readonly ClassificationRule[]): (failure: unknown, hints?: ClassifyHints) => Classification {
  const compiled = compileRules(rules);
  if (compiled.length === 0) return classify;
  return function classifyWithRules(failure: unknown, hints?: ClassifyHints): Classification {
    try {
      const facts = new FailureFacts(failure, hints);
      const rule = firstMatchingRule(compiled, facts);
      const builtin = classifyUnsafe(failure, callerReasonOf(hints), facts.client);
      if (rule === undefined) return builtin;
      const result = rule.resultFor(builtin.code);
      return builtin.retryAfterMs === undefined ? result : withRetryAfter(result, builtin.retryAfterMs);
    } catch {
      return FALLBACK;
    }
  };
}
