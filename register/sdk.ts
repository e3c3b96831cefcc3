import { metrics, trace } from '@opentelemetry/api';
import { anyProviderRegistered } from '../src/telemetry/providers.js';

/** What register needs of an SDK it started: flush on a signal, shut down at exit. */
export interface StartedSdk {
  shutdown(): Promise<void>;
}

/** `OTEL_SDK_DISABLED` as the OpenTelemetry specification reads it: only `true`, any case. */
export function sdkDisabled(env: NodeJS.ProcessEnv): boolean {
  return env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
}

/**
 * Starts the OpenTelemetry Node SDK (traces and metrics; exporters, endpoint, protocol
 * and service name from the standard OTEL_* variables) unless OTEL_SDK_DISABLED is set
 * or the application has already registered providers of its own, which then get used.
 *
 * The SDK module is loaded here, on first use, not at register time: it is a large
 * module graph, and a process whose application brings its own SDK should not pay for
 * ours. register is CommonJS, so `require` keeps this synchronous: the call that
 * triggers the start is recorded too.
 */
export function startSdkUnlessRegistered(env: NodeJS.ProcessEnv = process.env): StartedSdk | undefined {
  if (sdkDisabled(env) || anyProviderRegistered()) return undefined;
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({ instrumentations: [] });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

interface Flushable {
  forceFlush?: () => Promise<void>;
}

/**
 * Flushes whatever providers are registered, ours or the application's: the global
 * tracer provider is a proxy whose delegate is the SDK's; the meter provider is the SDK's.
 */
export async function flushRegisteredProviders(): Promise<void> {
  const tracerProvider = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const delegate = (typeof tracerProvider.getDelegate === 'function' ? tracerProvider.getDelegate() : tracerProvider) as Flushable;
  const meterProvider = metrics.getMeterProvider() as Flushable;
  await Promise.allSettled([delegate.forceFlush?.(), meterProvider.forceFlush?.()]);
}
