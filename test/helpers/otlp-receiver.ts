// A real OTLP/HTTP JSON endpoint on loopback for tests that run a child process under
// breakwater/register: the child's SDK exports to it (OTEL_EXPORTER_OTLP_PROTOCOL=http/json)
// and the test reads what arrived.
import type { IncomingMessage } from 'node:http';
import { httpServer, type HttpTestServer } from '../integration/http-server.js';

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

export interface ReceivedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
}

function attributeValue(value: Record<string, unknown>): unknown {
  for (const key of ['stringValue', 'boolValue', 'doubleValue']) if (key in value) return value[key];
  if ('intValue' in value) return Number(value.intValue);
  return value;
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) out[a.key] = attributeValue(a.value);
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Metric names with the resource they came from. */
  readonly metricNames = new Set<string>();
  /** Every request body received, raw (for secret-leak checks). */
  readonly rawBodies: string[] = [];
  private constructor(private readonly server: HttpTestServer) {}

  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = await httpServer((req, res) => {
      readBody(req)
        .then((body) => {
          receiver!.accept(req.url ?? '', body);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        })
        .catch(() => res.writeHead(400).end());
    });
    receiver = new OtlpReceiver(server);
    return receiver;
  }

  get endpoint(): string {
    return this.server.url;
  }

  private accept(path: string, body: string): void {
    this.rawBodies.push(body);
    const json = JSON.parse(body) as Record<string, unknown>;
    if (path === '/v1/traces') {
      for (const rs of (json.resourceSpans ?? []) as Array<Record<string, any>>) {
        const resource = attributesOf(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            this.spans.push({
              name: s.name,
              kind: s.kind,
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              attributes: attributesOf(s.attributes),
              resource,
              events: ((s.events ?? []) as Array<Record<string, any>>).map((e) => ({ name: String(e.name), attributes: attributesOf(e.attributes) })),
            });
          }
        }
      }
    } else if (path === '/v1/metrics') {
      for (const rm of (json.resourceMetrics ?? []) as Array<Record<string, any>>) {
        for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) this.metricNames.add(m.name);
      }
    }
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** One data point of a metric the app exported over OTLP/HTTP JSON, with the scope that recorded it. */
export interface MetricPoint {
  scope: string;
  metric: string;
  attributes: Record<string, unknown>;
  /** A histogram's count, or a sum's value. */
  value: number;
}

/**
 * Every data point in the metric exports received. Points are cumulative (the SDK's
 * default), so a series exported twice (a periodic export, then the one at shutdown)
 * counts once, with its latest value: the largest.
 */
export function metricPoints(rawBodies: readonly string[]): MetricPoint[] {
  const latest = new Map<string, MetricPoint>();
  for (const body of rawBodies) {
    const json = JSON.parse(body) as { resourceMetrics?: Array<Record<string, any>> };
    for (const rm of json.resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const points = (m.histogram?.dataPoints ?? m.sum?.dataPoints ?? m.gauge?.dataPoints ?? []) as Array<Record<string, any>>;
          for (const p of points) {
            const attributes: Record<string, unknown> = {};
            for (const a of (p.attributes ?? []) as Array<{ key: string; value: Record<string, unknown> }>) attributes[a.key] = attributeValue(a.value);
            const value = Number(m.histogram !== undefined ? p.count : (p.asInt ?? p.asDouble));
            const point: MetricPoint = { scope: String(sm.scope?.name), metric: String(m.name), attributes, value };
            const key = JSON.stringify([point.scope, point.metric, Object.entries(attributes).sort()]);
            if (!(value <= (latest.get(key)?.value ?? -1))) latest.set(key, point);
          }
        }
      }
    }
  }
  return [...latest.values()];
}
