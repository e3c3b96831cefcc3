import { BREAKER_MODES, JITTER_MODES } from '../engine/options.js';
import { CLIENTS, ERROR_CATEGORIES } from '../classify/types.js';
import { parseRedisUrl, REDIS_URL_FORM, RedisUrlError } from '../fleet/redis-url.js';
import { formatValue } from './errors.js';
import { normaliseHost } from './hosts.js';
import { suggest } from './suggest.js';

/**
 * The one table of configurable fields. Each entry says where the value lives, what it
 * accepts and which environment variable sets it; the environment reader, the file
 * validator, the merge and the documentation test all walk this table, so a field's
 * bounds are written here and nowhere else.
 */

/** Clients that have an instrumentation (everything in CLIENTS but `custom`). */
export const INSTRUMENTATIONS = CLIENTS.filter((c): c is Exclude<(typeof CLIENTS)[number], 'custom'> => c !== 'custom');
export type Instrumentation = (typeof INSTRUMENTATIONS)[number];

/** `adaptive`: the gradient limit of src/engine/gradient-limit.ts; `off`: no limit (the default). */
export const CONCURRENCY_LIMIT_MODES = ['adaptive', 'off'] as const;
export type ConcurrencyLimitMode = (typeof CONCURRENCY_LIMIT_MODES)[number];

/**
 * Node's timers take at most 2^31 - 1 ms; a longer delay fires after 1 ms instead (with
 * a TimeoutOverflowWarning), which would turn a 30-day timeout into none at all.
 */
export const MAX_TIMER_MS = 2_147_483_647;

export type Kind =
  | { readonly type: 'integer'; readonly min: number; readonly max: number }
  | { readonly type: 'number'; readonly min: number; readonly minExclusive: boolean; readonly max: number }
  /** An integer in range, or one word standing for a mode (`delayMs: adaptive`). */
  | { readonly type: 'integerOr'; readonly min: number; readonly max: number; readonly word: string }
  /** A percentile as a share, strictly between 0 and 1 (0.95 for p95). */
  | { readonly type: 'percentile' }
  | { readonly type: 'boolean' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'string' }
  | { readonly type: 'host' }
  | { readonly type: 'hosts' }
  | { readonly type: 'instrumentations' }
  | { readonly type: 'categories' }
  /** A redis:// or rediss:// URL, read into a RedisEndpoint (src/fleet/redis-url.ts). */
  | { readonly type: 'redisUrl' };

export interface Field {
  /** Where the value lives: a top-level key (`maxTargets`) or a policy key (`timeoutMs`, `retry.maxAttempts`). */
  readonly key: string;
  /** `top`: one value for the process; `policy`: a default that targets may override. */
  readonly scope: 'top' | 'policy';
  readonly kind: Kind;
  /** The environment variable that sets it, if any. */
  readonly env?: string;
  /** What 0 means, for fields where 0 switches the feature off. */
  readonly zero?: string;
  /** The value may hold a password: no message ever quotes it (the field's name and a reason only). */
  readonly secret?: true;
}

const integer = (min: number, max = Number.MAX_SAFE_INTEGER): Kind => ({ type: 'integer', min, max });
const millis = (min: number): Kind => integer(min, MAX_TIMER_MS);
const number = (min: number, max = Number.MAX_VALUE, minExclusive = false): Kind => ({ type: 'number', min, max, minExclusive });
const share = (minExclusive: boolean): Kind => number(0, 1, minExclusive);
const oneOf = (values: readonly string[]): Kind => ({ type: 'enum', values });
const millisOr = (word: string): Kind => ({ type: 'integerOr', min: 0, max: MAX_TIMER_MS, word });

