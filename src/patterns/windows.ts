/**
 * How many one-minute samples each counter keeps: the longest look-back any alert of
 * collector/rules/breakwater.rules.yaml takes on it, plus the sample at the window's
 * start. A window of W minutes at minute t reads the samples at t and t - W.
 */

/** Periodic: a burst 115 minutes ago, within a 10-minute window, of a 1-hour ratio (115 + 10 + 60). */
export const ATTEMPTS_HISTORY = 186;
/** Resource exhaustion: predict_linear over 15 minutes of a 5-minute ratio. */
export const RESOURCE_HISTORY = 21;
/** Retry storm, segmented (per category): 5-minute rates. */
export const SHORT_HISTORY = 6;
/** Slow error-budget burn: a 3-day ratio. */
export const OPERATIONS_HISTORY = 3 * 24 * 60 + 1;
/** Flapping: trips over 15 minutes. */
export const TRIPS_HISTORY = 16;

/** Error categories kept per dependency: the classifier's are fewer; a custom classifier's extra ones are dropped. */
export const MAX_CATEGORIES = 16;
/** Dependencies and breakers tracked when no limit is given. */
export const DEFAULT_MAX_SERIES = 100;
/**
 * After a silence (no event at all), how many past minutes are evaluated when events
 * resume. Longer than every `for` and `keep_firing_for` of the rules (1 hour), so an alert
 * ends as Prometheus's would; the minutes before that are skipped, not replayed.
 */
export const MAX_CATCH_UP_MINUTES = 90;
