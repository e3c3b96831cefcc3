import type { BreakerControl, SharedBreaker, SharedBudget, SharedRate, SharedRateSettings, SharedState } from '../engine/shared-state.js';
import { GcraLimiter } from './gcra.js';
import { fleetKey, fleetService } from './keys.js';
import { QuotaLease } from './quota-lease.js';
import type { RedisEndpoint } from './redis-url.js';
import { RespClient, type RedisHealth, type RespClientOptions } from './resp-client.js';

/**
 * Fleet mode for one process: the engine's SharedState (src/engine/shared-state.ts),
 * built on one Redis connection that every fleet-mode policy of the process shares.
 *
 * - The connection (breakwater's own RESP client: never instrumented, never keeps the
 *   process alive) is made on first use, when a fleet-mode policy first meets a target,
 *   and closed by close() (at shutdown).
 * - rate(): a QuotaLease per target, leasing from the fleet's GCRA bucket at
 *   fleetKey(service, target, 'rate'): the policy's rate and burst are the fleet's.
 * - breaker(), budget(): not shared yet, see the TODOs below; the engine keeps them local.
 * - Each change of the connection's health is logged as one line (`log`), naming the
 *   endpoint as redis://host:port/db and never its credentials.
 */

export interface FleetOptions {
  readonly endpoint: RedisEndpoint;
  /** The configured service name; keys use its Redis-safe form (keys.ts). */
  readonly service: string;
  /** Instances sharing each quota: an instance cut off from Redis takes 1/expectedInstances of it. */
  readonly expectedInstances: number;
  /** Refresh period of the state shared beside the rate (the breaker's, breaker-sync.ts). */
  readonly syncMs: number;
  /** Where a change of the connection's health is told (one line each); default: nowhere. */
  readonly log?: (line: string) => void;
  /** Options of the client (tests). */
  readonly client?: Omit<RespClientOptions, 'onStateChange'>;
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
  #client: RespClient | undefined;
  #limiter: GcraLimiter | undefined;
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

  // TODO(breaker-sync.ts): shared breaker state (fleet-wide failure counting, opening and
  // closing followed by every instance within syncMs, fleet-limited half-open probes) on
  // this.#connection(); until then the engine keeps each breaker local.
  breaker(_target: string, _control: BreakerControl): SharedBreaker | undefined {
    return undefined;
  }

  // TODO(budget-sync.ts): the fleet-wide retry budget on this.#connection(); until then
  // each instance's budget is its own.
  budget(_target: string): SharedBudget | undefined {
    return undefined;
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

  /** Closes the connection (pending leases fail, and decisions turn local); idempotent. */
  async close(): Promise<void> {
    await this.#client?.close();
  }

  #rateSource(): GcraLimiter {
    this.#limiter ??= new GcraLimiter(this.#connection());
    return this.#limiter;
  }

  /** The process's one connection, dialled now if it was not. */
  #connection(): RespClient {
    if (this.#client === undefined) {
      this.#client = new RespClient(this.#options.endpoint, { ...this.#options.client, onStateChange: (health) => this.#changed(health) });
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
    if (health === 'down') log(`breakwater: fleet mode: Redis ${this.redis} is unreachable (${this.#client!.lastError}); rate limits are local until it is back`);
    else if (!first) log(`breakwater: fleet mode: Redis ${this.redis} is back; rate limits are the fleet's again`);
  }
}