export const FIELDS: readonly Field[] = [
  { key: 'enabled', scope: 'top', kind: { type: 'boolean' }, env: 'BREAKWATER_ENABLED' },
  { key: 'instrumentations', scope: 'top', kind: { type: 'instrumentations' }, env: 'BREAKWATER_INSTRUMENTATIONS' },
  { key: 'maxTargets', scope: 'top', kind: integer(1), env: 'BREAKWATER_MAX_TARGETS' },
  { key: 'maxTargetStates', scope: 'top', kind: integer(1), env: 'BREAKWATER_MAX_TARGET_STATES' },
  { key: 'targetIdleMs', scope: 'top', kind: millis(0), env: 'BREAKWATER_TARGET_IDLE_MS', zero: 'never forgotten for being idle' },
  { key: 'shutdownTimeoutMs', scope: 'top', kind: millis(100), env: 'BREAKWATER_SHUTDOWN_TIMEOUT_MS' },
  { key: 'statusPort', scope: 'top', kind: integer(0, 65535), env: 'BREAKWATER_STATUS_PORT', zero: 'no status endpoint' },
  { key: 'statusHost', scope: 'top', kind: { type: 'host' }, env: 'BREAKWATER_STATUS_HOST' },
  { key: 'statusAllowedHosts', scope: 'top', kind: { type: 'hosts' }, env: 'BREAKWATER_STATUS_ALLOWED_HOSTS' },
  { key: 'callSpans', scope: 'top', kind: { type: 'boolean' }, env: 'BREAKWATER_CALL_SPANS' },
  { key: 'redisDurationMetric', scope: 'top', kind: { type: 'boolean' }, env: 'BREAKWATER_REDIS_DURATION_METRIC' },
  { key: 'patterns', scope: 'top', kind: { type: 'boolean' }, env: 'BREAKWATER_PATTERNS' },
  { key: 'patternsTimeScale', scope: 'top', kind: integer(1, 3600), env: 'BREAKWATER_PATTERNS_TIME_SCALE' },
  // Fleet mode (src/config/fleet.ts): where the shared state lives; a policy opts in with `fleet`.
  { key: 'fleet.redisUrl', scope: 'top', kind: { type: 'redisUrl' }, env: 'BREAKWATER_FLEET_REDIS_URL', secret: true },
  // A Cluster is configured, not detected: routing by slot is a deliberate choice, and a wrong one is refused at start-up.
  { key: 'fleet.redisCluster', scope: 'top', kind: { type: 'boolean' }, env: 'BREAKWATER_FLEET_REDIS_CLUSTER' },
  { key: 'fleet.service', scope: 'top', kind: { type: 'string' }, env: 'BREAKWATER_FLEET_SERVICE' },
  { key: 'fleet.expectedInstances', scope: 'top', kind: integer(1, 1_000_000), env: 'BREAKWATER_FLEET_EXPECTED_INSTANCES' },
  // At least 10 ms: each refresh is a Redis round trip per target.
  { key: 'fleet.syncMs', scope: 'top', kind: integer(10, 60_000), env: 'BREAKWATER_FLEET_SYNC_MS' },

  { key: 'name', scope: 'policy', kind: { type: 'string' } },
  { key: 'telemetry', scope: 'policy', kind: { type: 'boolean' } },
  { key: 'timeoutMs', scope: 'policy', kind: millis(0), env: 'BREAKWATER_TIMEOUT_MS', zero: 'no timeout' },
  { key: 'deadlineMs', scope: 'policy', kind: millis(0), env: 'BREAKWATER_DEADLINE_MS', zero: 'no deadline' },
  { key: 'fleet', scope: 'policy', kind: { type: 'boolean' }, env: 'BREAKWATER_FLEET' },

  { key: 'retry.maxAttempts', scope: 'policy', kind: integer(1), env: 'BREAKWATER_RETRY_MAX_ATTEMPTS' },
  { key: 'retry.baseDelayMs', scope: 'policy', kind: millis(0), env: 'BREAKWATER_RETRY_BASE_DELAY_MS' },
  { key: 'retry.maxDelayMs', scope: 'policy', kind: millis(0), env: 'BREAKWATER_RETRY_MAX_DELAY_MS' },
  { key: 'retry.multiplier', scope: 'policy', kind: number(1), env: 'BREAKWATER_RETRY_MULTIPLIER' },
  { key: 'retry.jitter', scope: 'policy', kind: oneOf(JITTER_MODES), env: 'BREAKWATER_RETRY_JITTER' },
  { key: 'retry.budgetRatio', scope: 'policy', kind: share(false), env: 'BREAKWATER_RETRY_BUDGET_RATIO' },
  { key: 'retry.budgetMinPerSecond', scope: 'policy', kind: integer(0), env: 'BREAKWATER_RETRY_BUDGET_MIN_PER_SECOND' },
  { key: 'retry.budgetWindowMs', scope: 'policy', kind: millis(1), env: 'BREAKWATER_RETRY_BUDGET_WINDOW_MS' },

  { key: 'breaker.mode', scope: 'policy', kind: oneOf(BREAKER_MODES), env: 'BREAKWATER_BREAKER' },
  { key: 'breaker.threshold', scope: 'policy', kind: integer(1), env: 'BREAKWATER_BREAKER_THRESHOLD' },
  { key: 'breaker.failureRate', scope: 'policy', kind: share(true), env: 'BREAKWATER_BREAKER_FAILURE_RATE' },
  { key: 'breaker.minCalls', scope: 'policy', kind: integer(1), env: 'BREAKWATER_BREAKER_MIN_CALLS' },
  { key: 'breaker.windowMs', scope: 'policy', kind: millis(1), env: 'BREAKWATER_BREAKER_WINDOW_MS' },
  { key: 'breaker.slowCallMs', scope: 'policy', kind: millis(0), env: 'BREAKWATER_BREAKER_SLOW_CALL_MS', zero: 'no slow-call rule' },
  { key: 'breaker.slowCallRate', scope: 'policy', kind: share(true), env: 'BREAKWATER_BREAKER_SLOW_CALL_RATE' },
  { key: 'breaker.openMs', scope: 'policy', kind: millis(1), env: 'BREAKWATER_BREAKER_OPEN_MS' },
  { key: 'breaker.maxOpenMs', scope: 'policy', kind: millis(1), env: 'BREAKWATER_BREAKER_MAX_OPEN_MS' },
  { key: 'breaker.halfOpenProbes', scope: 'policy', kind: integer(1), env: 'BREAKWATER_BREAKER_HALF_OPEN_PROBES' },
  { key: 'breaker.failureCategories', scope: 'policy', kind: { type: 'categories' } },

  { key: 'bulkhead.maxConcurrent', scope: 'policy', kind: integer(0), env: 'BREAKWATER_BULKHEAD_MAX_CONCURRENT', zero: 'no bulkhead' },
  { key: 'bulkhead.maxQueue', scope: 'policy', kind: integer(0), env: 'BREAKWATER_BULKHEAD_MAX_QUEUE', zero: 'no queue: a call finding every slot taken is rejected at once' },

  { key: 'concurrencyLimit.mode', scope: 'policy', kind: oneOf(CONCURRENCY_LIMIT_MODES), env: 'BREAKWATER_CONCURRENCY_LIMIT' },
  { key: 'concurrencyLimit.initialLimit', scope: 'policy', kind: integer(1), env: 'BREAKWATER_CONCURRENCY_LIMIT_INITIAL' },
  { key: 'concurrencyLimit.minLimit', scope: 'policy', kind: integer(1), env: 'BREAKWATER_CONCURRENCY_LIMIT_MIN' },
  { key: 'concurrencyLimit.maxLimit', scope: 'policy', kind: integer(1), env: 'BREAKWATER_CONCURRENCY_LIMIT_MAX' },
  // Above 0, where the engine takes 0: with no allowance, a window's noise alone shrinks the
  // limit. At most 1: `25` meant as 25% would let latency grow 26-fold before it shrank.
  { key: 'concurrencyLimit.buffer', scope: 'policy', kind: share(true), env: 'BREAKWATER_CONCURRENCY_LIMIT_BUFFER' },
  { key: 'concurrencyLimit.sampleWindowMs', scope: 'policy', kind: millis(1), env: 'BREAKWATER_CONCURRENCY_LIMIT_SAMPLE_WINDOW_MS' },
  { key: 'concurrencyLimit.minRttIntervalMs', scope: 'policy', kind: millis(1), env: 'BREAKWATER_CONCURRENCY_LIMIT_MIN_RTT_INTERVAL_MS' },
  { key: 'concurrencyLimit.maxQueue', scope: 'policy', kind: integer(0), env: 'BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE', zero: 'no queue: an attempt finding every slot taken fails at once' },
  { key: 'concurrencyLimit.maxWaitMs', scope: 'policy', kind: millis(0), env: 'BREAKWATER_CONCURRENCY_LIMIT_MAX_WAIT_MS', zero: 'an attempt finding every slot taken fails at once' },

  { key: 'rateLimit.ratePerSecond', scope: 'policy', kind: number(0), env: 'BREAKWATER_RATE_LIMIT_PER_SECOND', zero: 'no hand-set rate' },
  { key: 'rateLimit.burst', scope: 'policy', kind: integer(1), env: 'BREAKWATER_RATE_LIMIT_BURST' },
  { key: 'rateLimit.fromHeaders', scope: 'policy', kind: { type: 'boolean' }, env: 'BREAKWATER_RATE_LIMIT_FROM_HEADERS' },
  { key: 'rateLimit.maxWaitMs', scope: 'policy', kind: millis(0), env: 'BREAKWATER_RATE_LIMIT_MAX_WAIT_MS', zero: 'an attempt that would wait fails at once' },

  { key: 'hedge.enabled', scope: 'policy', kind: { type: 'boolean' }, env: 'BREAKWATER_HEDGE' },
  { key: 'hedge.delayMs', scope: 'policy', kind: millisOr('adaptive'), env: 'BREAKWATER_HEDGE_DELAY_MS' },
  { key: 'hedge.percentile', scope: 'policy', kind: { type: 'percentile' }, env: 'BREAKWATER_HEDGE_PERCENTILE' },
  { key: 'hedge.minDelayMs', scope: 'policy', kind: millis(0), env: 'BREAKWATER_HEDGE_MIN_DELAY_MS' },
  { key: 'hedge.maxDelayMs', scope: 'policy', kind: millis(0), env: 'BREAKWATER_HEDGE_MAX_DELAY_MS' },
  // At least 1, where the engine takes 0: with no sample there is no estimate to wait for.
  { key: 'hedge.minSamples', scope: 'policy', kind: integer(1), env: 'BREAKWATER_HEDGE_MIN_SAMPLES' },
  { key: 'hedge.maxHedges', scope: 'policy', kind: integer(1), env: 'BREAKWATER_HEDGE_MAX_HEDGES' },
  // Unbounded above, unlike retry.budgetRatio: retries and hedges together may outnumber first attempts.
  { key: 'hedge.budgetRatio', scope: 'policy', kind: number(0), env: 'BREAKWATER_HEDGE_BUDGET_RATIO', zero: 'no hedge is ever sent' },
];

