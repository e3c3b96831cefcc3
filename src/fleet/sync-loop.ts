import type { Clock } from '../engine/clock.js';
import { systemClock } from '../engine/clock.js';
import { numberOption } from './option.js';

/**
 * The background half of fleet state that is shared per target (breaker-sync.ts,
 * budget-sync.ts): a loop of rounds, each sending one script call per target that has
 * something to say or to learn, all written in the same turn of the event loop (the
 * Redis client pipelines them: one round trip per round, whatever the number of
 * targets), and a base class for the per-target objects the engine holds.
 *
 * - Regular rounds every `syncMs`, for the ACTIVE targets: used (touch()) within
 *   `idleAfterMs`, or kept polled by their owner (a breaker the fleet holds open). An
 *   idle target costs nothing; its view is marked stale, and the first use after that
 *   asks for a prompt round.
 * - Prompt rounds for news that should not wait for the next regular one (a failure,
 *   a transition, a probe wanted, a target used again): on a later turn of the event
 *   loop (a 0 ms timer), `minGapMs` apart at least, sending only the targets that asked.
 * - One round in flight at most; what asks meanwhile runs right after it.
 * - Nothing here is awaited by a caller: the hot path only writes fields and, at most,
 *   schedules a round. Timers are unref'd: the loop never keeps a process alive.
 * - Mode: a target's view is the fleet's while its last round was answered, Redis is
 *   ready, and the answer is at most `staleMs` old (2 rounds and a timeout); otherwise
 *   the engine's local state decides, at once (`ready` is read on every question). A
 *   round answered again is the rejoin.
 */

export type FleetMode = 'fleet' | 'local';

/** How a round went: Redis answered at least one target, answered none, or nothing was due. */
export type RoundOutcome = 'ok' | 'failed' | 'idle';

export interface SyncLoopOptions {
  /** Redis's client: `ready` while it is connected (RespClient). */
  readonly client: { readonly ready: boolean };
  /** Regular rounds this far apart (ms). Default 250. */
  readonly syncMs?: number;
  /** Prompt rounds at least this far apart (ms). Default 5. */
  readonly minGapMs?: number;
  /** One round's script calls must be answered within this (ms). Default 250. */
  readonly timeoutMs?: number;
  /** A target unused this long (ms) is no longer polled. Default 10000. */
  readonly idleAfterMs?: number;
  /** Told when rounds start or stop being answered; an exception it throws is ignored. */
  readonly onModeChange?: (mode: FleetMode) => void;
  /** Local time and timers, the engine's (views are dated with it). Default systemClock. */
  readonly clock?: Clock;
}

/** What the loop needs of a target: made by SyncedTarget, never by the engine. */
interface Entry {
  due(urgentOnly: boolean): boolean;
  sync(): Promise<boolean>;
}

const DEFAULTS = { syncMs: 250, minGapMs: 5, timeoutMs: 250, idleAfterMs: 10_000 };

function noop(): void {}

export class SyncLoop {
  readonly syncMs: number;
  readonly minGapMs: number;
  readonly timeoutMs: number;
  readonly idleAfterMs: number;
  /** How old an answer may be and still be the fleet's view. */
  readonly staleMs: number;
  readonly clock: Clock;
  readonly #client: { readonly ready: boolean };
  readonly #onModeChange: (mode: FleetMode) => void;
  readonly #entries = new Set<Entry>();

  #mode: FleetMode = 'local';
  #regular: unknown;
  #promptArmed = false;
  #running = false;
  #regularAsked = false;
  #promptAsked = false;
  #lastStart = Number.NEGATIVE_INFINITY;
  #started = false;
  #closed = false;

  /** Throws RangeError on a bad option (configuration, checked once). */
  constructor(options: SyncLoopOptions) {
    this.#client = options.client;
    this.syncMs = numberOption(options.syncMs, DEFAULTS.syncMs, 'syncMs', 1);
    this.minGapMs = numberOption(options.minGapMs, DEFAULTS.minGapMs, 'minGapMs', 0);
    this.timeoutMs = numberOption(options.timeoutMs, DEFAULTS.timeoutMs, 'timeoutMs', 1);
    this.idleAfterMs = numberOption(options.idleAfterMs, DEFAULTS.idleAfterMs, 'idleAfterMs', 0);
    this.staleMs = 2 * this.syncMs + this.timeoutMs;
    this.#onModeChange = options.onModeChange ?? noop;
    this.clock = options.clock ?? systemClock;
  }

  /** Redis is connected now. */
  get ready(): boolean {
    return this.#client.ready;
  }

  /** 'fleet' while Redis is ready and the last round that sent anything was answered. */
  get mode(): FleetMode {
    return this.#client.ready ? this.#mode : 'local';
  }

  /** Targets synced. */
  get size(): number {
    return this.#entries.size;
  }

