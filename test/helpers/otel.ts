import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/**
 * Registers real SDK providers with in-memory exporters as the global ones, so tests
 * assert the exact spans and metric points breakwater emits. Call uninstall() after.
 */
export class OtelHarness {
  readonly spanExporter = new InMemorySpanExporter();
  readonly metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  private readonly tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.spanExporter)] });
  private readonly reader = new PeriodicExportingMetricReader({ exporter: this.metricExporter, exportIntervalMillis: 3_600_000 });
  private readonly meterProvider = new MeterProvider({ readers: [this.reader] });
  private readonly contextManager = new AsyncLocalStorageContextManager();

  install(): this {
    context.setGlobalContextManager(this.contextManager.enable());
    trace.setGlobalTracerProvider(this.tracerProvider);
    metrics.setGlobalMeterProvider(this.meterProvider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    return this;
  }

  async uninstall(): Promise<void> {
    await this.meterProvider.shutdown();
    await this.tracerProvider.shutdown();
    trace.disable();
    metrics.disable();
    propagation.disable();
    context.disable();
  }

  spans(): ReadableSpan[] {
    return this.spanExporter.getFinishedSpans();
  }

  reset(): void {
    this.spanExporter.reset();
  }

  /** Collects now and returns every metric by name (the last export). */
  async collect(): Promise<Map<string, MetricData>> {
    this.metricExporter.reset();
    await this.reader.forceFlush();
    const byName = new Map<string, MetricData>();
    for (const resourceMetrics of this.metricExporter.getMetrics()) {
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      }
    }
    return byName;
  }
}

/** The value of a sum or gauge point (or a histogram's count) whose attributes include `match`. */
export function pointValue(metric: MetricData | undefined, match: Record<string, unknown>): number | undefined {
  if (metric === undefined) return undefined;
  for (const point of metric.dataPoints) {
    const attrs = point.attributes as Record<string, unknown>;
    if (Object.entries(match).every(([k, v]) => attrs[k] === v)) {
      if (metric.dataPointType === DataPointType.HISTOGRAM) return (point.value as { count: number }).count;
      return point.value as number;
    }
  }
  return undefined;
}