/** Pairs of policy fields where the first may not exceed the second. */
export const ORDERED_PAIRS: ReadonlyArray<readonly [low: string, high: string]> = [
  ['retry.baseDelayMs', 'retry.maxDelayMs'],
  ['breaker.openMs', 'breaker.maxOpenMs'],
  ['hedge.minDelayMs', 'hedge.maxDelayMs'],
  // min <= max first: once an unset initialLimit is fitted between them (FITTED_DEFAULTS), it is the only pair left to judge.
  ['concurrencyLimit.minLimit', 'concurrencyLimit.maxLimit'],
  ['concurrencyLimit.minLimit', 'concurrencyLimit.initialLimit'],
  ['concurrencyLimit.initialLimit', 'concurrencyLimit.maxLimit'],
];

/**
 * Built-in values that make way for the other side of their ORDERED_PAIRS, in this
 * order, as the engine's resolveGradientSettings does: `maxLimit: 10` alone must not fail
 * on the default initialLimit of 20. Each is raised to its lower bounds, then lowered to
 * its upper ones.
 */
export const FITTED_DEFAULTS: readonly string[] = ['concurrencyLimit.maxLimit', 'concurrencyLimit.initialLimit'];

/** Policy sections a file may set to `false`, and the field values `false` stands for. */
export const SECTION_OFF: Readonly<Record<string, ReadonlyArray<readonly [key: string, value: unknown]>>> = {
  retry: [['retry.maxAttempts', 1]],
  breaker: [['breaker.mode', 'off']],
  bulkhead: [['bulkhead.maxConcurrent', 0]],
  concurrencyLimit: [['concurrencyLimit.mode', 'off']],
  // Neither source of a limit: no hand-set rate, and the dependency's headers ignored.
  rateLimit: [
    ['rateLimit.ratePerSecond', 0],
    ['rateLimit.fromHeaders', false],
  ],
  hedge: [['hedge.enabled', false]],
};

