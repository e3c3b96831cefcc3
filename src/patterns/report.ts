import { recordPatternDetected } from '../telemetry/pattern-detected.js';
import type { Detection } from './detector.js';

/**
 * The line a person reads on stderr, e.g.
 * `breakwater: pattern retry_storm on https://payments.example.com:443 (fetch): 0.80 extra attempts per first attempt over 5m (0.80 retries, 0.00 hedges; threshold 0.5)`.
 * Targets are already keys without credentials, path or query (src/target-key.ts).
 */
export function describeDetection(detection: Detection): string {
  const { labels } = detection;
  const policy = labels['resilience_policy'];
  const where = [labels['resilience_client'], policy === undefined ? undefined : `policy ${policy}`].filter((s) => s !== undefined).join(', ');
  return `breakwater: pattern ${detection.pattern} on ${detection.target}${where ? ` (${where})` : ''}: ${detection.summary}`;
}

/** Records a detection as telemetry and writes its line to stderr (or to `write`). */
export function reportDetection(detection: Detection, write: (line: string) => void = (line) => process.stderr.write(line)): void {
  recordPatternDetected({
    pattern: detection.pattern,
    target: detection.target,
    alert: detection.alert,
    summary: detection.summary,
    client: detection.labels['resilience_client'],
    policy: detection.labels['resilience_policy'],
    category: detection.labels['resilience_error_category'],
  });
  try {
    write(`${describeDetection(detection)}\n`);
  } catch {
    // a closed stderr is not the caller's failure
  }
}
