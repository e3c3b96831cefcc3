import type { Runtime } from '../../src/runtime/runtime.js';
import { callOriginal } from './calls.js';

/**
 * Second connections for hedged calls ("hedge twins"), one per client that hedges.
 *
 * A client that answers in order on its one connection (Redis) cannot hedge on it: a
 * backup queued behind a stalled reply can never be faster. Its backup attempts go over a
 * twin: a copy of the client (its own options, credentials included, never read here)
 * opened the first time the client sends a hedgeable call while its target's policy
 * hedges, so it is usually connected before a hedge is due. Until it is, `canHedge` says
 * no and the engine skips the hedge (`not_replayable`).
 *
 * A twin never reconnects by itself: once its connection is lost, the next hedgeable call
 * opens a new one: at once when the lost twin had carried a hedge, else no sooner than a
 * backoff after the last was opened (1 s, doubling to 30 s), so a server refusing
 * connections is not dialled on every call. It is opened with tracing suppressed (no
 * instrumentation records its set-up), closed when its client is closed, and never keeps
 * the process alive.
 */
export interface TwinDriver<C extends object, T> {
  /** The client's target key. */
  targetOf(client: C): string;
  /** Whether the client may ever be hedged (asked once): nothing about it rules a twin out. */
  mayHedge(client: C): boolean;
  /** Whether the client may get a twin now (it is connected). */
  canOpen(client: C): boolean;
  /**
   * A copy of the client, connecting now: it never reconnects nor queues commands while
   * offline, has an 'error' listener and does not keep the process alive.
   */
  open(client: C): T;
  /** Whether the twin is connected and ready for a command now. */
  isReady(twin: T): boolean;
  /** Whether the twin is closed for good (a new one must be opened). */
  isClosed(twin: T): boolean;
  close(twin: T): void;
  /** Calls `listener` once the client is closed (quit, disconnect...); returns what stops listening. */
  onClientClosed(client: C, listener: () => void): () => void;
}

const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

/** One client's twin and when the next may be opened. */
class TwinSlot<T> {
  twin: T | undefined;
  nextOpenAt = 0;
  backoffMs = FIRST_BACKOFF_MS;
  stopListening: (() => void) | undefined;
  /** What the engine asks when a hedge is due; one function per client, not one per call. */
  readonly canHedge: () => boolean;

  constructor(isReady: (twin: T) => boolean) {
    this.canHedge = () => {
      const twin = this.twin;
      if (twin === undefined || !isReady(twin)) return false;
      this.nextOpenAt = 0;
      this.backoffMs = FIRST_BACKOFF_MS;
      return true;
    };
  }
}

/** A client whose target does not hedge, that the driver rules out, or that changed its session (SELECT...): never hedged. */
const NEVER = null;

export class HedgeTwins<C extends object, T extends object> {
  /** Whether any policy hedges: when false, every method returns at once. */
  readonly active: boolean;
  private readonly slots = new WeakMap<C, TwinSlot<T> | typeof NEVER>();
  /** Every open twin, so disable() can close them; a twin leaves it when closed. */
  private readonly open = new Set<T>();
  private readonly twins = new WeakSet<T>();

  constructor(
    private readonly runtime: Runtime,
    private readonly driver: TwinDriver<C, T>,
    /** Injected time, for tests. */
    private readonly now: () => number = Date.now,
  ) {
    this.active = runtime.hedging;
  }

  /**
   * For a call that may be hedged (a read, outside any transaction): the function the
   * engine asks when a hedge is due (true while the twin is ready), or undefined when the
   * client is never hedged. Opens the client's twin when it has none.
   */
  canHedge(client: C): (() => boolean) | undefined {
    let slot = this.slots.get(client);
    if (slot === NEVER) return undefined;
    if (slot === undefined) {
      const hedged = this.safely(() => this.driver.mayHedge(client) && this.runtime.hedges(this.driver.targetOf(client)), false);
      slot = hedged ? new TwinSlot<T>((twin) => this.driver.isReady(twin)) : NEVER;
      this.slots.set(client, slot);
      if (slot === NEVER) return undefined;
    }
    const twin = slot.twin;
    if (twin === undefined || this.driver.isClosed(twin)) this.reopen(client, slot);
    return slot.canHedge;
  }

  /** The twin a backup attempt of `client` goes over; undefined when it has none ready. */
  twinOf(client: C): T | undefined {
    const slot = this.slots.get(client);
    const twin = slot?.twin;
    return twin !== undefined && this.driver.isReady(twin) ? twin : undefined;
  }

  /** Whether `candidate` is a twin (its own commands, a keep-alive PING, pass straight through). */
  isTwin(candidate: unknown): boolean {
    return typeof candidate === 'object' && candidate !== null && this.twins.has(candidate as T);
  }

  /**
   * The client's connection no longer matches what a twin would open (another database
   * selected, another user authenticated): its twin is closed and it is never hedged again.
   */
  stop(client: C): void {
    const slot = this.slots.get(client);
    this.slots.set(client, NEVER);
    if (slot) this.retire(slot);
  }

  /** Closes every twin (the adapter is disabled); clients get new ones if hedging goes on. */
  closeAll(): void {
    for (const twin of [...this.open]) this.closeTwin(twin);
  }

  private reopen(client: C, slot: TwinSlot<T>): void {
    if (slot.twin !== undefined) this.closeTwin(slot.twin);
    slot.twin = undefined;
    const now = this.now();
    if (now < slot.nextOpenAt || !this.safely(() => this.driver.canOpen(client), false)) return;
    slot.nextOpenAt = now + slot.backoffMs;
    slot.backoffMs = Math.min(slot.backoffMs * 2, MAX_BACKOFF_MS);
    const twin = this.safely(() => callOriginal(() => this.driver.open(client)), undefined);
    if (twin === undefined) return;
    slot.twin = twin;
    this.open.add(twin);
    this.twins.add(twin);
    slot.stopListening ??= this.safely(
      () =>
        this.driver.onClientClosed(client, () => {
          slot.stopListening = undefined;
          if (this.slots.get(client) === slot) this.slots.delete(client); // a reconnected client starts afresh
          this.retire(slot);
        }),
      undefined,
    );
  }

  private retire(slot: TwinSlot<T>): void {
    slot.stopListening?.();
    slot.stopListening = undefined;
    if (slot.twin !== undefined) this.closeTwin(slot.twin);
    slot.twin = undefined;
  }

  private closeTwin(twin: T): void {
    this.open.delete(twin);
    this.safely(() => this.driver.close(twin), undefined);
  }

  /** The driver touches the client library's internals: a failure there turns hedging off for the call, never fails it. */
  private safely<R>(fn: () => R, fallback: R): R {
    try {
      return fn();
    } catch {
      return fallback;
    }
  }
}
