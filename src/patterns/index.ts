export { PatternDetector, type Detection, type PatternDetectorOptions } from './detector.js';
export type { Count, CircuitStateName } from './counts.js';
export { feedPolicy } from './policy-feed.js';
export { describeDetection, reportDetection } from './report.js';
export { ALERT_RULES, type AlertRule } from './alerts.js';
export { DEFAULT_MAX_SERIES } from './windows.js';
