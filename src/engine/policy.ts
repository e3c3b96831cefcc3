import { context } from '@opentelemetry/api';
import { classify as builtinClassify } from '../classify/classify.js';
import type { Classification, ClassifyHints, ErrorCategory } from '../classify/types.js';
import { attachClassification, BulkheadRejectedError, CircuitOpenError, DeadlineExceededError, LimitedError } from '../errors.js';
import { recordCircuitTransition } from '../telemetry/circuit-transition.js';
import { registerCircuitSource, type CircuitSource } from '../telemetry/circuit-sources.js';
import type { HedgeResult, Outcome } from '../telemetry/names.js';
import { OperationTelemetry, type AttemptRecord, type AttemptSpanOptions } from '../telemetry/operation.js';
import { AttemptContext, AttemptRace, sleep, type Attempt } from './attempt.js';
import { INITIAL_BACKOFF, nextBackoff, type BackoffSettings, type BackoffState } from './backoff.js';
import { ADMITTED, BY_FLEET, Circuit, REJECTED, type Admission, type CircuitState, type CircuitStats } from './breaker/circuit.js';
import { ConsecutiveRule } from './breaker/consecutive-rule.js';
import { RateRule } from './breaker/rate-rule.js';
import type { BreakerRule } from './breaker/rule.js';
import { Bulkhead } from './bulkhead.js';
import { AttemptGates, isOverloadSignal, type GateSettings, type RateSnapshot } from './attempt-gates.js';
import type { ConcurrencyStats } from './concurrency-gate.js';
import { BREAKER_DEFAULTS, LIMIT_DEFAULTS, MAX_TARGETS_DEFAULT, RETRY_DEFAULTS } from './defaults.js';
import { resolveGradientSettings } from './gradient-limit.js';
import { resolveHedge, TargetLatency, type HedgeSettings, type HedgeSkipReason } from './hedge.js';
import { HedgedRound, type RoundHost, type RunningAttempt, type SettledAttempt } from './hedge-round.js';
import { PolicyEmitter, type PolicyEventName, type PolicyListener } from './events.js';
import { systemClock, type Clock } from './clock.js';
import type { BreakerOptions, Classifier, Fallback, HedgeOptions, PolicyOptions, SuppressReason } from './options.js';
import { RetryBudget, type RetryBudgetSettings } from './retry-budget.js';
import type { BreakerControl, DecisionSource, SharedBreaker, SharedBreakerSettings, SharedRate, SharedState } from './fleet-seams.js';
import { SlotWait } from './slot-wait.js';
import { EXPIRABLE, FREE, PINNED, TargetRegistry, type Hold } from './target-registry.js';
import { timerQueueFor, type TimerQueue } from './timer-queue.js';

/** Whether a failed call may be sent again: true, or why not. */
export type ReplayDecision = true | Extract<SuppressReason, 'not_idempotent' | 'in_transaction'>;

export interface ExecuteOptions<T> {
  /** The target key (`https://api.example.com:443`); per-target breaker, budget and bulkhead. */
  target: string;
  /** Only idempotent operations are retried (design.md section 3). Default false. */
  idempotent?: boolean;
  /**
   * An adapter's finer replay decision, given the failure: a pg statement that provably
   * never ran may be retried even if not idempotent. Overrides `idempotent`.
   */
  canReplay?: (failure: unknown, classification: Classification, attempt: number) => ReplayDecision;
  /** The caller's signal: cancels the running attempt or the backoff wait at once. */
  signal?: AbortSignal;
  /** `resilience.client`; default `custom`. */
  client?: string;
  /** For the classifier's hints (an HTTP method, a Redis command). */
  method?: string;
  /**
   * For results that are failures without throwing (an HTTP 503 response): returns the
   * failure to classify, or undefined for a success. When breakwater gives up on such
   * a result, the caller gets the last result itself, as without breakwater.
   */
  failureOf?: (result: T) => unknown;
  /** How the per-attempt span should look (an adapter makes it a CLIENT span). */
  attemptSpan?: AttemptSpanOptions;
  /**
   * Whether two copies of this call may run at once and nothing is written twice (a
   * read): only such calls are hedged. Default: `idempotent` when no `canReplay` is given
   * (a hand-written call marked idempotent); adapters say it themselves. A function is
   * asked each time a hedge is due (a request whose body is not complete yet is not).
   */
  hedgeable?: boolean | (() => boolean);
  /** For this call: false never hedges; settings hedge it (over the policy's own, if any). Default: the policy's. */
  hedge?: HedgeOptions | false;
}

export interface CircuitHandle {
  readonly target: string;
  readonly state: CircuitState;
  readonly stats: CircuitStats & { bulkhead?: { running: number; queued: number }; retryBudget?: { firstAttempts: number; retries: number; hedges: number };
    concurrency?: ConcurrencyStats;
    rate?: RateSnapshot;
  };
  /** Forces the breaker open (every call rejected) until reset(). */
  isolate(): void;
  /** Closes the breaker and forgets its history. */
  reset(): void;
}

export interface Policy {
  readonly name: string;
  /**
   * Whether the policy hedges (it has hedge settings): a call that allows it may get a
   * backup attempt. Adapters read it to prepare what a hedge needs (a second connection).
   */
  readonly hedging: boolean;
  execute<T>(operation: (attempt: Attempt) => T | PromiseLike<T>, options: ExecuteOptions<T>): Promise<T>;
  circuit(target: string): CircuitHandle;
  /** Listens to retries, give-ups, rejections, fallbacks and breaker transitions; returns a function that stops listening. */
  on<K extends PolicyEventName>(event: K, listener: PolicyListener<K>): () => void;
  /** Every target this policy currently keeps state for. */
  targets(): string[];
}

