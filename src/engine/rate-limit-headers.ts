/**
 * What an HTTP dependency says about its rate limit, read from response headers into
 * bounded numbers. Pure: no clock reads (HTTP-dates and epoch resets are measured
 * from the `wallNow` argument), never throws, bounded work per call.
 *
 * Forms read (docs/engine.md, "Rate limits"):
 * - `Retry-After`: delta seconds or an HTTP-date (RFC 9110 10.2.3).
 * - draft-ietf-httpapi-ratelimit-headers, newest first: `RateLimit: "p";r=50;t=30`
 *   with `RateLimit-Policy: "p";q=100;w=60` (drafts 08+); `RateLimit: limit=100,
 *   remaining=50, reset=30` (draft 07); `RateLimit-Limit` / `-Remaining` / `-Reset`
 *   (drafts up to 06, and most servers today).
 * - the common `X-RateLimit-Limit` / `-Remaining` / `-Reset`, and Discord's
 *   `X-RateLimit-Reset-After` (fractional seconds), preferred over its epoch `-Reset`.
 */

/** Reads one response header by its lower-case name; a repeated header may come as an array. */
export type HeaderGetter = (name: string) => string | string[] | undefined;

export interface RateLimitInfo {
  /** Retry-After, in ms from now, within [0, maxWaitMs]. */
  readonly retryAfterMs?: number;
  /** Attempts the dependency still accepts before `resetMs` (a non-negative integer). */
  readonly remaining?: number;
  /** When the dependency's window resets, in ms from now, within [0, maxWaitMs]. */
  readonly resetMs?: number;
  /** The dependency's quota per window (a non-negative integer); informational. */
  readonly limit?: number;
}

/** The default cap on any wait a header can impose: a dependency cannot park callers for hours. */
export const RATE_LIMIT_MAX_WAIT_MS = 600_000;
/** A longer header value is ignored: real ones are a few dozen bytes. */
export const MAX_HEADER_LENGTH = 1024;
/** At most this many list members (policies, repeated field lines) are looked at. */
export const MAX_LIST_ENTRIES = 16;

/*
 * A reset number this large cannot be a delta (1e9 s is 31 years): it is an epoch time,
 * in seconds (GitHub, Discord, most `X-RateLimit-Reset`s) or, above 1e12, in ms. Both
 * thresholds stand for dates in 2001, so no current epoch time falls under them.
 */
const EPOCH_SECONDS_ABOVE = 1e9;
const EPOCH_MS_ABOVE = 1e12;

/** Integers as structured fields allow them (15 digits): always finite and exact. */
const INTEGER = /^\d{1,15}$/;
/** Seconds, possibly fractional (Discord's `1.5`, an epoch `1470173023.123`). */
const SECONDS = /^\d{1,15}(?:\.\d{1,6})?$/;

const EMPTY: RateLimitInfo = Object.freeze({});

/** The cap actually applied: garbage means the default, never "no cap". */
export function waitCap(maxWaitMs: number | undefined): number {
  return typeof maxWaitMs === 'number' && Number.isFinite(maxWaitMs) && maxWaitMs >= 0 ? maxWaitMs : RATE_LIMIT_MAX_WAIT_MS;
}

/**
 * Parses the rate-limit headers of one response. A field is present only when its
 * header was well formed; garbage of any kind leaves it out. `wallNow` is Date.now()'s
 * value (HTTP-dates and epoch resets are wall-clock times); the engine's own clock is
 * monotonic, so the result is relative.
 */
