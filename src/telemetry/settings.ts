/**
 * Process-wide telemetry choices, set from the configuration by the runtime (or by an
 * application that uses the engine by hand).
 */
export interface TelemetrySettings {
  /**
   * An INTERNAL span for each logical call, parent of its attempt spans. Off by default:
   * tracing backends bill per span, and the attempt spans (children of the caller's
   * span, numbered, the last one carrying the call's outcome) already tell the story.
   */
  callSpans: boolean;
  /**
   * `db.client.operation.duration` per attempt of Redis commands. Off by default: the
   * official Redis instrumentations record no metric, and breakwater records no more than
   * the official instrumentation does plus the logical call's `resilience.operation.duration`
   * (each histogram point costs about a microsecond and a half in SDK 2).
   */
  redisDurationMetric: boolean;
}

const settings: TelemetrySettings = { callSpans: false, redisDurationMetric: false };

export function telemetrySettings(): Readonly<TelemetrySettings> {
  return settings;
}

export function configureTelemetry(update: Partial<TelemetrySettings>): void {
  if (update.callSpans !== undefined) settings.callSpans = update.callSpans;
  if (update.redisDurationMetric !== undefined) settings.redisDurationMetric = update.redisDurationMetric;
}
