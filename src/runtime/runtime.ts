import { createClassifier } from '../classify/classify.js';
import { fleetEndpoint, policyForTarget } from '../config/index.js';
import type { EffectiveConfig, Instrumentation, ResolvedPolicy } from '../config/index.js';
import { createPolicy } from '../engine/policy.js';
import type { Attempt } from '../engine/attempt.js';
import type { CircuitHandle, ExecuteOptions, Policy } from '../engine/policy.js';
import type { Classifier } from '../engine/options.js';
import { lookAlikes, operatorTargetKey } from './operator-target.js';
import { setTargetLabelLimit } from '../telemetry/target-label.js';
import { configureTelemetry } from '../telemetry/settings.js';
import { anyProviderRegistered } from '../telemetry/providers.js';
import { DEFAULT_MAX_SERIES, feedPolicy, PatternDetector, reportDetection } from '../patterns/index.js';
import { Fleet } from '../fleet/fleet.js';
import { fleetStatus, type FleetStatus } from '../fleet/status.js';

export type { FleetStatus } from '../fleet/status.js';

/** One breaker as the status endpoint shows it. */
export interface CircuitStatus {
  policy: string;
  target: string;
  state: CircuitHandle['state'];
  stats: CircuitHandle['stats'];
}

/**
 * What the adapters share at run time: the configuration, one engine policy per
 * configured policy (so every client calling one target shares its breaker, budget and
 * bulkhead), and a hook run before the first instrumented call (register starts the
 * SDK there, so an application that registers its own providers first keeps them).
 */
export class Runtime {
  private readonly policies = new Map<ResolvedPolicy, Policy>();
  private readonly classifier: Classifier;
  private readonly enabledClients: ReadonlySet<string>;
  private beforeFirstCall: (() => void) | undefined;
  /** The in-process pattern detector (config.patterns), fed by every policy of this runtime. */
  readonly patterns: PatternDetector | undefined;
  /** Whether any policy of the configuration hedges: when none does, adapters skip every hedge check. */
  readonly hedging: boolean;
  /** Fleet mode's shared state, when a policy uses it: one Redis connection for the process, made on first use. */
  private readonly fleet: Fleet | undefined;

  constructor(
    readonly config: EffectiveConfig,
    options: { beforeFirstCall?: () => void } = {},
  ) {
    this.classifier = createClassifier(config.rules);
    this.enabledClients = new Set(config.enabled ? config.instrumentations : []);
    this.beforeFirstCall = options.beforeFirstCall;
    setTargetLabelLimit(config.maxTargets);
    configureTelemetry({ callSpans: config.callSpans, redisDurationMetric: config.redisDurationMetric });
    this.hedging = [config.defaults, ...config.targets.map((t) => t.policy)].some((p) => p.hedge !== false);
    const endpoint = fleetEndpoint(config);
    this.fleet =
      config.fleet !== false && endpoint !== undefined && config.fleet.policies.length > 0
        ? new Fleet({
            endpoint,
            cluster: config.fleet.redisCluster,
            service: config.fleet.service,
            expectedInstances: config.fleet.expectedInstances,
            syncMs: config.fleet.syncMs,
            log: (line) => process.stderr.write(`${line}\n`),
          })
        : undefined;
    this.patterns = config.patterns ? new PatternDetector({ maxSeries: Math.min(config.maxTargets, DEFAULT_MAX_SERIES), timeScale: config.patternsTimeScale, onDetection: (d) => reportDetection(d) }) : undefined;
  }

  isEnabled(client: Instrumentation): boolean {
    return this.enabledClients.has(client);
  }

  /** The engine policy for a target key, built from the configuration on first use. */
  policyFor(target: string): Policy {
    const resolved = policyForTarget(this.config, target);
    let policy = this.policies.get(resolved);
    if (policy === undefined) {
      const shared = resolved.fleet ? this.fleet : undefined;
      policy = createPolicy({ ...resolved, classifier: this.classifier, maxTargets: this.config.maxTargetStates, targetIdleMs: this.config.targetIdleMs, shared });
      this.policies.set(resolved, policy);
      if (this.patterns !== undefined) feedPolicy(policy, this.patterns);
    }
    return policy;
  }

