import type { Classification, ErrorCategory, Severity } from './types.js';

/**
 * What a category means when nothing more specific is known: its severity, whether the
 * same request may succeed if sent again, and a sentence safe to show an end user.
 *
 * Severity mapping (design.md section 2, decided here):
 *
 * | severity | categories | why |
 * |---|---|---|
 * | critical | data_integrity; configuration from a TLS certificate or handshake failure | data or security at risk |
 * | high | circuit_open, authentication, authorization, configuration, system | the dependency is unavailable to us until someone acts (or our own code is broken) |
 * | medium | network, timeout, rate_limit, concurrency, resource, external_service, unknown | transient failures; unknown sits here so it is neither paged on nor ignored |
 * | low | validation, not_found, business_logic | the request itself was wrong |
 * | info | cancelled | the caller changed its mind; not a failure of anything |
 *
 * `system` is high because a TypeError in our own process will not go away by waiting.
 * `unknown` is medium: it has to be looked at, but it is not known to be an outage.
 * Built-in rules override the default only where the table in docs/classification.md
 * says so (TLS codes critical; pg XX001/XX002 data corruption critical; HTTP 409,
 * 501 and 505 not transient).
 *
 * User messages never contain anything from the failure: they are these fixed
 * sentences, or a user rule's own `userMessage`.
 */
export interface CategoryDefaults {
  readonly severity: Severity;
  readonly transient: boolean;
  readonly userMessage: string;
}

export const CATEGORY_DEFAULTS: Readonly<Record<ErrorCategory, CategoryDefaults>> = Object.freeze({
  network: { severity: 'medium', transient: true, userMessage: 'The service could not be reached. Please try again.' },
  timeout: { severity: 'medium', transient: true, userMessage: 'The service took too long to respond. Please try again.' },
  rate_limit: { severity: 'medium', transient: true, userMessage: 'Too many requests. Please wait a moment and try again.' },
  authentication: { severity: 'high', transient: false, userMessage: 'The request could not be authenticated.' },
  authorization: { severity: 'high', transient: false, userMessage: 'The request is not permitted.' },
  validation: { severity: 'low', transient: false, userMessage: 'The request is invalid. Please check your input.' },
  not_found: { severity: 'low', transient: false, userMessage: 'The requested resource was not found.' },
  concurrency: { severity: 'medium', transient: true, userMessage: 'The request conflicted with another change. Please try again.' },
  data_integrity: { severity: 'critical', transient: false, userMessage: 'The change conflicts with existing data and was not saved.' },
  resource: { severity: 'medium', transient: true, userMessage: 'The service is temporarily out of capacity. Please try again later.' },
  external_service: { severity: 'medium', transient: true, userMessage: 'The service is temporarily unavailable. Please try again.' },
  configuration: { severity: 'high', transient: false, userMessage: 'The service is not configured correctly. Please contact support.' },
  business_logic: { severity: 'low', transient: false, userMessage: 'The request could not be completed.' },
  system: { severity: 'high', transient: false, userMessage: 'An unexpected error occurred. Please contact support.' },
  cancelled: { severity: 'info', transient: false, userMessage: 'The request was cancelled.' },
  circuit_open: { severity: 'high', transient: false, userMessage: 'The service is temporarily unavailable. Please try again later.' },
  unknown: { severity: 'medium', transient: false, userMessage: 'An unexpected error occurred. Please try again later.' },
});

/** Overrides of a category's defaults for one built-in entry or user rule. */
export interface ResultOverrides {
  readonly severity?: Severity | undefined;
  readonly transient?: boolean | undefined;
  readonly userMessage?: string | undefined;
}

/**
 * A frozen Classification. Built-in tables call this once per entry at load time (or
 * once per code, behind a bounded cache), so the hot path hands out shared objects and
 * allocates only when a result carries `retryAfterMs`.
 */
export function makeResult(category: ErrorCategory, code: string, rule: string, overrides?: ResultOverrides): Classification {
  const d = CATEGORY_DEFAULTS[category];
  return Object.freeze({
    category,
    severity: overrides?.severity ?? d.severity,
    transient: overrides?.transient ?? d.transient,
    code,
    rule,
    userMessage: overrides?.userMessage ?? d.userMessage,
  });
}

/** The same classification carrying a Retry-After delay (a new object: the delay is per call). */
export function withRetryAfter(result: Classification, retryAfterMs: number): Classification {
  return Object.freeze({
    category: result.category,
    severity: result.severity,
    transient: result.transient,
    code: result.code,
    rule: result.rule,
    userMessage: result.userMessage,
    retryAfterMs,
  });
}

/**
 * A per-code cache of frozen results, bounded so that a stream of distinct codes from
 * hostile or buggy input cannot grow memory: past `max` entries results are built per
 * call instead of remembered.
 */
export class ResultCache {
  private readonly map = new Map<string, Classification>();
  constructor(private readonly max = 512) {}

  lookup(code: string): Classification | undefined {
    return this.map.get(code);
  }

  /** Remembers `result` under `code` while there is room; returns it either way. */
  remember(code: string, result: Classification): Classification {
    if (this.map.size < this.max) this.map.set(code, result);
    return result;
  }
}
