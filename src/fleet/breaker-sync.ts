import { randomUUID } from 'node:crypto';
import type { Clock } from '../engine/clock.js';
import { breakerArgs, BREAKER_SYNC_SCRIPT, parseBreakerReply, type BreakerExchange, type BreakerReply, type BreakerScriptRule } from './breaker-script.js';
import type { ReadyCommander } from './gcra.js';
import { fleetKey } from './keys.js';
import { numberOption } from './option.js';
import type { RespValue } from './resp.js';
import { ScriptRunner } from './script-runner.js';
import { SyncedTarget, SyncLoop, type FleetMode } from './sync-loop.js';

/**
 * Shared breaker state per target: the local breaker (engine/breaker/circuit.ts) stays
 * the one that admits or rejects a call, and a FleetBreaker beside it tells the fleet
 * what it sees and says what the fleet decided. Nothing here is awaited by a call.
 *
 * What the engine does with a FleetBreaker (one per target, from BreakerSync.target()):
 * - record(failed, durationMs): each attempt outcome its closed breaker counts (not
 *   probes, which are transitions). Failures are sent in a prompt round (they are rare
 *   while things are well); successes wait for the regular round, and only as much as
 *   the rule needs: the consecutive rule sends "a success came" only when the fleet's
 *   run of failures is not zero, the rate rule sends per-round counts into the window.
 *   The script counts them FLEET-WIDE against the rule and opens the fleet's breaker,
 *   so the fleet opens after about one instance's worth of failures.
 * - transition(to): the local breaker's changes. 'open' (its rule tripped or a probe
 *   failed) and 'closed' (a probe succeeded) are reported with the epoch they were made
 *   in (stale writers lose: breaker-script.ts); a change that only follows the fleet
 *   is not sent back.
 * - onChange (the listener given to target()): the fleet opened (for remainingMs) or
 *   closed the breaker, and not by this instance's own report: the engine opens or
 *   closes its breaker to match ("opened because the fleet said so").
 * - heldOpenMs(now): how long the fleet still holds the target open (0: it does not,
 *   or the view is local), for a call that comes before the listener ran.
 * - mayProbe(now): asked by a half-open breaker before a probe. True when the view is
 *   local, when the fleet is not holding the target open, or when this instance holds
 *   the fleet's probe permit; false otherwise, and the permit is asked for in the
 *   background (SET NX PX in the script), so one instance of the fleet probes while
 *   the others keep rejecting until the fleet closes or the permit expires.
 *
 * Sync: polling, one script call per active target per round (syncMs, default 250 ms),
 * all targets' calls pipelined in one write; news goes in prompt rounds. Why not
 * pub/sub: it needs a second, subscribed connection per instance, a message lost
 * across a reconnect is a state never learnt (polling heals on the next round), and in
 * a Cluster classic PUBLISH goes to every node. The bound: an outage seen by one
 * instance reaches the fleet in its prompt round (one round trip) and every other
 * instance on its next regular round: at most syncMs + 2 round trips + minGapMs.
 * Cost per instance: 1000 / syncMs script calls per second per active target (4 at
 * the defaults), each O(1) (the rate rule's window read is 3 x 10 fields).
 *
 * Redis down or slow (a round not answered, the client not ready): the view is local
 * at once (mode 'local': heldOpenMs 0, mayProbe true), so the local breaker decides
 * alone. Outcomes counted meanwhile are dropped; a transition is kept and reported on
 * the rejoin with the epoch it was made in, so a breaker that opened during the outage
 * opens the fleet's if the fleet has not moved since, and loses to whatever the fleet
 * decided meanwhile, which the instance then follows. Rejoining is the first round
 * answered again.
 */

export type FleetBreakerRule =
  | { readonly mode: 'consecutive'; readonly threshold: number }
  | {
      readonly mode: 'rate';
      readonly failureRate: number;
      readonly minCalls: number;
      readonly windowMs: number;
      /** 0: slow calls are not counted. */
      readonly slowCallMs: number;
      readonly slowCallRate: number;
    };

/** A target's breaker settings, as the engine resolved them (every instance should use the same). */
export interface FleetBreakerSettings {
  readonly rule: FleetBreakerRule;
  readonly openMs: number;
  readonly maxOpenMs: number;
  /** How long a won probe permit lasts (ms): after it, another instance may probe. Default 10000. */
  readonly probePermitMs?: number;
}

