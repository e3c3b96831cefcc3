import type { Counter, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';
import {
  DURATION_BUCKETS_S,
  METRIC_ATTEMPT_DURATION,
  METRIC_ATTEMPTS,
  METRIC_CIRCUIT_REJECTIONS,
  METRIC_CIRCUIT_STATE,
  METRIC_CIRCUIT_TRANSITIONS,
  METRIC_ERRORS,
  METRIC_OPERATION_DURATION,
  METRIC_PATTERN_DETECTED,
  METRIC_RETRIES_SUPPRESSED,
  METRIC_RETRY_DELAY,
} from './names.js';
import { activeMeter } from './providers.js';
import { observeCircuits } from './circuit-sources.js';

export interface Instruments {
  readonly attempts: Counter;
  readonly errors: Counter;
  readonly attemptDuration: Histogram;
  readonly operationDuration: Histogram;
  readonly retryDelay: Histogram;
  readonly retriesSuppressed: Counter;
  readonly circuitState: ObservableGauge;
  readonly circuitTransitions: Counter;
  readonly circuitRejections: Counter;
  readonly patternDetected: Counter;
}

let forMeter: Meter | undefined;
let instruments: Instruments | undefined;

/** The instruments on the current meter, or undefined when no metrics SDK is registered. */
export function activeInstruments(): Instruments | undefined {
  const meter = activeMeter();
  if (meter === undefined) return undefined;
  if (meter !== forMeter) {
    forMeter = meter;
    instruments = createInstruments(meter);
  }
  return instruments;
}

function createInstruments(meter: Meter): Instruments {
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: DURATION_BUCKETS_S } });
  const circuitState = meter.createObservableGauge(METRIC_CIRCUIT_STATE, {
    unit: '1',
    description: 'Breaker state per target: 1 for the current state, 0 for the others',
  });
  circuitState.addCallback(observeCircuits);
  return {
    attempts: meter.createCounter(METRIC_ATTEMPTS, { unit: '{attempt}', description: 'Attempts that reached for a dependency, or were rejected before it' }),
    errors: meter.createCounter(METRIC_ERRORS, { unit: '{error}', description: 'Classified failures of attempts' }),
    attemptDuration: seconds(METRIC_ATTEMPT_DURATION, 'Duration of one attempt'),
    operationDuration: seconds(METRIC_OPERATION_DURATION, 'Duration of a logical call, all attempts and waits included'),
    retryDelay: seconds(METRIC_RETRY_DELAY, 'Backoff waited before a retry'),
    retriesSuppressed: meter.createCounter(METRIC_RETRIES_SUPPRESSED, { unit: '{retry}', description: 'Failures not retried, by reason' }),
    circuitState,
    circuitTransitions: meter.createCounter(METRIC_CIRCUIT_TRANSITIONS, { unit: '{transition}', description: 'Breaker state changes' }),
    circuitRejections: meter.createCounter(METRIC_CIRCUIT_REJECTIONS, { unit: '{call}', description: 'Calls failed by an open breaker without dialling' }),
    patternDetected: meter.createCounter(METRIC_PATTERN_DETECTED, { unit: '{pattern}', description: 'Failure patterns detected' }),
  };
}