  add(entry: Entry): void {
    if (this.#closed) return;
    this.#entries.add(entry);
    if (!this.#started) {
      this.#started = true;
      this.#arm(this.syncMs);
    }
  }

  delete(entry: Entry): void {
    this.#entries.delete(entry);
  }

  /** Asks for a prompt round (the hot path may call this: it only sets a flag or a timer). */
  soon(): void {
    if (this.#closed || this.#promptArmed) return;
    if (this.#running) {
      this.#promptAsked = true;
      return;
    }
    this.#promptArmed = true;
    const fire = (): void => {
      this.#promptArmed = false;
      void this.#round(true);
    };
    this.#timer(fire, this.#lastStart + this.minGapMs - this.clock.now());
  }

  /** Stops the rounds; targets fall back to local state. */
  close(): void {
    this.#closed = true;
    this.clock.clearTimeout(this.#regular);
    this.#entries.clear();
  }

  #arm(delay: number): void {
    this.clock.clearTimeout(this.#regular);
    this.#regular = this.#timer(() => void this.#round(false), delay);
  }

  /** A timer on the clock that never keeps the process alive. */
  #timer(callback: () => void, delay: number): unknown {
    const handle = this.clock.setTimeout(callback, Math.max(0, delay));
    (handle as { unref?: () => void } | undefined)?.unref?.();
    return handle;
  }

  async #round(urgentOnly: boolean): Promise<void> {
    if (this.#closed) return;
    if (this.#running) {
      if (urgentOnly) this.#promptAsked = true;
      else this.#regularAsked = true;
      return;
    }
    this.#running = true;
    this.#lastStart = this.clock.now();
    let outcome: RoundOutcome;
    try {
      const due = [...this.#entries].filter((entry) => entry.due(urgentOnly));
      outcome = due.length === 0 ? 'idle' : (await Promise.all(due.map((entry) => entry.sync()))).includes(true) ? 'ok' : 'failed';
    } catch {
      outcome = 'failed'; // an owner's bug: never let it stop the loop
    }
    this.#running = false;
    if (outcome !== 'idle') this.#setMode(outcome === 'ok' ? 'fleet' : 'local');
    if (this.#closed) return;
    // No targets left: no timer either, until one is added.
    if (!urgentOnly && this.#entries.size === 0) this.#started = false;
    else if (!urgentOnly) this.#arm(Math.max(0, this.#lastStart + this.syncMs - this.clock.now()));
    if (this.#regularAsked) {
      this.#regularAsked = false;
      void this.#round(false);
    } else if (this.#promptAsked) {
      this.#promptAsked = false;
      this.soon();
    }
  }

  #setMode(mode: FleetMode): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    try {
      this.#onModeChange(mode);
    } catch {
      // a listener's bug must not stop the loop
    }
  }
}

/**
 * One target's shared state, as the engine holds it: the hot path calls the subclass's
 * methods (which only write fields: touch(), urgent()), the loop calls send() and
 * apply() in the background. R is the script's decoded reply.
 */
export abstract class SyncedTarget<R> {
  protected readonly loop: SyncLoop;
  readonly #entry: Entry;
  #active = true;
  #idle = false;
  #quietRounds = 0;
  #urgent = false;
  #synced = false;
  #syncedAt = Number.NEGATIVE_INFINITY;

  protected constructor(loop: SyncLoop) {
    this.loop = loop;
    this.#entry = { due: (urgentOnly) => this.#due(urgentOnly), sync: () => this.#sync() };
    loop.add(this.#entry);
    this.urgent(); // learn the fleet's state before many calls go
  }

  /** Whose state the engine should follow now: 'fleet' (synced, Redis up) or 'local'. */
  get mode(): FleetMode {
    return this.#synced && this.loop.ready ? 'fleet' : 'local';
  }

  /** Stops syncing this target (the engine forgot it); its view is local from now on. */
  close(): void {
    this.loop.delete(this.#entry);
    this.#synced = false;
  }

  /** The target is in use: polled on regular rounds; used again after being idle, a prompt round. */
  protected touch(): void {
    this.#active = true;
    if (this.#idle) {
      this.#idle = false;
      this.urgent();
    }
  }

  /** Something to tell or learn at once: this target goes in a prompt round. */
  protected urgent(): void {
    if (this.#urgent) return;
    this.#urgent = true;
    this.loop.soon();
  }

  /** Whether the fleet's view may be used at `now` (local time): answered, Redis up, not stale. */
  protected live(now: number): boolean {
    return this.#synced && this.loop.ready && now - this.#syncedAt <= this.loop.staleMs;
  }

  /** Polled on regular rounds even when unused (a breaker the fleet holds open). */
  protected keepPolling(): boolean {
    return false;
  }

  /** One script call: takes the pending counts and reports out of the object and sends them. */
  protected abstract send(): Promise<R>;
  /** The answer, at local time `now`: the new view. */
  protected abstract apply(reply: R, now: number): void;
  /** The call failed (Redis down, slow or refusing): what was taken out by send() is dealt with. */
  protected abstract failed(): void;

  #due(urgentOnly: boolean): boolean {
    if (urgentOnly) return this.#urgent;
    if (this.#active) {
      this.#active = false;
      this.#quietRounds = 0;
      return true;
    }
    if (this.#urgent || this.keepPolling()) return true;
    if (++this.#quietRounds * this.loop.syncMs < this.loop.idleAfterMs) return true;
    this.#idle = true;
    this.#synced = false; // not polled: what it last heard goes stale
    return false;
  }

  async #sync(): Promise<boolean> {
    this.#urgent = false;
    let reply: R;
    try {
      reply = await this.send();
    } catch {
      this.#synced = false;
      this.failed();
      return false;
    }
    const now = this.loop.clock.now();
    this.#synced = true;
    this.#syncedAt = now;
    this.apply(reply, now);
    return true;
  }
}
