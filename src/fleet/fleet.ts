import { systemClock } from '../engine/clock.js';
import type { BreakerControl, SharedBreakerSettings, SharedBudgetSettings, SharedRate, SharedRateSettings, SharedState } from '../engine/fleet-seams.js';
import { BreakerSync, type BreakerSyncOptions } from './breaker-sync.js';
import { BudgetSync, type BudgetSyncOptions } from './budget-sync.js';
import { ClusterClient, type ClusterClientOptions } from './cluster-client.js';
import { GcraLimiter } from './gcra.js';
import { fleetKey, fleetService } from './keys.js';
import { QuotaLease } from './quota-lease.js';
import type { RedisEndpoint } from './redis-url.js';
import { RespClient, type RedisHealth } from './resp-client.js';
import { SharedFleetBreaker } from './shared-breaker.js';
import { SharedFleetBudget } from './shared-budget.js';
import type { FleetMode } from './sync-loop.js';

/**
 * Fleet mode for one process: the engine's SharedState (src/engine/fleet-seams.ts),
 * built on one Redis connection that every fleet-mode policy of the process shares.
 *
 * - The connection (breakwater's own RESP client: never instrumented, never keeps the
 *   process alive) is made on first use, when a fleet-mode policy first meets a target,
 *   and closed by close() (at shutdown). With `cluster`, it is a ClusterClient: one
 *   connection per Redis Cluster node, each command routed to its target's slot.
 * - rate(): a QuotaLease per target, leasing from the fleet's GCRA bucket at
 *   fleetKey(service, target, 'rate'): the policy's rate and burst are the fleet's.
 * - breaker(): a FleetBreaker per target (breaker-sync.ts, one BreakerSync polling every
 *   syncMs), behind the engine's SharedBreaker (shared-breaker.ts).
 * - budget(): a FleetBudget per target (budget-sync.ts, one BudgetSync: rounds of 1 s),
 *   behind the engine's SharedBudget (shared-budget.ts).
 * - Breakers and budgets are kept per target key, at most MAX_SHARED_TARGETS of them
 *   (later targets keep theirs local): a target the engine forgot and made again gets
 *   the same ones back, so the syncs never hold more than that.
 * - Each change of the connection's health is logged as one line (`log`), naming the
 *   endpoint as redis://host:port/db and never its credentials.
 */

export interface FleetOptions {
  readonly endpoint: RedisEndpoint;
  /** The endpoint is a node of a Redis Cluster (cluster-client.ts); default a single Redis. */
  readonly cluster?: boolean;
  /** The configured service name; keys use its Redis-safe form (keys.ts). */
  readonly service: string;
  /** Instances sharing each quota: an instance cut off from Redis takes 1/expectedInstances of it. */
  readonly expectedInstances: number;
  /** Refresh period of the breakers' shared state (breaker-sync.ts); budgets sync every second (budget-sync.ts). */
  readonly syncMs: number;
  /** Where a change of the connection's health is told (one line each); default: nowhere. */
  readonly log?: (line: string) => void;
  /** Options of the client (tests). */
  readonly client?: Omit<ClusterClientOptions, 'onStateChange'>;
  /** Options of the breakers' and budgets' syncs (tests). */
  readonly breakerSync?: Partial<Omit<BreakerSyncOptions, 'client' | 'service'>>;
  readonly budgetSync?: Partial<Omit<BudgetSyncOptions, 'client' | 'service'>>;
}

/** Breakers and budgets shared at most for this many targets per process: the bound on what the syncs hold. */
export const MAX_SHARED_TARGETS = 1000;

interface SharedTarget {
  breaker?: SharedFleetBreaker;
  budget?: SharedFleetBudget;
}

/** A target's shared breaker and budget on the status endpoint: whose view (fleet or local) and the fleet's state as last heard. */
export interface FleetTargetStatus {
  readonly target: string;
  readonly breaker?: { readonly mode: FleetMode; readonly state: 'closed' | 'open' | 'half_open'; readonly epoch: number | null; readonly remainingMs: number };
  readonly budget?: { readonly mode: FleetMode; readonly firstAttempts: number; readonly retries: number; readonly hedges: number };
}

/**
 * The connection as an operator sees it: `idle` before the first fleet-mode call,
 * `connecting` until the first answer, then `up` or `down`; `closed` after shutdown.
 */
export type FleetConnection = 'idle' | 'connecting' | 'up' | 'down' | 'closed';

export interface FleetConnectionStatus {
  readonly connection: FleetConnection;
  /** When the connection last went up or down (ISO 8601). */
  readonly since?: string;
  /** Why it is down (scrubbed of credentials by the client). */
  readonly lastError?: string;
}

export class Fleet implements SharedState {
  readonly #options: FleetOptions;
  readonly #service: string;
  #client: RespClient | ClusterClient | undefined;
  #limiter: GcraLimiter | undefined;
  #breakers: BreakerSync | undefined;
  #budgets: BudgetSync | undefined;
  readonly #targets = new Map<string, SharedTarget>();
  #health: RedisHealth | undefined;
  #since: number | undefined;