/** What events say about a call: its target and client. */
type CallIdentity = Pick<ExecuteOptions<unknown>, 'target' | 'client'>;

interface TargetState {
  readonly circuit: Circuit;
  /** Retries and hedges; made on a hedged call's first use when retries have none. */
  budget: RetryBudget | undefined;
  readonly bulkhead: Bulkhead | undefined;
  /** Latency and health for hedging; made on the first hedged call. */
  latency: TargetLatency | undefined;
  /** The rate and adaptive concurrency limits, when the policy has either. */
  readonly gates: AttemptGates | undefined;
}


/** Outcomes that say nothing about the dependency's health are never breaker failures. */
const NEVER_BREAKER_FAILURES: ReadonlySet<ErrorCategory> = new Set(['cancelled', 'circuit_open']);

function breakerFailurePredicate(options: BreakerOptions): (c: Classification) => boolean {
  if (options.isFailure) {
    const custom = options.isFailure;
    return (c) => {
      if (NEVER_BREAKER_FAILURES.has(c.category)) return false;
      try {
        return custom(c) === true;
      } catch {
        return false;
      }
    };
  }
  if (options.failureCategories) {
    const set = new Set(options.failureCategories);
    return (c) => set.has(c.category) && !NEVER_BREAKER_FAILURES.has(c.category);
  }
  // A 404 or a validation error is the caller's problem, not the dependency's.
  return (c) => (c.transient || c.category === 'external_service') && !NEVER_BREAKER_FAILURES.has(c.category);
}

/** The breaker's counting rule with its defaults filled in; undefined: the breaker is off. */
function resolveBreakerRule(options: BreakerOptions): SharedBreakerSettings['rule'] | undefined {
  switch (options.mode ?? BREAKER_DEFAULTS.mode) {
    case 'consecutive':
      return { mode: 'consecutive', threshold: options.threshold ?? BREAKER_DEFAULTS.threshold };
    case 'rate':
      return {
        mode: 'rate',
        failureRate: options.failureRate ?? BREAKER_DEFAULTS.failureRate,
        minCalls: options.minCalls ?? BREAKER_DEFAULTS.minCalls,
        windowMs: options.windowMs ?? BREAKER_DEFAULTS.windowMs,
        slowCallMs: options.slowCallMs ?? BREAKER_DEFAULTS.slowCallMs,
        slowCallRate: options.slowCallRate ?? BREAKER_DEFAULTS.slowCallRate,
      };
    case 'off':
      return undefined;
  }
}

function breakerRule(rule: SharedBreakerSettings['rule'] | undefined): BreakerRule {
  if (rule === undefined) return { timeBased: false, record: () => false, reset: () => {}, snapshot: () => ({ calls: 0, failures: 0, slowCalls: 0, consecutiveFailures: 0 }) };
  return rule.mode === 'consecutive' ? new ConsecutiveRule(rule.threshold) : new RateRule(rule);
}

/** What a target's state holds now (src/engine/target-registry.ts): an open breaker or calls in its bulkhead pin it. */
function targetHold(state: TargetState, now: number): Hold {
  const bulkhead = state.bulkhead?.stats();
  if (bulkhead !== undefined && (bulkhead.running > 0 || bulkhead.queued > 0)) return PINNED;
  const inFlight = state.gates?.concurrency?.stats();
  if (inFlight !== undefined && (inFlight.inFlight > 0 || inFlight.queued > 0)) return PINNED;
  if (state.circuit.state === 'closed') return FREE;
  const stats = state.circuit.stats(now); // moves an open breaker whose period ended to half-open
  if (stats.state === 'open' || stats.probesInFlight > 0) return PINNED;
  return EXPIRABLE;
}

/** The policy's rate and concurrency limits, every field decided; undefined when it has neither. */
function resolveGates(options: PolicyOptions<unknown>): GateSettings | undefined {
  const concurrency = options.concurrencyLimit;
  const rate = options.rateLimit;
  if (!concurrency && !rate) return undefined;
  return {
    concurrency: concurrency
      ? { gradient: resolveGradientSettings(concurrency), maxQueue: concurrency.maxQueue ?? LIMIT_DEFAULTS.maxQueue, maxWaitMs: concurrency.maxWaitMs ?? LIMIT_DEFAULTS.maxWaitMs }
      : undefined,
    rate: rate
      ? { ratePerSecond: rate.ratePerSecond ?? 0, burst: rate.burst ?? LIMIT_DEFAULTS.rateBurst, maxWaitMs: rate.maxWaitMs ?? LIMIT_DEFAULTS.rateMaxWaitMs, fromHeaders: rate.fromHeaders ?? false }
      : undefined,
  };
}

