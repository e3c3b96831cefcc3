export type { Classification, ClassifyHints, ErrorCategory, Severity, ClientName } from './classify/types.js';
export { ERROR_CATEGORIES, SEVERITIES, CLIENTS } from './classify/types.js';
export type { ClassificationRule, RuleCondition } from './classify/rule-types.js';
export * from './errors.js';
export type * from './engine/options.js';
export { JITTER_MODES, BREAKER_MODES, SUPPRESS_REASONS } from './engine/options.js';
export type { Clock } from './engine/clock.js';
export { systemClock } from './engine/clock.js';