  constructor(options: FleetOptions) {
    this.#options = options;
    this.#service = fleetService(options.service);
  }

  /** `redis://host:port/db`: safe to show. */
  get redis(): string {
    return this.#options.endpoint.describe();
  }

  /** The key namespace in Redis (the service name, restricted to what keys.ts allows). */
  get service(): string {
    return this.#service;
  }

  rate(target: string, settings: SharedRateSettings): SharedRate {
    return new QuotaLease({
      source: this.#rateSource(),
      key: fleetKey(this.#service, target, 'rate'),
      ratePerSecond: settings.ratePerSecond,
      burst: settings.burst,
      expectedInstances: this.#options.expectedInstances,
    });
  }

  breaker(target: string, settings: SharedBreakerSettings, control: BreakerControl): SharedFleetBreaker | undefined {
    const entry = this.#entry(target);
    if (entry === undefined) return undefined;
    if (entry.breaker !== undefined) entry.breaker.bind(control);
    else entry.breaker = new SharedFleetBreaker((listener) => this.#breakerSync().target(target, settings, listener), control);
    return entry.breaker;
  }

  budget(target: string, settings: SharedBudgetSettings): SharedFleetBudget | undefined {
    const entry = this.#entry(target);
    if (entry === undefined) return undefined;
    const retriesBounded = Number.isFinite(settings.ratio);
    // Unbounded retries: the fleet's budget only limits hedges, which bring their own ratio.
    const fleetSettings = retriesBounded ? settings : { ratio: 0, minPerSecond: 0, windowMs: settings.windowMs };
    entry.budget ??= new SharedFleetBudget(this.#budgetSync().target(target, fleetSettings), retriesBounded);
    return entry.budget;
  }

  /** Per target, the fleet's breaker and budget as this process sees them (the status endpoint). */
  targets(): FleetTargetStatus[] {
    const now = systemClock.now();
    return [...this.#targets].map(([target, { breaker, budget }]) => {
      const b = breaker?.fleet.view(now);
      const r = budget?.fleet.view(now);
      return {
        target,
        ...(b === undefined ? {} : { breaker: { mode: b.mode, state: b.state, epoch: b.epoch ?? null, remainingMs: Math.round(b.remainingMs) } }),
        ...(r === undefined ? {} : { budget: { mode: r.mode, ...r.fleet } }),
      };
    });
  }

  status(): FleetConnectionStatus {
    const client = this.#client;
    let connection: FleetConnection;
    if (client === undefined || client.state === 'idle') connection = 'idle';
    else if (client.state === 'closed') connection = 'closed';
    else if (client.ready) connection = 'up';
    else connection = this.#health === 'down' ? 'down' : 'connecting';
    const since = this.#since === undefined ? {} : { since: new Date(this.#since).toISOString() };
    return connection === 'down' || connection === 'connecting' ? { connection, ...since, lastError: client!.lastError } : { connection, ...since };
  }

  /** Stops the syncs and closes the connection (pending leases fail, and decisions turn local); idempotent. */
  async close(): Promise<void> {
    this.#breakers?.close();
    this.#budgets?.close();
    await this.#client?.close();
  }

  #entry(target: string): SharedTarget | undefined {
    let entry = this.#targets.get(target);
    if (entry === undefined && this.#targets.size < MAX_SHARED_TARGETS) this.#targets.set(target, (entry = {}));
    return entry;
  }

  #breakerSync(): BreakerSync {
    this.#breakers ??= new BreakerSync({ client: this.#connection(), service: this.#service, syncMs: this.#options.syncMs, ...this.#options.breakerSync });
    return this.#breakers;
  }

  #budgetSync(): BudgetSync {
    this.#budgets ??= new BudgetSync({ client: this.#connection(), service: this.#service, expectedInstances: this.#options.expectedInstances, ...this.#options.budgetSync });
    return this.#budgets;
  }

  #rateSource(): GcraLimiter {
    this.#limiter ??= new GcraLimiter(this.#connection());
    return this.#limiter;
  }

  /** The process's one connection, dialled now if it was not. */
  #connection(): RespClient | ClusterClient {
    if (this.#client === undefined) {
      const { refreshGapMs, ...single } = this.#options.client ?? {};
      const onStateChange = (health: RedisHealth): void => this.#changed(health);
      this.#client = this.#options.cluster
        ? new ClusterClient(this.#options.endpoint, { ...single, refreshGapMs, onStateChange })
        : new RespClient(this.#options.endpoint, { ...single, onStateChange });
      this.#client.connect();
    }
    return this.#client;
  }

  #changed(health: RedisHealth): void {
    const first = this.#health === undefined;
    this.#health = health;
    this.#since = Date.now();
    const log = this.#options.log;
    if (log === undefined) return;
    if (health === 'down') log(`breakwater: fleet mode: Redis ${this.redis} is unreachable (${this.#client!.lastError}); rate limits, breakers and retry budgets are local until it is back`);
    else if (!first) log(`breakwater: fleet mode: Redis ${this.redis} is back; rate limits, breakers and retry budgets are the fleet's again`);
  }
}