  /**
   * Whether calls to this target may be hedged (its policy has hedge settings): an
   * adapter asks once per client, to open what a hedge needs before one is due.
   */
  hedges(target: string): boolean {
    return this.policyFor(target).hedging;
  }

  /**
   * Runs one logical call of an adapter under the target's policy. Every target keeps
   * its own breaker, budget and bulkhead (the policy's registry bounds how many are
   * kept); only the telemetry label is shared past maxTargets (src/telemetry/target-label.ts).
   */
  execute<T>(operation: (attempt: Attempt) => T | PromiseLike<T>, options: ExecuteOptions<T>): Promise<T> {
    if (this.beforeFirstCall !== undefined) this.runBeforeFirstCall();
    return this.policyFor(options.target).execute(operation, options);
  }

  /**
   * Whether an OpenTelemetry SDK will record the call about to be made. Adapters ask it
   * before building what only telemetry reads (span attributes, the attempt's kind), so a
   * call with no SDK pays nothing for them. It runs the first-call hook first: the very
   * first call, which starts register's own SDK, is recorded in full too.
   */
  telemetryActive(): boolean {
    if (this.beforeFirstCall !== undefined) this.runBeforeFirstCall();
    return anyProviderRegistered();
  }

  private runBeforeFirstCall(): void {
    const hook = this.beforeFirstCall;
    this.beforeFirstCall = undefined;
    try {
      hook?.();
    } catch {
      // starting telemetry must never fail the caller's call
    }
  }

  /** Every breaker of every policy, for the status endpoint. */
  circuits(): CircuitStatus[] {
    const out: CircuitStatus[] = [];
    for (const policy of this.policies.values()) {
      for (const target of policy.targets()) {
        const handle = policy.circuit(target);
        out.push({ policy: policy.name, target, state: handle.state, stats: handle.stats });
      }
    }
    return out;
  }

  /** Fleet mode's state, or undefined when no Redis is configured for it. */
  fleetStatus(): FleetStatus | undefined {
    return this.config.fleet === false ? undefined : fleetStatus(this.config.fleet, this.fleet?.status(), this.fleet?.targets());
  }

  /** Releases what the runtime holds beyond calls (the fleet's Redis connection): at shutdown. */
  async close(): Promise<void> {
    await this.fleet?.close();
  }

  /** The breaker of a target (under the policy the configuration gives it). */
  circuit(target: string): CircuitHandle {
    return this.policyFor(target).circuit(target);
  }

  /**
   * Forces a target's breaker open. The target is read as the adapters key it
   * (operator-target.ts); one no call has made is refused, naming the known targets
   * that look like it, unless `create` asks to pre-isolate a dependency on purpose.
   */
  isolate(target: string, options: { create?: boolean } = {}): OperatorResult {
    const found = this.knownTarget(target);
    if (found.ok) {
      this.circuit(found.target).isolate();
      return found;
    }
    if (found.reason !== 'unknown' || options.create !== true) return found;
    const key = operatorTargetKey(target)!;
    // Every target keeps its own breaker (an open one is never evicted), so a
    // pre-isolated key is the one the calls to come will meet.
    this.circuit(key).isolate();
    return { ok: true, target: key };
  }

  /** Closes a target's breaker and forgets its history; refused for a target no call has made. */
  reset(target: string): OperatorResult {
    const found = this.knownTarget(target);
    if (found.ok) this.circuit(found.target).reset();
    return found;
  }

  private knownTarget(text: string): OperatorResult {
    const known = this.circuits().map((c) => c.target);
    // A key exactly as the endpoint lists it is always found (the overflow keys too).
    if (known.includes(text)) return { ok: true, target: text };
    const key = operatorTargetKey(text);
    if (key === undefined) return { ok: false, reason: 'invalid' };
    if (known.includes(key)) return { ok: true, target: key };
    return { ok: false, reason: 'unknown', target: key, similar: lookAlikes(key, known) };
  }
}

/** What isolate and reset did: the key acted on, or why nothing was done. */
export type OperatorResult =
  | { readonly ok: true; readonly target: string }
  /** Not a target key (`not a key`, `ftp://x`). */
  | { readonly ok: false; readonly reason: 'invalid' }
  /** No call has made this target: `target` is its key, `similar` the known ones that look like it. */
  | { readonly ok: false; readonly reason: 'unknown'; readonly target: string; readonly similar: readonly string[] };