export function parseRateLimitHeaders(get: HeaderGetter, wallNow: number, maxWaitMs: number = RATE_LIMIT_MAX_WAIT_MS): RateLimitInfo {
  try {
    const cap = waitCap(maxWaitMs);
    const info: Mutable<RateLimitInfo> = {};
    const retryAfter = parseRetryAfter(first(get, 'retry-after'), wallNow);
    if (retryAfter !== undefined) info.retryAfterMs = Math.min(retryAfter, cap);
    const window = structuredWindow(get, wallNow) ?? numberedWindow(get, 'ratelimit-', wallNow) ?? xWindow(get, wallNow);
    if (window !== undefined) {
      if (window.remaining !== undefined) info.remaining = window.remaining;
      if (window.resetMs !== undefined) info.resetMs = Math.min(window.resetMs, cap);
      if (window.limit !== undefined) info.limit = window.limit;
    }
    return info.retryAfterMs === undefined && window === undefined ? EMPTY : info;
  } catch {
    // A getter's array could be a hostile Proxy; the promise is "never throws".
    return EMPTY;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** What one family of headers says about the window (everything but Retry-After). */
type Window = Omit<Mutable<RateLimitInfo>, 'retryAfterMs'>;

/** The header's value, or undefined when absent, not text, too long, or the getter throws. */
function header(get: HeaderGetter, name: string): string | string[] | undefined {
  let value: unknown;
  try {
    value = get(name);
  } catch {
    return undefined;
  }
  if (typeof value === 'string') return value.length <= MAX_HEADER_LENGTH ? value : undefined;
  return Array.isArray(value) ? (value as unknown[]).slice(0, MAX_LIST_ENTRIES).filter(isShortText) : undefined;
}

function isShortText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_HEADER_LENGTH;
}

/** A single-valued header: a repeated one counts by its first line. */
function first(get: HeaderGetter, name: string): string | undefined {
  const value = header(get, name);
  return Array.isArray(value) ? value[0] : value;
}

/** A list-valued header: repeated field lines are one list (RFC 9110 5.3), at most MAX_LIST_ENTRIES members. */
function members(get: HeaderGetter, name: string): string[] {
  const value = header(get, name);
  if (value === undefined) return [];
  const lines = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const line of lines) {
    for (const member of splitOutsideQuotes(line, ',')) {
      if (out.length === MAX_LIST_ENTRIES) return out;
      if (member !== '') out.push(member);
    }
  }
  return out;
}

/** Splits on `sep` outside structured-field strings (`"a,b"`, with `\"` escapes), trimming each part. */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === sep) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

function integer(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  return INTEGER.test(t) ? Number(t) : undefined;
}

/**
 * A reset value as ms from `wallNow`: delta seconds, or an epoch time in seconds or ms
 * when it is too large to be a delta. An epoch time in the past is 0 (the window has
 * already reset).
 */
export function parseReset(text: string | undefined, wallNow: number): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!SECONDS.test(t)) return undefined;
  const value = Number(t);
  if (value <= EPOCH_SECONDS_ABOVE) return Math.ceil(value * 1000);
  if (!Number.isFinite(wallNow)) return undefined;
  const at = value > EPOCH_MS_ABOVE ? value : value * 1000;
  return Math.max(0, Math.ceil(at - wallNow));
}

/** Seconds, fractional allowed, as ms (Discord's X-RateLimit-Reset-After): never an epoch. */
function deltaSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  return SECONDS.test(t) ? Math.ceil(Number(t) * 1000) : undefined;
}

interface Member {
  /** The bare item before the parameters: a policy name, a quota, or `key=value` (draft 07). */
  readonly head: string;
  readonly params: ReadonlyMap<string, string>;
}

function parseMember(text: string): Member {
  const [head = '', ...rest] = splitOutsideQuotes(text, ';');
  const params = new Map<string, string>();
  for (const param of rest.slice(0, MAX_LIST_ENTRIES)) {
    const eq = param.indexOf('=');
    if (eq > 0) params.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim());
  }
  return { head, params };
}

/**
 * `RateLimit` in either draft form. Drafts 08+: a list of policies, `"name";r=R;t=T`,
 * of which the most restrictive counts (the longest wait per remaining attempt), with
 * its quota from the `RateLimit-Policy` member of the same name. Draft 07: the
 * dictionary `limit=L, remaining=R, reset=T`.
 */
function structuredWindow(get: HeaderGetter, wallNow: number): Window | undefined {
  const parsed = members(get, 'ratelimit').map(parseMember);
  if (parsed.length === 0) return undefined;
  let best: { name: string; window: Window } | undefined;
  const dictionary: Window = {};
  for (const { head, params } of parsed) {
    const eq = head.indexOf('=');
    if (eq >= 0) {
      const key = head.slice(0, eq).trim().toLowerCase();
      const value = head.slice(eq + 1);
      if (key === 'remaining') dictionary.remaining = integer(value);
      else if (key === 'reset') dictionary.resetMs = parseReset(value, wallNow);
      else if (key === 'limit') dictionary.limit = integer(value);
      continue;
    }
    const remaining = integer(params.get('r'));
    if (remaining === undefined) continue;
    const window: Window = { remaining, resetMs: parseReset(params.get('t'), wallNow) };
    if (best === undefined || restrictiveness(window) > restrictiveness(best.window)) best = { name: head, window };
  }
  const policies = members(get, 'ratelimit-policy').map(parseMember);
  if (best !== undefined) {
    const limit = quotaOf(policies.find((p) => p.head === best.name) ?? policies[0]);
    return limit === undefined ? best.window : { ...best.window, limit };
  }
  if (dictionary.remaining === undefined && dictionary.resetMs === undefined) return undefined;
  return { ...dictionary, limit: dictionary.limit ?? quotaOf(policies[0]) };
}

