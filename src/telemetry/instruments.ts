import type { Counter, Meter, ObservableCounter, ObservableGauge } from '@opentelemetry/api';
import { BatchedHistogram } from './batched-histogram.js';
import { LocalCounter } from './local-counter.js';
import {
  DB_DURATION_BUCKETS_S,
  DURATION_BUCKETS_S,
  HTTP_DURATION_BUCKETS_S,
  METRIC_ATTEMPTS,
  METRIC_CIRCUIT_REJECTIONS,
  METRIC_CIRCUIT_STATE,
  METRIC_CIRCUIT_TRANSITIONS,
  METRIC_DB_CLIENT_DURATION,
  METRIC_ERRORS,
  METRIC_CONCURRENCY_IN_FLIGHT,
  METRIC_CONCURRENCY_LIMIT,
  METRIC_HEDGES,
  METRIC_LIMITED,
  METRIC_HTTP_CLIENT_DURATION,
  METRIC_OPERATION_DURATION,
  METRIC_PATTERN_DETECTED,
  METRIC_RETRIES_SUPPRESSED,
  METRIC_RETRY_DELAY,
} from './names.js';
import { activeMeter } from './providers.js';
import { observeCircuits, observeLimits } from './circuit-sources.js';

export interface Instruments {
  /** Counted in-process, exported by the observable counter beside it (see LocalCounter). */
  readonly attempts: LocalCounter;
  readonly attemptsObserved: ObservableCounter;
  readonly errors: Counter;
  /** Histograms take their points in batches, flushed before every collection (see BatchedHistogram). */
  readonly operationDuration: BatchedHistogram;
  readonly httpClientDuration: BatchedHistogram;
  readonly dbClientDuration: BatchedHistogram;
  readonly retryDelay: BatchedHistogram;
  /** Every histogram above: what a flush before a collection or a meter change empties. */
  readonly histograms: readonly BatchedHistogram[];
  readonly retriesSuppressed: Counter;
  readonly hedges: Counter;
  readonly limited: Counter;
  readonly concurrencyLimit: ObservableGauge;
  readonly concurrencyInFlight: ObservableGauge;
  readonly circuitState: ObservableGauge;
  readonly circuitTransitions: Counter;
  readonly circuitRejections: Counter;
  readonly patternDetected: Counter;
}

let forMeter: Meter | undefined;
let instruments: Instruments | undefined;

/**
 * The instruments on the current meter, or undefined when no metrics SDK is registered.
 * A new meter gets new instruments and fresh local counts: its exporter starts from zero.
 */
export function activeInstruments(): Instruments | undefined {
  const meter = activeMeter();
  if (meter === undefined) return undefined;
  if (meter !== forMeter) {
    // Points held for the old meter go to it: its provider may still export them.
    if (instruments !== undefined) flushAll(instruments.histograms);
    forMeter = meter;
    instruments = createInstruments(meter);
  }
  return instruments;
}

function flushAll(histograms: readonly BatchedHistogram[]): void {
  for (const histogram of histograms) histogram.flush();
}

function createInstruments(meter: Meter): Instruments {
  // Every histogram is made here, so none can be left out of the flushes.
  const histograms: BatchedHistogram[] = [];
  const seconds = (name: string, description: string, buckets: number[]) => {
    const histogram = new BatchedHistogram(meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: buckets } }));
    histograms.push(histogram);
    return histogram;
  };
  const circuitState = meter.createObservableGauge(METRIC_CIRCUIT_STATE, {
    unit: '1',
    description: 'Breaker state per target: 1 for the current state, 0 for the others',
  });
  circuitState.addCallback(observeCircuits);
  const concurrencyLimit = meter.createObservableGauge(METRIC_CONCURRENCY_LIMIT, { unit: '{attempt}', description: 'Adaptive concurrency limit per target' });
  const concurrencyInFlight = meter.createObservableGauge(METRIC_CONCURRENCY_IN_FLIGHT, { unit: '{attempt}', description: 'Attempts in flight per target under an adaptive limit' });
  meter.addBatchObservableCallback((result) => observeLimits(result, concurrencyLimit, concurrencyInFlight), [concurrencyLimit, concurrencyInFlight]);
  const attempts = new LocalCounter();
  const attemptsObserved = meter.createObservableCounter(METRIC_ATTEMPTS, {
    unit: '{attempt}',
    description: 'Attempts that reached for a dependency, or were rejected before it',
  });
  attemptsObserved.addCallback((result) => attempts.observe(result));
  // The SDK runs a meter's observable callbacks before it reads its synchronous
  // instruments: held histogram points are in every collection, the last one included.
  // (The callback observes nothing itself; it hangs on an instrument because the API
  // requires one. It reads the list when it runs, after the histograms below are made.)
  meter.addBatchObservableCallback(() => flushAll(histograms), [attemptsObserved]);
  return {
    attempts,
    attemptsObserved,
    errors: meter.createCounter(METRIC_ERRORS, { unit: '{error}', description: 'Classified failures of attempts' }),
    operationDuration: seconds(METRIC_OPERATION_DURATION, 'Duration of a logical call, all attempts and waits included', DURATION_BUCKETS_S),
    // The conventions' own descriptions, as the official instrumentations write them.
    httpClientDuration: seconds(METRIC_HTTP_CLIENT_DURATION, 'Duration of HTTP client requests.', HTTP_DURATION_BUCKETS_S),
    dbClientDuration: seconds(METRIC_DB_CLIENT_DURATION, 'Duration of database client operations.', DB_DURATION_BUCKETS_S),
    retryDelay: seconds(METRIC_RETRY_DELAY, 'Backoff waited before a retry', DURATION_BUCKETS_S),
    retriesSuppressed: meter.createCounter(METRIC_RETRIES_SUPPRESSED, { unit: '{retry}', description: 'Failures not retried, by reason' }),
    limited: meter.createCounter(METRIC_LIMITED, { unit: '{attempt}', description: 'Attempts turned away by a rate or concurrency limit, by reason' }),
    concurrencyLimit,
    concurrencyInFlight,
    hedges: meter.createCounter(METRIC_HEDGES, { unit: '{hedge}', description: 'Backup attempts sent, by what came of them' }),
    circuitState,
    circuitTransitions: meter.createCounter(METRIC_CIRCUIT_TRANSITIONS, { unit: '{transition}', description: 'Breaker state changes' }),
    circuitRejections: meter.createCounter(METRIC_CIRCUIT_REJECTIONS, { unit: '{call}', description: 'Calls failed by an open breaker without dialling' }),
    patternDetected: meter.createCounter(METRIC_PATTERN_DETECTED, { unit: '{pattern}', description: 'Failure patterns detected' }),
    histograms,
  };
}