/**
 * Sections a resolved policy shows as `false` whenever their fields hold the values of
 * SECTION_OFF, whichever layers set them; retry and breaker keep theirs (maxAttempts 1, mode off).
 */
export const SHOWN_AS_FALSE = ['bulkhead', 'concurrencyLimit', 'rateLimit', 'hedge'] as const;

/** Where a raw value came from: decides how booleans and lists are spelled. */
export type Origin = 'env' | 'file';

/** What a field accepts, in words, for error messages. */
export function describeField(field: Field, origin: Origin): string {
  return describeKind(field.kind, origin) + (field.zero === undefined ? '' : ` (0 = ${field.zero})`);
}

function describeKind(kind: Kind, origin: Origin): string {
  switch (kind.type) {
    case 'integer':
      return kind.max === Number.MAX_SAFE_INTEGER ? `an integer >= ${kind.min}` : `an integer from ${kind.min} to ${kind.max}`;
    case 'integerOr':
      return `${describeKind({ type: 'integer', min: kind.min, max: kind.max }, origin)}, or ${origin === 'env' ? kind.word : JSON.stringify(kind.word)}`;
    case 'number':
      if (kind.max === Number.MAX_VALUE) return `a number ${kind.minExclusive ? '>' : '>='} ${kind.min}`;
      return kind.minExclusive ? `a number > ${kind.min} and <= ${kind.max}` : `a number from ${kind.min} to ${kind.max}`;
    case 'percentile':
      return 'a number > 0 and < 1, the percentile as a share (0.95 for p95)';
    case 'boolean':
      return origin === 'env' ? 'true, false, 1 or 0' : 'true or false';
    case 'enum':
      return `one of ${kind.values.join(', ')}`;
    case 'string':
      return 'a non-empty string';
    case 'host':
      return 'an IP address or a host name';
    case 'hosts':
      return origin === 'env' ? 'a comma-separated list of IP addresses and host names' : 'a list of IP addresses and host names';
    case 'instrumentations':
      return origin === 'env'
        ? `a comma-separated list of ${INSTRUMENTATIONS.join(', ')}, or all, or none`
        : `a list of ${INSTRUMENTATIONS.join(', ')}, or "all", or "none"`;
    case 'categories':
      return `a list of error categories (${ERROR_CATEGORIES.join(', ')})`;
    case 'redisUrl':
      return `a Redis URL, ${REDIS_URL_FORM} for TLS`;
  }
}

