import { createNoopMeter, metrics, ProxyTracerProvider, trace, type Meter, type Tracer } from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE } from './names.js';

const VERSION = '0.1.0';
const NoopMeter = createNoopMeter().constructor;

/**
 * The tracer and meter of whatever SDK is registered now, or undefined when none is.
 * Looked up on every call, not cached at import: a meter taken from the API before the
 * SDK registers stays a no-op forever, and register may run after this module loads.
 * When nothing is registered the engine skips telemetry entirely, which is what keeps
 * the no-SDK cost next to nothing.
 */
let lastTracerDelegate: unknown;
let tracer: Tracer | undefined;

// Where @opentelemetry/api 1.x keeps everything registered (shared by every copy of the
// API in the process). While it does not exist nothing is registered, and one property
// read answers for both signals.
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/** False only when certainly no OpenTelemetry provider of any kind is registered. */
export function anyProviderRegistered(): boolean {
  return (globalThis as Record<symbol, unknown>)[API_GLOBAL] !== undefined;
}

export function activeTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  if (delegate !== lastTracerDelegate) {
    lastTracerDelegate = delegate;
    tracer = delegate.constructor.name === 'NoopTracerProvider' ? undefined : delegate.getTracer(INSTRUMENTATION_SCOPE, VERSION);
  }
  return tracer;
}

let lastMeterProvider: unknown;
let meter: Meter | undefined;
let meterGeneration = 0;

export function activeMeter(): Meter | undefined {
  const provider = metrics.getMeterProvider();
  if (provider !== lastMeterProvider) {
    lastMeterProvider = provider;
    const candidate = provider.getMeter(INSTRUMENTATION_SCOPE, VERSION);
    meter = candidate instanceof NoopMeter ? undefined : candidate;
    meterGeneration++;
  }
  return meter;
}

/** Changes whenever the meter provider does, so instruments can be re-created for it. */
export function currentMeterGeneration(): number {
  return meterGeneration;
}