export interface FleetBreakerChange {
  /** 'open': the fleet holds the target open; 'closed': a probe closed it. */
  readonly state: 'open' | 'closed';
  /** For 'open': ms until the fleet's open period ends (0 when it has). */
  readonly remainingMs: number;
  readonly epoch: number;
}

/** Called in the background, never inside an engine call; an exception it throws is ignored. */
export type FleetBreakerListener = (change: FleetBreakerChange) => void;

export interface FleetBreakerView {
  readonly mode: FleetMode;
  /** The fleet's state as last heard ('half_open': open, its period over, a permit holder probing). */
  readonly state: 'closed' | 'open' | 'half_open';
  readonly epoch: number | undefined;
  readonly remainingMs: number;
  readonly consecutiveFailures: number;
  readonly probePermit: boolean;
}

export interface BreakerSyncOptions {
  /** breakwater's own Redis client (RespClient). */
  readonly client: ReadyCommander;
  /** The service's name: keys are per service (keys.ts). */
  readonly service: string;
  /** Regular rounds (ms). Default 250. */
  readonly syncMs?: number;
  /** Prompt rounds at least this far apart (ms). Default 5. */
  readonly minGapMs?: number;
  /** A round's time limit (ms). Default 250. */
  readonly timeoutMs?: number;
  /** A closed target unused this long is no longer polled (ms). Default 10000. */
  readonly idleAfterMs?: number;
  /** A breaker's hash outlives its last write (and its open period) by this much (ms); at least its window. Default 60000. */
  readonly stateTtlMs?: number;
  /** Wall-clock ms passed to the script instead of Redis's TIME (tests). */
  readonly now?: () => number;
  /** Local time and timers, the engine's: heldOpenMs/mayProbe take `now` from it. Default systemClock. */
  readonly clock?: Clock;
  /** Names this instance's probe permit. Default a random UUID. */
  readonly instanceId?: string;
  readonly onModeChange?: (mode: FleetMode) => void;
}

const DEFAULT_PERMIT_MS = 10_000;
const DEFAULT_STATE_TTL_MS = 60_000;
/** The rate rule's window in the fleet: as many buckets as the local one (window-counter.ts). */
const WINDOW_BUCKETS = 10;
/** A window's hash outlives its window by this much. */
const WINDOW_SLACK_MS = 1000;

function noop(): void {}

export class BreakerSync {
  readonly instanceId: string;
  readonly #loop: SyncLoop;
  readonly #runner: ScriptRunner;
  readonly #service: string;
  readonly #stateTtlMs: number;
  readonly #now: (() => number) | undefined;

  /** Throws RangeError on a bad option (configuration, checked once). */
  constructor(options: BreakerSyncOptions) {
    this.#loop = new SyncLoop(options);
    this.#runner = new ScriptRunner(options.client, BREAKER_SYNC_SCRIPT);
    this.#service = options.service;
    this.#stateTtlMs = numberOption(options.stateTtlMs, DEFAULT_STATE_TTL_MS, 'stateTtlMs', 1);
    this.#now = options.now;
    this.instanceId = options.instanceId ?? randomUUID();
  }

  /** 'fleet' while Redis answers; a target's own view is FleetBreaker.mode. */
  get mode(): FleetMode {
    return this.#loop.mode;
  }

  /** Targets synced now. */
  get size(): number {
    return this.#loop.size;
  }