/** Wait per remaining attempt: an exhausted policy outranks any that still has room. */
function restrictiveness(window: Window): number {
  const reset = window.resetMs ?? 0;
  return window.remaining === 0 ? Number.MAX_SAFE_INTEGER + reset : reset / window.remaining!;
}

/** A policy's quota: `q=` (drafts 08+) or the bare integer (`10;w=1`, drafts up to 07). */
function quotaOf(policy: Member | undefined): number | undefined {
  if (policy === undefined) return undefined;
  return integer(policy.params.get('q')) ?? integer(policy.head);
}

/** `<prefix>remaining`, `<prefix>reset`, `<prefix>limit`; a limit may be a list (`10, 10;w=1`): its first member. */
function numberedWindow(get: HeaderGetter, prefix: string, wallNow: number, resetMs?: number): Window | undefined {
  const remaining = integer(first(get, `${prefix}remaining`));
  const reset = resetMs ?? parseReset(first(get, `${prefix}reset`), wallNow);
  if (remaining === undefined && reset === undefined) return undefined;
  const limitMember = members(get, `${prefix}limit`)[0];
  const limit = limitMember === undefined ? undefined : integer(parseMember(limitMember).head);
  return { remaining, resetMs: reset, limit };
}

/** The `X-RateLimit-*` family; Discord's Reset-After is a delta, immune to clock skew, so it wins. */
function xWindow(get: HeaderGetter, wallNow: number): Window | undefined {
  return numberedWindow(get, 'x-ratelimit-', wallNow, deltaSeconds(first(get, 'x-ratelimit-reset-after')));
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** `Sun, 06 Nov 1994 08:49:37 GMT` (the preferred form). */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete). */
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994` (obsolete; always UTC). */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function utcMs(year: number, monthName: string, day: number, h: number, m: number, s: number): number | undefined {
  const month = MONTHS.indexOf(monthName);
  if (h > 23 || m > 59 || s > 60) return undefined;
  const ms = Date.UTC(year, month, day, h, m, s);
  // Date.UTC rolls 31 Feb over into March; an impossible date is garbage, not a date.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  return ms;
}

function parseHttpDate(text: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) return utcMs(Number(m[3]), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850_DATE.exec(text);
  if (m !== null) {
    // RFC 9110 5.6.7: a two-digit year more than 50 years in the future is in the past century.
    let year = 2000 + Number(m[3]);
    if (year > new Date(nowMs).getUTCFullYear() + 50) year -= 100;
    return utcMs(year, m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME_DATE.exec(text);
  if (m !== null) return utcMs(Number(m[6]), m[1]!, Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return undefined;
}

let lastDateText = '';
let lastDateMs = 0;
/** When the cached date was parsed: RFC 850's two-digit year depends on "now". */
let lastDateParsedAt = 0;

/**
 * A Retry-After value (delta seconds, or an HTTP-date in any of the three forms of RFC
 * 9110) as milliseconds from `nowMs`. A date in the past gives 0; never negative.
 * Anything else (empty, negative, `soon`, `1e3`, a date that does not exist, a value
 * that is not a string or a finite non-negative number) gives undefined. Not capped:
 * the classifier's caller caps it at its own `maxDelayMs`.
 */
export function parseRetryAfter(value: unknown, nowMs: number = Date.now()): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.ceil(value * 1000) : undefined;
  }
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const seconds = deltaSeconds(value);
  if (seconds !== undefined) return seconds;
  const text = value.trim();
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) return undefined;
  let at: number | undefined;
  // A server sends the same date to every client for a second or more: remember the last one.
  if (text === lastDateText && Math.abs(nowMs - lastDateParsedAt) < 86_400_000) at = lastDateMs;
  else {
    at = parseHttpDate(text, nowMs);
    if (at === undefined) return undefined;
    lastDateText = text;
    lastDateMs = at;
    lastDateParsedAt = nowMs;
  }
  const delta = Math.ceil(at - nowMs);
  return delta > 0 ? delta : 0;
}