/** How a message shows a value given for a field: quoted, unless the field is secret. */
export function shownValue(field: Field, value: unknown): string {
  return field.secret === true ? SECRET_NOT_SHOWN : formatValue(value);
}

/** What a message says in place of a secret value. */
export const SECRET_NOT_SHOWN = '(value not shown: it may hold a password)';

export type Checked = { ok: true; value: unknown } | { ok: false; hint?: string };

/**
 * Checks a typed value (a file's value, or an environment string already converted by
 * parseEnvValue) against the field's kind and bounds, and returns it in canonical form
 * (lists deduplicated and in a fixed order).
 */
export function checkValue(field: Field, value: unknown): Checked {
  const kind = field.kind;
  switch (kind.type) {
    case 'integer':
      return checkInteger(value, kind.min, kind.max);
    case 'integerOr':
      if (value === kind.word) return { ok: true, value };
      return typeof value === 'string' ? { ok: false, ...didYouMean(value, [kind.word]) } : checkInteger(value, kind.min, kind.max);
    case 'percentile':
      return typeof value === 'number' && value > 0 && value < 1 ? { ok: true, value } : { ok: false, ...percentHint(value) };
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value) || value > kind.max) return { ok: false };
      const aboveMin = kind.minExclusive ? value > kind.min : value >= kind.min;
      return aboveMin ? { ok: true, value: value + 0 } : { ok: false };
    }
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : { ok: false };
    case 'enum':
      if (typeof value === 'string' && kind.values.includes(value)) return { ok: true, value };
      return { ok: false, ...didYouMean(value, kind.values) };
    case 'string':
      return typeof value === 'string' && value.trim() !== '' ? { ok: true, value } : { ok: false };
    case 'host': {
      const host = typeof value === 'string' ? normaliseHost(value) : undefined;
      return host === undefined ? { ok: false } : { ok: true, value: host };
    }
    case 'hosts': {
      if (!Array.isArray(value)) return { ok: false };
      const hosts = value.map((item) => (typeof item === 'string' ? normaliseHost(item) : undefined));
      return hosts.every((h) => h !== undefined) ? { ok: true, value: [...new Set(hosts)] } : { ok: false };
    }
    case 'instrumentations':
      return checkInstrumentations(value);
    case 'categories':
      return checkList(value, ERROR_CATEGORIES);
    case 'redisUrl':
      return checkRedisUrl(value);
  }
}