  /** The fleet's breaker for `target` (throws RangeError on bad settings); close() it when the engine forgets the target. */
  target(target: string, settings: FleetBreakerSettings, onChange: FleetBreakerListener = noop): FleetBreaker {
    return new FleetBreaker(this.#loop, {
      target,
      key: fleetKey(this.#service, target, 'breaker'),
      permitKey: fleetKey(this.#service, target, 'probe'),
      send: (keys, exchange) => this.#runner.run(keys, breakerArgs({ ...exchange, now: this.#now?.(), instanceId: this.instanceId, target }), this.#loop.timeoutMs),
      settings,
      stateTtlMs: this.#stateTtlMs,
      onChange,
    });
  }

  /** Stops syncing; every target's view is local from now on. */
  close(): void {
    this.#loop.close();
  }
}

/** What BreakerSync gives each FleetBreaker. */
interface FleetBreakerHost {
  readonly target: string;
  readonly key: string;
  readonly permitKey: string;
  readonly send: (keys: string[], exchange: Omit<BreakerExchange, 'now' | 'instanceId' | 'target'>) => Promise<RespValue>;
  readonly settings: FleetBreakerSettings;
  readonly stateTtlMs: number;
  readonly onChange: FleetBreakerListener;
}

function scriptRule(rule: FleetBreakerRule): BreakerScriptRule {
  if (rule.mode === 'consecutive') return { mode: 'consecutive', threshold: numberOption(rule.threshold, NaN, 'threshold', 1) };
  if (rule.mode !== 'rate') throw new RangeError(`the fleet breaker's rule must be consecutive or rate, not ${String((rule as { mode: unknown }).mode)}`);
  const windowMs = numberOption(rule.windowMs, NaN, 'windowMs', WINDOW_BUCKETS);
  return {
    mode: 'rate',
    minCalls: numberOption(rule.minCalls, NaN, 'minCalls', 1),
    failureRate: numberOption(rule.failureRate, NaN, 'failureRate', 0),
    slowCallRate: numberOption(rule.slowCallMs, NaN, 'slowCallMs', 0) > 0 ? numberOption(rule.slowCallRate, NaN, 'slowCallRate', 0) : undefined,
    bucketMs: Math.ceil(windowMs / WINDOW_BUCKETS),
    buckets: WINDOW_BUCKETS,
  };
}

/** One target's fleet breaker; made by BreakerSync.target(). */
export class FleetBreaker extends SyncedTarget<BreakerReply> {
  readonly target: string;
  readonly #host: FleetBreakerHost;
  readonly #rule: BreakerScriptRule;
  readonly #slowCallMs: number;
  readonly #openMs: number;
  readonly #maxOpenMs: number;
  readonly #permitMs: number;
  readonly #ttlMs: number;

  // Counted on the hot path, taken by the next exchange.
  #calls = 0;
  #failures = 0;
  #slow = 0;
  #reset = false;
  #report: 'open' | 'closed' | undefined;
  #reportEpoch = -1;
  #wantProbe = false;
  /** What the exchange in flight took out: a report is put back if it fails. */
  #sentReport: { to: 'open' | 'closed'; epoch: number } | undefined;

  // The fleet's state as last heard.
  #open = false;
  #epoch: number | undefined;
  #untilLocal = 0;
  #consecutiveFailures = 0;
  #permitUntil = Number.NEGATIVE_INFINITY;

  /** @internal Use BreakerSync.target(). */
  constructor(loop: SyncLoop, host: FleetBreakerHost) {
    const { settings } = host;
    const rule = scriptRule(settings.rule);
    const openMs = numberOption(settings.openMs, NaN, 'openMs', 1);
    const maxOpenMs = numberOption(settings.maxOpenMs, NaN, 'maxOpenMs', openMs);
    const permitMs = numberOption(settings.probePermitMs, DEFAULT_PERMIT_MS, 'probePermitMs', 1);
    super(loop);
    this.target = host.target;
    this.#host = host;
    this.#rule = rule;
    this.#slowCallMs = settings.rule.mode === 'rate' ? settings.rule.slowCallMs : 0;
    this.#openMs = openMs;
    this.#maxOpenMs = maxOpenMs;
    this.#permitMs = permitMs;
    this.#ttlMs = rule.mode === 'rate' ? Math.max(host.stateTtlMs, rule.bucketMs * rule.buckets + WINDOW_SLACK_MS) : host.stateTtlMs;
  }

  /** An attempt's outcome, as the closed local breaker counted it. Hot path: fields only. */
  record(failed: boolean, durationMs = 0): void {
    this.touch();
    if (this.#rule.mode === 'rate') {
      this.#calls++;
      if (failed) this.#failures++;
      if (this.#slowCallMs > 0 && durationMs >= this.#slowCallMs) this.#slow++;
    } else if (failed) {
      this.#failures++;
    } else {
      this.#reset = true;
      this.#failures = 0;
    }
    if (failed) this.urgent();
  }

