// The public API of breakwater. createPolicy, classify and the names below are what
// instrumentations and users build on; everything else is internal.
export { createPolicy } from './engine/policy.js';
export type { Policy, ExecuteOptions, CircuitHandle, ReplayDecision } from './engine/policy.js';
export type { Attempt } from './engine/attempt.js';
export type { PolicyEvents, PolicyEventName, PolicyListener } from './engine/events.js';
export type { CircuitState, CircuitStats } from './engine/breaker/circuit.js';
export { classify, createClassifier, parseRetryAfter } from './classify/classify.js';
export type { Classification, ClassifyHints, ErrorCategory, Severity, ClientName } from './classify/types.js';
export { ERROR_CATEGORIES, SEVERITIES, CLIENTS } from './classify/types.js';
export type { ClassificationRule, RuleCondition } from './classify/rule-types.js';
export * from './errors.js';
export type * from './engine/options.js';
export { JITTER_MODES, BREAKER_MODES, SUPPRESS_REASONS } from './engine/options.js';
export type { Clock } from './engine/clock.js';
export { systemClock } from './engine/clock.js';
export * as telemetryNames from './telemetry/names.js';
export { setTargetLabelLimit, OVERFLOW_TARGET } from './telemetry/target-label.js';
export { configureTelemetry, type TelemetrySettings } from './telemetry/settings.js';
export { loadConfig, policyForTarget, ConfigError, BUILT_IN_DEFAULTS, ENV_VARIABLES, CONFIG_VARIABLE, INSTRUMENTATIONS } from './config/index.js';
export type { EffectiveConfig, ResolvedPolicy } from './config/index.js';
export { idempotent } from './runtime/idempotency.js';
export { currentRuntime } from './runtime/global.js';
export { PatternDetector, feedPolicy, reportDetection, describeDetection } from './patterns/index.js';
export type { Detection, PatternDetectorOptions, Count as PatternCount } from './patterns/index.js';
export type { Runtime, CircuitStatus } from './runtime/runtime.js';