/** The URL read into an endpoint, whose credentials no message or printout can show; the hint never quotes the URL. */
function checkRedisUrl(value: unknown): Checked {
  if (typeof value !== 'string') return { ok: false, hint: 'not text' };
  try {
    return { ok: true, value: parseRedisUrl(value) };
  } catch (error) {
    return { ok: false, ...(error instanceof RedisUrlError ? { hint: error.reason } : {}) };
  }
}

function checkInteger(value: unknown, min: number, max: number): Checked {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
    ? { ok: true, value: value + 0 } // + 0 turns -0 into 0
    : { ok: false };
}

const PERCENT_TEXT = /^p?(\d+(?:\.\d+)?)%?$/i;

/** `95`, `p95` or `95%` were meant as a percentile: the share they stand for. */
function percentHint(value: unknown): { hint?: string } {
  const text = typeof value === 'string' ? PERCENT_TEXT.exec(value.trim())?.[1] : undefined;
  const percent = typeof value === 'number' ? value : Number(text);
  // toFixed: 99.9 / 100 is 0.9990000000000001 in binary floating point.
  return percent > 1 && percent < 100 ? { hint: `did you mean ${Number((percent / 100).toFixed(10))}?` } : {};
}

function didYouMean(value: unknown, candidates: readonly string[]): { hint?: string } {
  const near = typeof value === 'string' ? suggest(value, candidates) : undefined;
  return near === undefined ? {} : { hint: `did you mean ${near}?` };
}

function checkList<T extends string>(value: unknown, allowed: readonly T[]): Checked {
  if (!Array.isArray(value)) return { ok: false };
  for (const item of value) {
    if (typeof item !== 'string' || !(allowed as readonly string[]).includes(item)) return { ok: false, ...didYouMean(item, allowed) };
  }
  return { ok: true, value: allowed.filter((a) => value.includes(a)) };
}

function checkInstrumentations(value: unknown): Checked {
  const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (!Array.isArray(items)) return { ok: false };
  if (items.length === 0) return { ok: true, value: [] }; // a file's `[]`: the environment's empty value means unset
  if (items.length === 1 && items[0] === 'all') return { ok: true, value: [...INSTRUMENTATIONS] };
  if (items.length === 1 && items[0] === 'none') return { ok: true, value: [] };
  if (items.includes('all') || items.includes('none')) return { ok: false, hint: '"all" and "none" stand alone' };
  return checkList(items, INSTRUMENTATIONS);
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Converts an environment variable's text to the field's type, then checks it. Enum,
 * boolean and list values are case-insensitive, as the OpenTelemetry specification asks
 * of environment variables; numbers must be plain decimals (no `0x`, `Infinity`, units).
 */
export function parseEnvValue(field: Field, raw: string): Checked {
  const text = raw.trim();
  switch (field.kind.type) {
    case 'integer':
      return INTEGER_TEXT.test(text) ? checkValue(field, Number(text)) : { ok: false };
    case 'number':
      return NUMBER_TEXT.test(text) ? checkValue(field, Number(text)) : { ok: false };
    case 'integerOr':
      return checkValue(field, INTEGER_TEXT.test(text) ? Number(text) : text.toLowerCase());
    case 'percentile':
      // Text that is no number is still checked: `p95` gets its hint.
      return checkValue(field, NUMBER_TEXT.test(text) ? Number(text) : text);
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower === 'true' || lower === '1') return { ok: true, value: true };
      if (lower === 'false' || lower === '0') return { ok: true, value: false };
      return { ok: false };
    }
    case 'enum':
    case 'instrumentations':
      return checkValue(field, text.toLowerCase());
    case 'string':
    case 'host':
    case 'redisUrl':
      return checkValue(field, text);
    case 'hosts':
      return checkValue(field, text.split(',').map((s) => s.trim()).filter((s) => s !== ''));
    case 'categories':
      return checkValue(field, text.toLowerCase().split(',').map((s) => s.trim()));
  }
}