  /** The local breaker changed state (its listener passes it on); 'half_open' says nothing to the fleet. */
  transition(to: 'closed' | 'open' | 'half_open'): void {
    if (to === 'half_open') return;
    this.touch();
    this.#permitUntil = Number.NEGATIVE_INFINITY; // a probe's outcome ends the permit's use
    this.#wantProbe = false;
    // Following the fleet is no news to it, and leaves nothing earlier to report.
    if (to === 'open' ? this.#open && this.#untilLocal > this.loop.clock.now() : !this.#open && this.#epoch !== undefined) {
      this.#report = undefined;
      return;
    }
    this.#report = to;
    this.#reportEpoch = this.#epoch ?? -1;
    this.urgent();
  }

  /** Ms the fleet still holds the target open at `now` (local time); 0 when it does not or the view is local. */
  heldOpenMs(now: number): number {
    if (!this.#open || !this.live(now)) return 0;
    return Math.max(0, this.#untilLocal - now);
  }

  /** Whether this instance may send a half-open probe at `now`; when not, the permit is asked for in the background. */
  mayProbe(now: number): boolean {
    this.touch();
    if (!this.#open || !this.live(now) || this.#permitUntil > now) return true;
    if (!this.#wantProbe) {
      this.#wantProbe = true;
      this.urgent();
    }
    return false;
  }

  view(now: number): FleetBreakerView {
    const live = this.live(now);
    return {
      mode: live ? 'fleet' : 'local',
      state: !this.#open ? 'closed' : this.#untilLocal > now ? 'open' : 'half_open',
      epoch: this.#epoch,
      remainingMs: this.#open ? Math.max(0, this.#untilLocal - now) : 0,
      consecutiveFailures: this.#consecutiveFailures,
      probePermit: this.#permitUntil > now,
    };
  }

  protected override keepPolling(): boolean {
    return this.#open || this.#report !== undefined;
  }

  protected override async send(): Promise<BreakerReply> {
    // Only a run the fleet has is worth resetting.
    const reset = this.#reset && this.#consecutiveFailures > 0;
    const report = this.#report;
    this.#sentReport = report === undefined ? undefined : { to: report, epoch: this.#reportEpoch };
    const exchange = {
      epoch: report === undefined ? (this.#epoch ?? -1) : this.#reportEpoch,
      report,
      wantProbe: this.#wantProbe,
      rule: this.#rule,
      calls: this.#calls,
      failures: this.#failures,
      slow: this.#slow,
      reset,
      openMs: this.#openMs,
      maxOpenMs: this.#maxOpenMs,
      permitMs: this.#permitMs,
      ttlMs: this.#ttlMs,
    };
    this.#calls = this.#failures = this.#slow = 0;
    this.#reset = false;
    this.#report = undefined;
    return parseBreakerReply(await this.#host.send([this.#host.key, this.#host.permitKey], exchange));
  }

  protected override failed(): void {
    // Counts are dropped (they may have been applied); a report is kept for the rejoin.
    if (this.#sentReport !== undefined && this.#report === undefined) {
      this.#report = this.#sentReport.to;
      this.#reportEpoch = this.#sentReport.epoch;
    }
    this.#sentReport = undefined;
  }

  protected override apply(reply: BreakerReply, now: number): void {
    this.#sentReport = undefined;
    const wasOpen = this.#open;
    const changed = reply.epoch !== this.#epoch;
    this.#open = reply.open;
    this.#epoch = reply.epoch;
    this.#untilLocal = now + reply.remainingMs;
    this.#consecutiveFailures = reply.consecutiveFailures;
    if (reply.permitMs > 0) {
      this.#permitUntil = now + reply.permitMs;
      this.#wantProbe = false;
    } else if (changed) {
      this.#permitUntil = Number.NEGATIVE_INFINITY;
    }
    if (!reply.open) this.#wantProbe = false;
    if (!changed || reply.reported || (!reply.open && !wasOpen)) return;
    try {
      this.#host.onChange({ state: reply.open ? 'open' : 'closed', remainingMs: Math.max(0, reply.remainingMs), epoch: reply.epoch });
    } catch {
      // the engine's listener must not break the sync
    }
  }
}
