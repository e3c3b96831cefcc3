import type { Policy } from '../engine/policy.js';
import { CIRCUIT_OPEN_CODE } from '../errors.js';
import { targetLabel } from '../telemetry/target-label.js';
import type { PatternDetector } from './detector.js';

/**
 * Feeds a policy's events to a detector as the counts its metrics record
 * (src/telemetry/operation.ts), so the detector sees what Prometheus would: an attempt
 * per `attempt` event and per rejection (outcome rejected, with its category), a retry per
 * scheduled backoff, a hedge per backup attempt (its `hedge` event, once its result is
 * known), an operation per settled call, and each breaker transition and
 * rejection under the policy's name. Targets go through the same cardinality bound as
 * the metrics' label. Returns a function that stops feeding.
 */
export function feedPolicy(policy: Policy, detector: PatternDetector): () => void {
  const stops = [
    policy.on('attempt', (e) =>
      detector.record({ kind: 'attempts', target: targetLabel(e.target), client: e.client, outcome: e.outcome, category: e.classification?.category, count: 1 }),
    ),
    policy.on('rejected', (e) => {
      const target = targetLabel(e.target);
      detector.record({ kind: 'attempts', target, client: e.client, outcome: 'rejected', category: e.classification.category, count: 1 });
      // A breaker's rejection, not a bulkhead's, also counts in resilience.circuit.rejections.
      if ((e.error as { code?: unknown }).code === CIRCUIT_OPEN_CODE) detector.record({ kind: 'rejections', target, policy: policy.name, count: 1 });
    }),
    policy.on('retry', (e) => detector.record({ kind: 'retries', target: targetLabel(e.target), client: e.client, count: 1 })),
    policy.on('hedge', (e) => detector.record({ kind: 'hedges', target: targetLabel(e.target), client: e.client, result: e.result, count: 1 })),
    policy.on('settled', (e) => detector.record({ kind: 'operations', target: targetLabel(e.target), client: e.client, outcome: e.outcome, count: 1 })),
    policy.on('transition', (e) => detector.record({ kind: 'transitions', target: targetLabel(e.target), policy: policy.name, from: e.from, to: e.to, count: 1 })),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