function safeHedgeable(hedgeable: () => boolean): boolean {
  try {
    return hedgeable() === true;
  } catch {
    return false; // when unsure, never send twice
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

export function createPolicy<P = unknown>(options: PolicyOptions<P> = {}): Policy {
  return new ResiliencePolicy(options as PolicyOptions<unknown>);
}

class ResiliencePolicy implements Policy {
  readonly name: string;
  readonly hedging: boolean;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly classifier: Classifier;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffSettings;
  private readonly budgetSettings: RetryBudgetSettings | undefined;
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly breakerOptions: BreakerOptions;
  private readonly countsAsBreakerFailure: (c: Classification) => boolean;
  private readonly fallback: Fallback<unknown> | undefined;
  private readonly hedge: HedgeSettings | undefined;
  private readonly gateSettings: GateSettings | undefined;
  private readonly telemetryOn: boolean;
  private readonly registry: TargetRegistry<TargetState>;
  /**
   * Whether every call reads the clock at its start even without telemetry: for a
   * deadline, an attempt timeout (the timer queue's expiry is counted from it), or a
   * breaker rule that counts over time. Reading the clock costs ~60 ns on some
   * machines, more than the rest of a successful call's bookkeeping, so a consecutive
   * breaker with no telemetry, timeout or deadline reads it only when something fails.
   */
  private readonly alwaysTimed: boolean;
  /** Whether a successful attempt's end is read without telemetry: only a rule counting over time uses it. */
  private readonly successEndTimed: boolean;
  private readonly timers: TimerQueue;
  /** State shared with other processes (fleet mode), per target; undefined: every decision is local. */
  private readonly shared: SharedState | undefined;
  private readonly events = new PolicyEmitter();
  private lastClockRead = NaN;
  private callsSinceClockRead = 0;
  /**
   * The call and attempt whose admission or result is being recorded, so a breaker
   * transition fired synchronously by it lands on their spans. Set and cleared around
   * each call into the breaker (no await in between), never held across attempts.
   */
  private causeTelemetry: OperationTelemetry | undefined;
  private causeAttempt: AttemptRecord | undefined;
  private circuitSource: CircuitSource | undefined;

  constructor(options: PolicyOptions<unknown>) {
    this.name = options.name ?? 'default';
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.classifier = options.classifier ?? builtinClassify;
    const retry = options.retry === false ? { maxAttempts: 1 } : (options.retry ?? {});
    this.maxAttempts = retry.maxAttempts ?? RETRY_DEFAULTS.maxAttempts;
    this.backoff = {
      baseDelayMs: retry.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs,
      maxDelayMs: retry.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs,
      multiplier: retry.multiplier ?? RETRY_DEFAULTS.multiplier,
      jitter: retry.jitter ?? RETRY_DEFAULTS.jitter,
    };
    const ratio = retry.budgetRatio ?? RETRY_DEFAULTS.budgetRatio;
    this.budgetSettings =
      this.maxAttempts > 1 && ratio < Infinity
        ? { ratio, minPerSecond: retry.budgetMinPerSecond ?? RETRY_DEFAULTS.budgetMinPerSecond, windowMs: retry.budgetWindowMs ?? RETRY_DEFAULTS.budgetWindowMs }
        : undefined;
    this.timeoutMs = options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : Infinity;
    this.deadlineMs = options.deadlineMs && options.deadlineMs > 0 ? options.deadlineMs : Infinity;
    this.breakerOptions = options.breaker === false ? { mode: 'off' } : (options.breaker ?? {});
    this.countsAsBreakerFailure = breakerFailurePredicate(this.breakerOptions);
    this.fallback = options.fallback;
    this.hedge = options.hedge ? resolveHedge(options.hedge) : undefined;
    this.hedging = this.hedge !== undefined;
    this.gateSettings = resolveGates(options);
    this.telemetryOn = options.telemetry !== false;
    this.successEndTimed = (this.breakerOptions.mode ?? BREAKER_DEFAULTS.mode) === 'rate';
    this.alwaysTimed = this.deadlineMs !== Infinity || this.timeoutMs !== Infinity || this.successEndTimed || this.gateSettings !== undefined;
    this.timers = timerQueueFor(this.clock);
    this.shared = options.shared;
    const bulkhead = options.bulkhead || undefined;
    this.registry = new TargetRegistry<TargetState>({
      maxEntries: options.maxTargets ?? MAX_TARGETS_DEFAULT,
      idleMs: options.targetIdleMs ?? Infinity,
      holdOf: targetHold,
      clock: () => this.clock.now(),
      create: (target) => ({
        circuit: this.createCircuit(target),
        budget: this.budgetSettings ? new RetryBudget(this.budgetSettings, this.shared?.budget?.(target, this.budgetSettings)) : undefined,
        bulkhead: bulkhead ? new Bulkhead(bulkhead.maxConcurrent, bulkhead.maxQueue ?? 0) : undefined,
        latency: undefined,
        gates: this.gateSettings ? new AttemptGates(this.gateSettings, this.clock, this.random, this.sharedRate(target)) : undefined,
      }),
    });
    if (this.telemetryOn) {
      // The gauge holds sources weakly, so the policy must hold its own: an inline object
      // would be collected at the next GC and the gauge would freeze on stale states.
      this.circuitSource = {
        policyName: this.name,
        forEachCircuit: (visit) => this.registry.forEach((state, target) => visit(target, state.circuit.refresh(this.clock.now()))),
        forEachLimit: (visit) =>
          this.registry.forEach((state, target) => {
            const concurrency = state.gates?.concurrency;
            if (concurrency !== undefined) visit(target, concurrency.limit, concurrency.inFlight);
          }),
      };
      registerCircuitSource(this.circuitSource);
    }
  }

  /** A target's breaker; in fleet mode it reports to the shared breaker and follows it through a BreakerControl. */
  private createCircuit(target: string): Circuit {
    let circuit: Circuit | undefined;
    // Bound before the circuit exists: the shared breaker acts on it from the background, later.
    const control: BreakerControl = {
      open: (remainingMs) => circuit?.fleetOpened(this.clock.now(), remainingMs),
      close: () => circuit?.fleetClosed(),
    };
    const rule = resolveBreakerRule(this.breakerOptions);
    circuit = new Circuit(
      breakerRule(rule),
      {
        openMs: this.breakerOptions.openMs ?? BREAKER_DEFAULTS.openMs,
        maxOpenMs: this.breakerOptions.maxOpenMs ?? BREAKER_DEFAULTS.maxOpenMs,
        halfOpenProbes: this.breakerOptions.halfOpenProbes ?? BREAKER_DEFAULTS.halfOpenProbes,
      },
      (from, to, cause) => this.onTransition(target, from, to, cause === BY_FLEET, circuit),
      this.sharedBreaker(target, rule, control),
    );
    return circuit;
  }

  /** The fleet's breaker for a target, counting with this policy's rule (none when the breaker is off). */
  private sharedBreaker(target: string, rule: SharedBreakerSettings['rule'] | undefined, control: BreakerControl): SharedBreaker | undefined {
    if (this.shared?.breaker === undefined || rule === undefined) return undefined;
    const o = this.breakerOptions;
    return this.shared.breaker(target, { rule, openMs: o.openMs ?? BREAKER_DEFAULTS.openMs, maxOpenMs: o.maxOpenMs ?? BREAKER_DEFAULTS.maxOpenMs }, control);
  }

  /** The fleet's rate for a target, when the policy has a hand-set rate and shared state to take it from. */
  private sharedRate(target: string): SharedRate | undefined {
    const rate = this.gateSettings?.rate;
    if (this.shared?.rate === undefined || rate === undefined || !(rate.ratePerSecond > 0)) return undefined;
    return this.shared.rate(target, { ratePerSecond: rate.ratePerSecond, burst: rate.burst });
  }

  circuit(target: string): CircuitHandle {
    const state = this.registry.get(target);
    const clock = this.clock;
    return {
      target,
      get state() {
        return state.circuit.refresh(clock.now());
      },
      get stats() {
        const now = clock.now();
        return { ...state.circuit.stats(now), bulkhead: state.bulkhead?.stats(), retryBudget: state.budget?.stats(now), concurrency: state.gates?.concurrency?.stats(), rate: state.gates?.rateSnapshot(now) };
      },
      isolate: () => state.circuit.isolate(),
      reset: () => state.circuit.reset(),
    };
  }

  on<K extends PolicyEventName>(event: K, listener: PolicyListener<K>): () => void {
    return this.events.on(event, listener);
  }

  targets(): string[] {
    const targets: string[] = [];
    this.registry.forEach((_, target) => targets.push(target));
    return targets;
  }

  execute<T>(operation: (attempt: Attempt) => T | PromiseLike<T>, options: ExecuteOptions<T>): Promise<T> {
    // Not async itself: the common case (no bulkhead) goes straight into run(), one
    // async frame instead of two on the path every call takes.
    try {
      const telemetry = this.telemetryOn
        ? OperationTelemetry.begin({ policy: this.name, target: options.target, client: options.client ?? 'custom', attemptSpan: options.attemptSpan })
        : undefined;
      // NaN when nothing needs the start time (see alwaysTimed); a retry budget does.
      const startedAt = this.alwaysTimed || telemetry !== undefined ? this.readClock() : NaN;
      // After the clock read, which dates the target's use (the registry reads none of its own then).
      const state = this.registry.get(options.target, startedAt);
      if (options.signal?.aborted) return this.cancelled(options.signal, telemetry, startedAt, 0, options);
      if (state.bulkhead === undefined) return this.run(operation, options, state, telemetry, startedAt);
      return this.runInBulkhead(operation, options, state, state.bulkhead, telemetry, startedAt);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async runInBulkhead<T>(
    operation: (attempt: Attempt) => T | PromiseLike<T>,
    options: ExecuteOptions<T>,
    state: TargetState,
    bulkhead: Bulkhead,
    telemetry: OperationTelemetry | undefined,
    startedAt: number,
  ): Promise<T> {
    const callerSignal = options.signal;
    if (!bulkhead.tryEnter()) {
      if (!bulkhead.canQueue()) {
        return this.rejected(new BulkheadRejectedError(options.target, bulkhead.maxConcurrent, bulkhead.maxQueue), options, telemetry, startedAt, false);
      }
      try {
        // Counted from the call's start: the wait is part of the call's deadline.
        await new SlotWait(bulkhead, this.timers, callerSignal, () => new DeadlineExceededError(options.target, this.deadlineMs)).wait(startedAt, this.deadlineMs);
      } catch (reason) {
        if (callerSignal?.aborted) return this.cancelled(callerSignal, telemetry, startedAt, 0, options);
        return this.rejected(reason as Error, options, telemetry, startedAt, false);
      }
    }
    try {
      return await this.run(operation, options, state, telemetry, startedAt);
    } finally {
      bulkhead.leave();
    }
  }

  private async run<T>(
    operation: (attempt: Attempt) => T | PromiseLike<T>,
    options: ExecuteOptions<T>,
    state: TargetState,
    telemetry: OperationTelemetry | undefined,
    startedAt: number,
  ): Promise<T> {
    const clock = this.clock;
    const circuit = state.circuit;
    const target = options.target;
    const callerSignal = options.signal;
    const deadlineAt = this.deadlineMs === Infinity ? Infinity : startedAt + this.deadlineMs;
    const hedge = this.hedgeFor(options, state);
    const gates = state.gates;
    const timed = this.successEndTimed || telemetry !== undefined || hedge !== undefined || gates !== undefined;
    if (hedge !== undefined && Number.isNaN(startedAt)) startedAt = this.readClock();
    state.budget?.recordFirstAttempt(Number.isNaN(startedAt) ? this.recentTime() : startedAt);
    let backoff: BackoffState = INITIAL_BACKOFF;
    let delayBefore = 0;
    let lastFailure: unknown;
    let lastClassification: Classification | undefined;
    let lastResult: { value: T } | undefined;
    let attemptStart = startedAt;
    // `attempt` numbers attempts (hedges included); `round` counts the first attempt and
    // retries, which maxAttempts bounds. Without hedging they are equal.
    let attempt = 0;

    for (let round = 1; ; round++) {
      attempt++;
      let admission: Admission = ADMITTED;
      if (circuit.state !== 'closed') {
        if (Number.isNaN(attemptStart)) attemptStart = this.readClock();
        this.causeTelemetry = telemetry;
        admission = circuit.tryAcquire(attemptStart);
        this.causeTelemetry = undefined;
      }
      if (admission === REJECTED) {
        const rejection = new CircuitOpenError(target, circuit.retryAfterMs(attemptStart));
        if (attempt === 1) return this.rejected(rejection, options, telemetry, startedAt, true);
        const classification = this.classifier(rejection, { client: options.client ?? 'custom', target });
        telemetry?.rejected(classification, true, attempt);
        this.events.emit('rejected', { target, client: options.client ?? 'custom', error: rejection, classification });
        return this.giveUp(options, 'breaker_open', lastFailure, lastClassification!, lastResult, telemetry, startedAt, attempt - 1);
      }
      let limitWaitMs = 0;
      if (gates !== undefined) {
        try {
          limitWaitMs = await gates.admit(clock, this.timers, attemptStart, deadlineAt, callerSignal, target);
          if (limitWaitMs > 0) attemptStart = this.readClock();
        } catch (reason) {
          circuit.release(admission, circuit.generation); // a probe the breaker admitted never ran
          if (callerSignal?.aborted) return this.cancelled(callerSignal, telemetry, startedAt, attempt - 1, options);
          const limited = reason instanceof LimitedError ? reason : new LimitedError(target, 'concurrency');
          telemetry?.limited(limited.reason, limited.reason === 'rate' ? gates.rateSource : 'local');
          if (attempt === 1) return this.rejected(limited, options, telemetry, startedAt, false);
          const classification = this.classifier(limited, { client: options.client ?? 'custom', target });
          telemetry?.rejected(classification, false, attempt);
          this.events.emit('rejected', { target, client: options.client ?? 'custom', error: limited, classification });
          return this.giveUp(options, 'limited', lastFailure, lastClassification!, lastResult, telemetry, startedAt, attempt - 1);
        }
      }
      let generation = circuit.generation;
      let record: AttemptRecord | undefined;
      let failure: unknown;
      let failed = false;
      let result: T | undefined;
      let attemptEnd: number;
      let classification: Classification | undefined;
      lastResult = undefined;
      if (hedge === undefined) {
        record = telemetry?.attemptStarted(attempt, delayBefore, circuit.state, undefined, limitWaitMs, gates?.rateSource);
        const attemptContext = new AttemptContext(attempt, target, record);
        if (gates?.wantsHeaders) attemptContext.rateSink = (headers, status) => gates.feedHeaders(clock.now(), headers, status);
        const timeoutMs = deadlineAt === Infinity ? this.timeoutMs : Math.min(this.timeoutMs, deadlineAt - attemptStart);
        try {
          const pending = record ? context.with(record.context, operation, undefined, attemptContext) : operation(attemptContext);
          if (isThenable(pending)) {
            if (timeoutMs === Infinity && callerSignal === undefined) {
              result = await pending;
            } else {
              // Trimmed to what is left of the deadline: its expiry is the deadline's.
              const byDeadline = attemptStart + this.timeoutMs >= deadlineAt;
              const race = new AttemptRace<T>(attemptContext, this.timers, callerSignal, byDeadline ? this.deadlineMs : timeoutMs, byDeadline);
              result = await race.run(pending, attemptStart, timeoutMs);
            }
          } else {
            result = pending;
          }
        } catch (error) {
          failed = true;
          failure = error;
        }
        if (!failed && options.failureOf) {
          const resultFailure = this.safeFailureOf(options.failureOf, result as T);
          if (resultFailure !== undefined) {
            failed = true;
            failure = resultFailure;
            lastResult = { value: result as T };
          }
        }
        // Untimed successes skip the clock; durations are then NaN and read by nobody
        // (only telemetry and time-based breaker rules use them, and both make it timed).
        attemptEnd = timed || failed ? this.readClock() : NaN;
      } else {
        const decided = await this.hedgedRound(operation, options, state, telemetry, hedge, attempt, delayBefore, attemptStart, deadlineAt, admission, generation, limitWaitMs);
        attempt = decided.round.lastAttempt;
        const settled = decided.settled;
        ({ failed, failure, result, classification } = settled);
        record = settled.attempt.record;
        if (settled.resultIsFailure) lastResult = { value: result as T };
        attemptEnd = settled.end;
        attemptStart = settled.attempt.start;
        admission = settled.attempt.admission;
        generation = settled.attempt.generation;
        if (!failed) state.latency!.estimator.record(attemptEnd - decided.roundStart);
      }
      const durationMs = attemptEnd - attemptStart;
      if (!failed) {
        gates?.done(attemptEnd, durationMs, false);
        this.recordResult(state, admission, generation, false, attemptEnd, durationMs, telemetry, record);
        if (telemetry) {
          if (record) telemetry.attemptEnded(record, 'success', undefined, durationMs);
          telemetry.ended('success', undefined, attemptEnd - startedAt, attempt);
        }
        if (this.events.has('attempt')) this.attemptEvent(options, attempt, 'success', undefined);
        if (this.events.has('settled')) this.events.emit('settled', { target, client: options.client ?? 'custom', outcome: 'success', attempts: attempt });
        return result as T;
      }

      if (callerSignal?.aborted) {
        gates?.done(attemptEnd, durationMs, undefined);
        circuit.release(admission, generation);
        if (record) telemetry!.attemptEnded(record, 'cancelled', undefined, durationMs);
        if (this.events.has('attempt')) this.attemptEvent(options, attempt, 'cancelled', undefined);
        return this.cancelled(callerSignal, telemetry, startedAt, attempt, options);
      }
      classification ??= this.classifier(failure, { client: options.client ?? 'custom', target, method: options.method, callerSignal });
      gates?.done(attemptEnd, durationMs, isOverloadSignal(classification), classification);
      this.recordResult(state, admission, generation, this.countsAsBreakerFailure(classification), attemptEnd, durationMs, telemetry, record);
      if (record) telemetry!.attemptEnded(record, 'failure', classification, durationMs);
      if (this.events.has('attempt')) this.attemptEvent(options, attempt, 'failure', classification);
      lastFailure = failure;
      lastClassification = classification;

      const [delay, nextState] = nextBackoff(this.backoff, backoff, this.random);
      const waitMs = Math.max(delay, Math.min(classification.retryAfterMs ?? 0, this.backoff.maxDelayMs));
      const suppressed = this.suppressReason(failure, classification, round, options, circuit, attemptEnd, waitMs, deadlineAt, state.budget);
      if (suppressed !== undefined) {
        const source = suppressed === 'budget' ? state.budget!.source : 'local';
        return this.giveUp(options, suppressed, failure, classification, lastResult, telemetry, startedAt, attempt, source);
      }
      backoff = nextState;
      delayBefore = waitMs;
      telemetry?.retryScheduled(attempt + 1, waitMs);
      this.events.emit('retry', { target, client: options.client ?? 'custom', attempt: attempt + 1, delayMs: waitMs, error: failure, classification });
      try {
        await sleep(waitMs, clock, callerSignal);
      } catch {
        return this.cancelled(callerSignal!, telemetry, startedAt, attempt, options);
      }
      attemptStart = this.readClock();
    }
  }

  /** The hedge settings for this call, or undefined when it is not hedged; makes the target's hedging state on first use. */
  private hedgeFor<T>(options: ExecuteOptions<T>, state: TargetState): HedgeSettings | undefined {
    const perCall = options.hedge;
    if (perCall === false || (perCall === undefined && this.hedge === undefined)) return undefined;
    if ((options.hedgeable ?? (options.idempotent === true && options.canReplay === undefined)) === false) return undefined;
    const settings = perCall === undefined ? this.hedge! : resolveHedge(perCall, this.hedge);
    state.latency ??= new TargetLatency();
    if (state.budget === undefined) {
      const settings = this.budgetSettings ?? { ratio: Infinity, minPerSecond: 0, windowMs: RETRY_DEFAULTS.budgetWindowMs };
      state.budget = new RetryBudget(settings, this.shared?.budget?.(options.target, settings));
    }
    return settings;
  }

  /** One attempt of a hedged call and its backups, as HedgedRound runs them: which attempt decided the round. */
  private async hedgedRound<T>(
    operation: (attempt: Attempt) => T | PromiseLike<T>,
    options: ExecuteOptions<T>,
    state: TargetState,
    telemetry: OperationTelemetry | undefined,
    hedge: HedgeSettings,
    number: number,
    delayBefore: number,
    attemptStart: number,
    deadlineAt: number,
    admission: Admission,
    generation: number,
    limitWaitMs: number,
  ): Promise<{ round: HedgedRound<T>; settled: SettledAttempt<T>; roundStart: number }> {
    if (Number.isNaN(attemptStart)) attemptStart = this.readClock();
    const latency = state.latency!;
    const circuit = state.circuit;
    const budget = state.budget!;
    const gates = state.gates;
    const launch = (n: number, start: number, delay: number, hedgeDelayMs: number | undefined, admitted: Admission, gen: number, waited: number): RunningAttempt<T> =>
      this.launchAttempt(operation, options, telemetry, state, n, delay, start, deadlineAt, admitted, gen, hedgeDelayMs, waited);
    const host: RoundHost<T> = {
      now: () => this.readClock(),
      launchHedge: (n, delayMs) => launch(n, this.lastClockRead, 0, delayMs, ADMITTED, circuit.generation, 0),
      settle: (running, failed, outcome) => this.settleAttempt(options, running, failed, outcome),
      classify: (settled) =>
        options.signal?.aborted ? undefined : this.classifier(settled.failure, { client: options.client ?? 'custom', target: options.target, method: options.method, callerSignal: options.signal }),
      recordLost: (settled, classification) => {
        const durationMs = settled.end - settled.attempt.start;
        gates?.done(settled.end, durationMs, isOverloadSignal(classification), classification);
        this.recordResult(state, settled.attempt.admission, settled.attempt.generation, this.countsAsBreakerFailure(classification), settled.end, durationMs, telemetry, settled.attempt.record);
        if (settled.attempt.record) telemetry!.attemptEnded(settled.attempt.record, 'failure', classification, durationMs, true);
        if (this.events.has('attempt')) this.attemptEvent(options, settled.attempt.number, 'failure', classification);
      },
      recordCancelled: (running, now) => {
        gates?.done(now, now - running.start, undefined);
        circuit.release(running.admission, running.generation);
        if (running.record) telemetry!.attemptEnded(running.record, 'cancelled', undefined, now - running.start);
        if (this.events.has('attempt')) this.attemptEvent(options, running.number, 'cancelled', undefined);
      },
      vetoHedge: (now) => this.vetoHedge(state, now, deadlineAt, options.hedgeable) ?? this.hedgeAdmission(state, budget, hedge, now),
      hedgeResult: (running, result) => this.hedgeResult(options, telemetry, running, result),
      hedgeSkipped: (running, reason) => {
        if (running.record) telemetry!.hedgeSkipped(running.record, reason);
      },
    };
    const round = new HedgedRound<T>(host, this.timers, options.target, latency.delayMs(hedge), hedge.maxHedges);
    const settled = await round.run(launch(number, attemptStart, delayBefore, undefined, admission, generation, limitWaitMs));
    return { round, settled, roundStart: attemptStart };
  }

  /** The budget, then the rate and concurrency limits: a hedge goes only when all let it through now (and then it is counted in each). */
  private hedgeAdmission(state: TargetState, budget: RetryBudget, hedge: HedgeSettings, now: number): HedgeSkipReason | undefined {
    if (state.gates !== undefined && state.gates.rateWait(now) > 0) return 'limited';
    if (state.gates?.concurrency !== undefined && state.gates.concurrency.inFlight >= state.gates.concurrency.limit) return 'limited';
    if (!budget.tryAcquireHedge(now, hedge.budgetRatio)) return 'budget';
    return state.gates?.tryAdmitNow(now) === undefined ? undefined : 'limited';
  }

  /** Why a hedge may not be sent now, before the budget is asked. */
  private vetoHedge(state: TargetState, now: number, deadlineAt: number, hedgeable: ExecuteOptions<unknown>['hedgeable']): HedgeSkipReason | undefined {
    if (typeof hedgeable === 'function' && !safeHedgeable(hedgeable)) return 'not_replayable';
    if (state.circuit.state !== 'closed') return 'breaker_open';
    if (state.latency!.failing) return 'failing';
    if (deadlineAt - now <= state.latency!.typicalMs()) return 'deadline';
    return undefined;
  }

  /** Starts one attempt of a hedged call: under its span, raced against its timeout, the caller's abort and cancellation. */
  private launchAttempt<T>(
    operation: (attempt: Attempt) => T | PromiseLike<T>,
    options: ExecuteOptions<T>,
    telemetry: OperationTelemetry | undefined,
    state: TargetState,
    number: number,
    delayBefore: number,
    attemptStart: number,
    deadlineAt: number,
    admission: Admission,
    generation: number,
    hedgeDelayMs: number | undefined,
    limitWaitMs: number,
  ): RunningAttempt<T> {
    const record = telemetry?.attemptStarted(number, delayBefore, state.circuit.state, hedgeDelayMs, limitWaitMs, state.gates?.rateSource);
    const attemptContext = new AttemptContext(number, options.target, record, hedgeDelayMs !== undefined);
    const gates = state.gates;
    if (gates?.wantsHeaders) attemptContext.rateSink = (headers, status) => gates.feedHeaders(this.clock.now(), headers, status);
    const timeoutMs = deadlineAt === Infinity ? this.timeoutMs : Math.min(this.timeoutMs, deadlineAt - attemptStart);
    const byDeadline = attemptStart + this.timeoutMs >= deadlineAt;
    const race = new AttemptRace<T>(attemptContext, this.timers, options.signal, byDeadline ? this.deadlineMs : timeoutMs, byDeadline);
    let pending: PromiseLike<T>;
    try {
      const value = record ? context.with(record.context, operation, undefined, attemptContext) : operation(attemptContext);
      pending = isThenable(value) ? value : Promise.resolve(value);
    } catch (error) {
      pending = Promise.reject(error);
    }
    return {
      number,
      hedge: hedgeDelayMs !== undefined,
      context: attemptContext,
      record,
      start: attemptStart,
      admission,
      generation,
      outcome: race.run(pending, attemptStart, timeoutMs),
      cancel: (reason) => race.cancel(reason),
    };
  }

  private settleAttempt<T>(options: ExecuteOptions<T>, running: RunningAttempt<T>, failed: boolean, outcome: unknown): SettledAttempt<T> {
    let failure: unknown = failed ? outcome : undefined;
    const result = failed ? undefined : (outcome as T);
    let resultIsFailure = false;
    if (!failed && options.failureOf) {
      failure = this.safeFailureOf(options.failureOf, result as T);
      resultIsFailure = failed = failure !== undefined;
    }
    return { attempt: running, failed, failure, result, resultIsFailure, end: this.readClock() };
  }

  private hedgeResult<T>(options: ExecuteOptions<T>, telemetry: OperationTelemetry | undefined, running: RunningAttempt<T>, result: HedgeResult): void {
    if (running.record) telemetry!.hedgeResult(running.record, result, running.hedge);
    if (running.hedge) this.events.emit('hedge', { target: options.target, client: options.client ?? 'custom', attempt: running.number, result });
  }

  private readClock(): number {
    this.callsSinceClockRead = 0;
    return (this.lastClockRead = this.clock.now());
  }

  /**
   * A time good enough for counting first attempts in the retry budget's one-second
   * buckets: the last clock reading, refreshed every 64 calls and whenever anything
   * else reads the clock (every failure does). A stale reading can only count first
   * attempts earlier than they happened, so they leave the window sooner and the budget
   * errs towards fewer retries, never more.
   */
  private recentTime(): number {
    if (++this.callsSinceClockRead >= 64 || Number.isNaN(this.lastClockRead)) return this.readClock();
    return this.lastClockRead;
  }

  /** The first reason, in this order, why this failure must not be retried; undefined to retry. */
  private suppressReason<T>(
    failure: unknown,
    classification: Classification,
    attempt: number,
    options: ExecuteOptions<T>,
    circuit: Circuit,
    now: number,
    waitMs: number,
    deadlineAt: number,
    budget: RetryBudget | undefined,
  ): SuppressReason | undefined {
    if (!classification.transient) return 'not_transient';
    if (attempt >= this.maxAttempts) return 'max_attempts';
    const replay = this.replayDecision(failure, classification, attempt, options);
    if (replay !== true) return replay;
    if (circuit.state === 'open') return 'breaker_open';
    if (now + waitMs >= deadlineAt) return 'deadline';
    if (budget && !budget.tryAcquireRetry(now)) return 'budget';
    return undefined;
  }

  private replayDecision<T>(failure: unknown, classification: Classification, attempt: number, options: ExecuteOptions<T>): ReplayDecision {
    if (options.canReplay) {
      try {
        const decision = options.canReplay(failure, classification, attempt);
        return decision === true || decision === 'in_transaction' ? decision : 'not_idempotent';
      } catch {
        return 'not_idempotent'; // when unsure, never send twice
      }
    }
    return options.idempotent === true ? true : 'not_idempotent';
  }

  private recordResult(
    state: TargetState,
    admission: Admission,
    generation: number,
    failed: boolean,
    now: number,
    durationMs: number,
    telemetry: OperationTelemetry | undefined,
    record: AttemptRecord | undefined,
  ): void {
    this.causeTelemetry = telemetry;
    this.causeAttempt = record;
    state.circuit.record(now, admission, generation, failed, durationMs);
    if (state.latency !== undefined) state.latency.failing = failed;
    this.causeTelemetry = undefined;
    this.causeAttempt = undefined;
  }

  /** `byFleet`: the fleet's shared breaker decided it (no call of this process caused it). */
  private onTransition(target: string, from: CircuitState, to: CircuitState, byFleet: boolean, circuit: Circuit | undefined): void {
    this.events.emit('transition', { target, from, to });
    if (!this.telemetryOn) return;
    if (byFleet) {
      const openMs = to === 'open' ? circuit?.retryAfterMs(this.clock.now()) : undefined;
      recordCircuitTransition(this.name, target, from, to, undefined, 'fleet', openMs);
      return;
    }
    const telemetry = this.causeTelemetry;
    const attempt = this.causeAttempt;
    telemetry?.circuitTransition(attempt, from, to);
    recordCircuitTransition(this.name, target, from, to, attempt?.context ?? telemetry?.context);
  }

  private safeFailureOf<T>(failureOf: (result: T) => unknown, result: T): unknown {
    try {
      return failureOf(result);
    } catch {
      return undefined; // a broken predicate must not turn a success into a failure
    }
  }

  private async giveUp<T>(
    options: ExecuteOptions<T>,
    reason: SuppressReason,
    failure: unknown,
    classification: Classification,
    lastResult: { value: T } | undefined,
    telemetry: OperationTelemetry | undefined,
    startedAt: number,
    attempts: number,
    source: DecisionSource = 'local',
  ): Promise<T> {
    telemetry?.retrySuppressed(attempts, reason, source);
    attachClassification(failure, classification);
    this.events.emit('giveUp', { target: options.target, attempts, reason, error: failure, classification });
    if (this.fallback) return this.useFallback<T>(options, failure, classification, telemetry, startedAt, attempts);
    this.end(telemetry, 'failure', classification, startedAt, attempts, options);
    if (lastResult !== undefined) return lastResult.value;
    throw failure;
  }

  private async rejected<T>(
    rejection: Error,
    options: ExecuteOptions<T>,
    telemetry: OperationTelemetry | undefined,
    startedAt: number,
    byCircuit: boolean,
  ): Promise<T> {
    const classification = this.classifier(rejection, { client: options.client ?? 'custom', target: options.target });
    attachClassification(rejection, classification);
    telemetry?.rejected(classification, byCircuit, 1);
    this.events.emit('rejected', { target: options.target, client: options.client ?? 'custom', error: rejection, classification });
    if (this.fallback) return this.useFallback<T>(options, rejection, classification, telemetry, startedAt, 0);
    this.end(telemetry, 'rejected', classification, startedAt, 0, options);
    throw rejection;
  }

  private async useFallback<T>(
    options: ExecuteOptions<T>,
    failure: unknown,
    classification: Classification,
    telemetry: OperationTelemetry | undefined,
    startedAt: number,
    attempts: number,
  ): Promise<T> {
    try {
      const value = (await this.fallback!(failure, classification)) as T;
      this.events.emit('fallback', { target: options.target, error: failure, classification });
      this.end(telemetry, 'fallback', classification, startedAt, attempts, options);
      return value;
    } catch (fallbackError) {
      // The fallback is the caller's own code: its error is theirs to see.
      this.end(telemetry, 'failure', classification, startedAt, attempts, options);
      throw fallbackError;
    }
  }

  private cancelled(signal: AbortSignal, telemetry: OperationTelemetry | undefined, startedAt: number, attempts: number, options: CallIdentity): Promise<never> {
    this.end(telemetry, 'cancelled', undefined, startedAt, attempts, options);
    return Promise.reject(signal.reason);
  }

  private end(
    telemetry: OperationTelemetry | undefined,
    outcome: Outcome,
    classification: Classification | undefined,
    startedAt: number,
    attempts: number,
    options: CallIdentity,
  ): void {
    telemetry?.ended(outcome, classification, this.clock.now() - startedAt, attempts);
    if (this.events.has('settled')) this.events.emit('settled', { target: options.target, client: options.client ?? 'custom', outcome, attempts });
  }

  private attemptEvent(options: CallIdentity, attempt: number, outcome: 'success' | 'failure' | 'cancelled', classification: Classification | undefined): void {
    this.events.emit('attempt', { target: options.target, client: options.client ?? 'custom', attempt, outcome, classification });
  }
}
