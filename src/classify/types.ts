/** Stable category strings (design.md section 2); they are metric label values. */
export const ERROR_CATEGORIES = [
  'network',
  'timeout',
  'rate_limit',
  'authentication',
  'authorization',
  'validation',
  'not_found',
  'concurrency',
  'data_integrity',
  'resource',
  'external_service',
  'configuration',
  'business_logic',
  'system',
  'cancelled',
  'circuit_open',
  'unknown',
] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Clients breakwater knows; `custom` is anything driven through `policy.execute` directly. */
export const CLIENTS = ['http', 'fetch', 'pg', 'ioredis', 'redis', 'custom'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface Classification {
  readonly category: ErrorCategory;
  readonly severity: Severity;
  /** May the same request succeed if sent again? (Replay safety is decided elsewhere.) */
  readonly transient: boolean;
  /**
   * Low-cardinality code, usable as `error.type`: a system error code (`ECONNRESET`),
   * an HTTP status as a string (`503`), a SQLSTATE (`40001`), a Redis reply prefix
   * (`WRONGTYPE`), an undici code, or an error name.
   */
  readonly code: string;
  /** Id of the rule that decided: a user rule's id, or a built-in rule id (`builtin:...`). */
  readonly rule: string;
  /** Safe to show an end user: no secrets, no internals. */
  readonly userMessage: string;
  /** From a `Retry-After` header (seconds or HTTP-date), in milliseconds from now. */
  readonly retryAfterMs?: number;
}

/** What an adapter knows about the call that failed. */
export interface ClassifyHints {
  readonly client?: string;
  readonly target?: string;
  readonly method?: string;
  /** The caller's own signal: an abort whose reason is this signal's reason is `cancelled`. */
  readonly callerSignal?: AbortSignal;
}
