import { createRequire } from 'node:module';
import type { Agent } from 'node:http';
import { metrics, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { anyProviderRegistered } from '../src/telemetry/providers.js';

type SdkNode = typeof import('@opentelemetry/sdk-node');
type ReadableSpan = import('@opentelemetry/sdk-node').tracing.ReadableSpan;
type Span = import('@opentelemetry/sdk-node').tracing.Span;
type SpanExporter = import('@opentelemetry/sdk-node').tracing.SpanExporter;
type SpanProcessor = import('@opentelemetry/sdk-node').tracing.SpanProcessor;
type PushMetricExporter = import('@opentelemetry/sdk-node').metrics.PushMetricExporter;
type ResourceMetrics = import('@opentelemetry/sdk-node').metrics.ResourceMetrics;
type ExportResult = import('@opentelemetry/sdk-node').core.ExportResult;

/** What could not be sent, for the one line printed at exit. */
export interface Unsent {
  spans: number;
  metricExports: number;
}

/** What register needs of an SDK it started: shut it down (flush included), and say what was lost. */
export interface StartedSdk {
  shutdown(): Promise<void>;
  /** How long one export may take, retries included (undefined: exporters not built here, unbounded by us). */
  readonly exportTimeoutMs: number | undefined;
  /** Refuses every export from now on and aborts those in flight, without a retry: nothing of the exporters outlives this by more than a moment. */
  stopExports(): void;
  /** Spans ended but not accepted by the collector, metric exports not accepted; undefined when not counted (an exporter other than OTLP over HTTP). */
  unsent(): Unsent | undefined;
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
 *
 * `shutdownTimeoutMs` bounds every export of the OTLP/HTTP exporters built here, so that
 * nothing of this SDK outlives the shutdown deadline (docs/register.md, "Graceful shutdown").
 */
export function startSdkUnlessRegistered(env: NodeJS.ProcessEnv, shutdownTimeoutMs: number): StartedSdk | undefined {
  if (sdkDisabled(env) || anyProviderRegistered()) return undefined;
  const sdkNode = require('@opentelemetry/sdk-node') as SdkNode;
  const counts = new TelemetryCounts(sdkNode);
  const parts = new ExporterParts(sdkNode, shutdownTimeoutMs);
  const spanProcessors = otlpOverHttp(env, 'TRACES', env.OTEL_TRACES_EXPORTER) ? [counts.countedSpans(new sdkNode.tracing.BatchSpanProcessor(counts.countedSpanExporter(parts.traceExporter(env))))] : undefined;
  const metricReaders = otlpOverHttp(env, 'METRICS', env.OTEL_METRICS_EXPORTER) ? [parts.metricReader(env, counts.countedMetricExporter(parts.metricExporter(env)))] : undefined;
  // What is not OTLP over HTTP (grpc, zipkin, prometheus, console, several exporters) is
  // left to the SDK's own reading of the variables, as before.
  const sdk = new sdkNode.NodeSDK({ instrumentations: [], spanProcessors, metricReaders });
  sdk.start();
  const counted = spanProcessors !== undefined || metricReaders !== undefined;
  return {
    shutdown: () => sdk.shutdown(),
    unsent: () => (counted ? counts.unsent() : undefined),
    exportTimeoutMs: counted ? parts.exportTimeoutMs : undefined,
    stopExports: () => {
      counts.refuseExports();
      parts.abortExports();
    },
  };
}

type Signal = 'TRACES' | 'METRICS';

/** The protocol NodeSDK would use for a signal's OTLP exporter. */
function otlpProtocol(env: NodeJS.ProcessEnv, signal: Signal): string {
  return (env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`]?.trim() || env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/protobuf').toLowerCase();
}

/** Whether the variables ask for exactly one OTLP exporter over HTTP for this signal (the default), the case built here. */
function otlpOverHttp(env: NodeJS.ProcessEnv, signal: Signal, exporters: string | undefined): boolean {
  const names = new Set((exporters ?? '').split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '' && name !== 'null'));
  if (names.size > 1 || (names.size === 1 && !names.has('otlp'))) return false;
  const protocol = otlpProtocol(env, signal);
  return protocol === 'http/protobuf' || protocol === 'http/json';
}

/**
 * Ends an export's connection at the shutdown deadline. It has no `code`: the exporters
 * retry network errors that have one (ECONNRESET...), and a retry is what must not happen.
 */
class ExportsStoppedError extends Error {
  constructor() {
    super('breakwater: telemetry exports stopped at the shutdown deadline');
  }
}

type Socket = { unref(): void; destroy(error?: Error): void };

/** The HTTP agents of the exporters built here, so that their sockets can be ended at the deadline. */
class ExportAgents {
  private readonly agents = new Set<Agent>();
  private stopped = false;

  /**
   * An HTTP agent factory whose sockets never hold the event loop: an export in flight
   * (a collector that accepts and never answers) must not keep a finished process
   * alive. Node refs a pooled socket again when it reuses it; that is undone too.
   */
  factory(base: (protocol: string) => Promise<Agent>): (protocol: string) => Promise<Agent> {
    return async (protocol) => {
      const agent = await base(protocol);
      this.agents.add(agent);
      const internals = agent as unknown as {
        createConnection: (...args: unknown[]) => Socket | undefined;
        reuseSocket: (socket: Socket, request: unknown) => void;
      };
      const createConnection = internals.createConnection.bind(agent);
      internals.createConnection = (...args) => {
        const socket = createConnection(...args);
        socket?.unref();
        // A retry timer the exporter armed before the deadline still sends when it fires.
        // Ended on a later turn: the request attaches its 'error' listener on a tick after
        // this returns, and an error emitted before that would be an uncaught exception.
        if (this.stopped && socket !== undefined) setImmediate(() => socket.destroy(new ExportsStoppedError())).unref();
        return socket;
      };
      const reuseSocket = internals.reuseSocket.bind(agent);
      internals.reuseSocket = (socket, request) => {
        reuseSocket(socket, request);
        socket.unref();
      };
      return agent;
    };
  }

  /** Ends every connection, in use or pooled, with an error the exporters do not retry. */
  abort(): void {
    this.stopped = true;
    for (const agent of this.agents) {
      for (const pool of [agent.sockets, agent.freeSockets]) {
        for (const sockets of Object.values(pool)) for (const socket of sockets ?? []) socket.destroy(new ExportsStoppedError());
      }
    }
  }
}

/** The OTLP/HTTP exporters and the metric reader NodeSDK would build from the variables, made unable to hold the process. */
class ExporterParts {
  private readonly requireFromSdk: NodeJS.Require;
  private readonly agents = new ExportAgents();
  /** The longest timeout an export may have: half the shutdown timeout (see exporterOptions). */
  private readonly maxExportMs: number;
  /** The longest timeout among the exporters built, retries included. */
  exportTimeoutMs = 0;

  constructor(
    private readonly sdkNode: SdkNode,
    shutdownTimeoutMs: number,
  ) {
    // The exporters are the SDK's own dependencies: resolved from it, as it resolves them.
    this.requireFromSdk = createRequire(require.resolve('@opentelemetry/sdk-node'));
    this.maxExportMs = Math.max(1, Math.floor(shutdownTimeoutMs / 2));
  }

  abortExports(): void {
    this.agents.abort();
  }

  traceExporter(env: NodeJS.ProcessEnv): SpanExporter {
    const json = otlpProtocol(env, 'TRACES') === 'http/json';
    const { OTLPTraceExporter } = this.requireFromSdk(json ? '@opentelemetry/exporter-trace-otlp-http' : '@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
    return new OTLPTraceExporter(this.exporterOptions('TRACES', 'v1/traces'));
  }

  metricExporter(env: NodeJS.ProcessEnv): PushMetricExporter {
    const json = otlpProtocol(env, 'METRICS') === 'http/json';
    const { OTLPMetricExporter } = this.requireFromSdk(json ? '@opentelemetry/exporter-metrics-otlp-http' : '@opentelemetry/exporter-metrics-otlp-proto') as typeof import('@opentelemetry/exporter-metrics-otlp-proto');
    return new OTLPMetricExporter(this.exporterOptions('METRICS', 'v1/metrics'));
  }

  /** As NodeSDK builds it: OTEL_METRIC_EXPORT_INTERVAL (60 s) and OTEL_METRIC_EXPORT_TIMEOUT (30 s, at most the interval). */
  metricReader(env: NodeJS.ProcessEnv, exporter: PushMetricExporter): InstanceType<SdkNode['metrics']['PeriodicExportingMetricReader']> {
    const exportIntervalMillis = positiveNumber(env.OTEL_METRIC_EXPORT_INTERVAL) ?? 60_000;
    const exportTimeoutMillis = Math.min(positiveNumber(env.OTEL_METRIC_EXPORT_TIMEOUT) ?? 30_000, exportIntervalMillis);
    return new this.sdkNode.metrics.PeriodicExportingMetricReader({ exporter, exportIntervalMillis, exportTimeoutMillis });
  }

  /**
   * Endpoint, headers, compression and TLS files come from the variables, read by the
   * exporter itself; only two things are set here. The agent's sockets are unref'd and
   * can be ended at the deadline. And an export, retries included, ends within its
   * timeout, made at most half the shutdown timeout: the exporters' retry timers are
   * referenced and out of reach, but never outlive their export's timeout, so exports
   * are stopped that long before the deadline and the last retry timer is gone by it.
   */
  private exporterOptions(signal: Signal, path: string): { timeoutMillis: number; httpAgentOptions: (protocol: string) => Promise<Agent> } {
    const { convertLegacyHttpOptions } = this.requireFromSdk('@opentelemetry/otlp-exporter-base/node-http') as NodeHttpConfiguration;
    const fromEnv = convertLegacyHttpOptions({}, signal, path, {});
    const timeoutMillis = Math.max(1, Math.min(fromEnv.timeoutMillis, this.maxExportMs));
    this.exportTimeoutMs = Math.max(this.exportTimeoutMs, timeoutMillis);
    return { timeoutMillis, httpAgentOptions: this.agents.factory(fromEnv.agentFactory) };
  }
}

/** What is used of `@opentelemetry/otlp-exporter-base/node-http`: the exporters' own reading of the variables. */
interface NodeHttpConfiguration {
  convertLegacyHttpOptions(
    config: object,
    signal: Signal,
    path: string,
    requiredHeaders: Record<string, string>,
  ): { timeoutMillis: number; agentFactory: (protocol: string) => Promise<Agent> };
}

function positiveNumber(raw: string | undefined): number | undefined {
  const value = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * Tells the batch processor or the metric reader that an export is done as soon as the
 * exporter has it. They arm a referenced timer for each export they wait on, and the
 * batch processor sends one batch after the other: waiting on a collector that does not
 * answer would hold a finished process for batches x timeout. The exporter keeps its own
 * count of exports in flight (forceFlush and shutdown wait for them, and it refuses more
 * than its concurrency limit), and whether each one arrived is counted here.
 */
function handedOver(done: (result: ExportResult) => void, success: number): void {
  done({ code: success });
}

/** Counts spans ended and spans and metric exports the collector accepted, to tell at exit what was lost. */
class TelemetryCounts {
  private spansEnded = 0;
  private spansSent = 0;
  private metricExportsTried = 0;
  private metricExportsSent = 0;
  private readonly success: number;
  private readonly failed: number;
  private refused = false;

  constructor(sdkNode: SdkNode) {
    this.success = sdkNode.core.ExportResultCode.SUCCESS;
    this.failed = sdkNode.core.ExportResultCode.FAILED;
  }

  /** From now on every export fails at once, without reaching the exporter. */
  refuseExports(): void {
    this.refused = true;
  }

  unsent(): Unsent {
    return { spans: this.spansEnded - this.spansSent, metricExports: this.metricExportsTried - this.metricExportsSent };
  }

  /** Counts the sampled spans that end (those the batch processor is given). */
  countedSpans(inner: SpanProcessor): SpanProcessor {
    return {
      onStart: (span: Span, parent: Context) => inner.onStart(span, parent),
      onEnd: (span: ReadableSpan) => {
        if ((span.spanContext().traceFlags & 1) === 1) this.spansEnded++;
        inner.onEnd(span);
      },
      forceFlush: () => inner.forceFlush(),
      shutdown: () => inner.shutdown(),
    };
  }

  countedSpanExporter(inner: SpanExporter): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void) => {
        if (this.refused) return done({ code: this.failed, error: new ExportsStoppedError() });
        inner.export(spans, (result) => {
          if (result.code === this.success) this.spansSent += spans.length;
        });
        handedOver(done, this.success);
      },
      shutdown: () => inner.shutdown(),
      forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
    };
  }

  countedMetricExporter(inner: PushMetricExporter): PushMetricExporter {
    return {
      export: (batch: ResourceMetrics, done: (result: ExportResult) => void) => {
        this.metricExportsTried++;
        if (this.refused) return done({ code: this.failed, error: new ExportsStoppedError() });
        inner.export(batch, (result) => {
          if (result.code === this.success) this.metricExportsSent++;
        });
        handedOver(done, this.success);
      },
      forceFlush: () => inner.forceFlush(),
      shutdown: () => inner.shutdown(),
      selectAggregationTemporality: inner.selectAggregationTemporality?.bind(inner),
      selectAggregation: inner.selectAggregation?.bind(inner),
    };
  }
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
