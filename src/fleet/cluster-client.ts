import { isIP } from 'node:net';
import { keySlot, SLOT_COUNT } from './cluster-slot.js';
import { endpointAt, type RedisEndpoint } from './redis-url.js';
import { RespClient, RespClientError, type RedisHealth, type RespClientErrorCode, type RespClientOptions, type RespClientState } from './resp-client.js';
import { RespReplyError, type RespArg, type RespValue } from './resp.js';

/**
 * Fleet mode on a Redis Cluster: the same commander as RespClient (command(), ready,
 * state, lastError, connect(), close(), onStateChange), routing each command to the
 * node that serves its key's slot. One RespClient per node (each keeps its own
 * handshake, timeouts, fail-fast and redialling); fleet mode's scripts touch the keys
 * of one target, which share a slot (keys.ts), so a command never spans nodes.
 *
 * - The slot map comes from CLUSTER SLOTS, asked of the URL's node (the seed) on the
 *   first command, then of any known node: after a MOVED, when a node goes down, and
 *   when a command fails for lack of a connection (failovers move slots), at most once
 *   per `refreshGapMs`, in the background.
 * - Routing: the first key is args[3] for EVAL/EVALSHA/FCALL with keys, args[1] for
 *   other commands; PING, TIME, INFO, CLUSTER… have none and go to a node that is up.
 *   SCRIPT LOAD goes to every master: the script runner (script-runner.ts) loads a
 *   script when one node says NOSCRIPT, and the retry may land on whichever node the
 *   slot is on; it resolves with the first node's answer (each node's load is written
 *   ahead of any later EVALSHA on its connection, so order is kept per node).
 * - -MOVED slot host:port: the slot's owner is updated at once, the whole map refreshed
 *   in the background, and the command sent once more to the new owner. -ASK (a slot
 *   being migrated): ASKING and the command are sent together to the named node, once.
 * - A node down fails its slots' commands fast (UNAVAILABLE, from its RespClient): the
 *   callers decide locally for those targets while the other nodes' targets stay the
 *   fleet's. `ready` is true while the map is known and at least one of its nodes is
 *   connected; `onStateChange` says 'down' when none is (or the map cannot be read).
 * - Only database 0 exists on a Cluster (configuration refuses another); every node
 *   gets the URL's credentials and TLS.
 */

export interface ClusterClientOptions extends RespClientOptions {
  /** Background slot-map refreshes at least this far apart (ms). Default 1000. */
  readonly refreshGapMs?: number;
}

const DEFAULT_REFRESH_GAP_MS = 1000;
const DEFAULT_MAP_TIMEOUT_MS = 2000;
/** Commands that name no key: sent to any node that is up. */
const KEYLESS = new Set(['PING', 'TIME', 'INFO', 'CLUSTER', 'SCRIPT', 'ECHO', 'ASKING', 'READONLY', 'COMMAND', 'DBSIZE']);
const WITH_NUMKEYS = new Set(['EVAL', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'FCALL', 'FCALL_RO']);

function noop(): void {}

interface Node {
  readonly client: RespClient;
  readonly endpoint: RedisEndpoint;
}

/** `host:port` (an IPv6 host bracketed), the map's name for a node. */
function address(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The key a command is routed by, or undefined for a command that has none. */
export function routingKey(args: readonly RespArg[]): RespArg | undefined {
  const name = String(args[0]).toUpperCase();
  if (WITH_NUMKEYS.has(name)) return Number(args[2]) > 0 ? args[3] : undefined;
  return KEYLESS.has(name) ? undefined : args[1];
}

/** A MOVED or ASK reply's slot and node (`-MOVED 3999 127.0.0.1:6381`; an empty host is the replying node's). */
function redirection(error: RespReplyError, from: RedisEndpoint): { slot: number; host: string; port: number } | undefined {
  const match = /^(?:MOVED|ASK) (\d+) (.*):(\d+)$/.exec(error.message);
  if (match === null) return undefined;
  const host = match[2]!.replace(/^\[(.*)\]$/, '$1');
  return { slot: Number(match[1]), host: host === '' ? from.host : host, port: Number(match[3]) };
}

function within<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), timeoutMs);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}

export class ClusterClient {
  readonly #seed: RedisEndpoint;
  readonly #options: RespClientOptions;
  readonly #onStateChange: (state: RedisHealth) => void;
  readonly #refreshGapMs: number;
  readonly #mapTimeoutMs: number;
  /** One client per node address, the seed's included. */
  readonly #nodes = new Map<string, Node>();
  /** The address serving each slot (undefined: not served, or no map yet). */
  #slots: (string | undefined)[] = new Array<string | undefined>(SLOT_COUNT);
  #masters: string[] = [];
  #mapped = false;
  #refreshing: Promise<void> | undefined;
  #lastRefresh = Number.NEGATIVE_INFINITY;
  #state: 'idle' | 'open' | 'closed' = 'idle';
  #ready = false;
  #health: RedisHealth | undefined;
  #lastError = 'not connected yet';

  /** Throws (RedisUrlError, RangeError) only on a bad URL or option: configuration, not I/O. */
  constructor(seed: RedisEndpoint, options: ClusterClientOptions = {}) {
    const { refreshGapMs, onStateChange, ...clientOptions } = options;
    if (refreshGapMs !== undefined && !(typeof refreshGapMs === 'number' && refreshGapMs >= 0)) throw new RangeError('refreshGapMs must be a number of ms, 0 or more');
    this.#seed = seed;
    this.#options = clientOptions;
    this.#onStateChange = onStateChange ?? noop;
    this.#refreshGapMs = refreshGapMs ?? DEFAULT_REFRESH_GAP_MS;
    this.#mapTimeoutMs = clientOptions.connectTimeoutMs ?? DEFAULT_MAP_TIMEOUT_MS;
    this.#node(seed.host, seed.port); // validates the options now
  }

  /** As RespClient's: `ready` while the map is known and a node of it is connected. */
  get state(): RespClientState {
    if (this.#state !== 'open') return this.#state;
    if (this.#ready) return 'ready';
    return this.#health === 'down' ? 'down' : 'connecting';
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Why the cluster (or its last failing node) is not usable (scrubbed of credentials by the node clients). */
  get lastError(): string {
    return this.#lastError;
  }

  /** `redis://host:port/0` of the seed node: safe to log. */
  describe(): string {
    return this.#seed.describe();
  }

  /** Node addresses serving slots, as last mapped (tests, status). */
  get masters(): readonly string[] {
    return this.#masters;
  }

  /** The masters' own clients, as last mapped: for a command each node must run on its own keys (SCAN). */
  masterClients(): RespClient[] {
    return this.#masters.map((name) => this.#nodes.get(name)!.client);
  }

  /** The node address serving `key` in the current map (undefined before the map or for an unserved slot). */
  nodeFor(key: string): string | undefined {
    return this.#slots[keySlot(key)];
  }

  connect(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'open';
    void this.#refresh().catch(noop);
  }

  async command(args: readonly RespArg[], timeoutMs: number): Promise<RespValue> {
    if (this.#state === 'closed') throw this.#error('CLOSED', 'the client is closed');
    const deadline = Date.now() + timeoutMs;
    const left = (): number => Math.max(1, deadline - Date.now());
    if (!this.#mapped) {
      // Down with no map: fail fast while the node clients redial (a node coming up asks again).
      if (this.#health === 'down') {
        this.#refreshSoon();
        throw this.#error('UNAVAILABLE', `Redis Cluster is unavailable (${this.#lastError})`);
      }
      this.connect();
      await within(this.#refreshing ?? this.#refresh(), timeoutMs, () => this.#error('TIMEOUT', `the cluster's slot map did not come within ${timeoutMs} ms`));
    }
    if (String(args[0]).toUpperCase() === 'SCRIPT' && String(args[1]).toUpperCase() === 'LOAD') return this.#everywhere(args, left());
    const key = routingKey(args);
    const target = key === undefined ? this.#anyNode() : this.#slots[keySlot(typeof key === 'number' ? String(key) : key)];
    if (target === undefined) {
      this.#refreshSoon();
      throw this.#error('UNAVAILABLE', key === undefined ? 'no node of the cluster is up' : 'no node serves the key\'s slot');
    }
    const node = this.#nodes.get(target)!;
    try {
      return await node.client.command(args, timeoutMs);
    } catch (error) {
      if (error instanceof RespClientError && (error.code === 'UNAVAILABLE' || error.code === 'CONNECTION_LOST')) this.#refreshSoon();
      if (!(error instanceof RespReplyError) || (error.code !== 'MOVED' && error.code !== 'ASK')) throw error;
      const to = redirection(error, node.endpoint);
      if (to === undefined) throw error;
      const next = this.#node(to.host, to.port).client;
      if (error.code === 'ASK') {
        // Written in the same turn, so on the same connection in this order.
        void next.command(['ASKING'], left()).catch(noop);
        return next.command(args, left());
      }
      this.#slots[to.slot] = address(to.host, to.port);
      this.#lastRefresh = Number.NEGATIVE_INFINITY; // a MOVED is news: the next refresh may go now
      this.#refreshSoon();
      return next.command(args, left());
    }
  }

  /** Closes every node's connection; pending commands fail with CLOSED. Idempotent. */
  async close(): Promise<void> {
    this.#state = 'closed';
    this.#ready = false;
    this.#lastError = 'closed';
    await Promise.all([...this.#nodes.values()].map((node) => node.client.close()));
  }

  // ---------------------------------------------------------------------------------------

  /** The client of the node at host:port, made (and dialled) on first use. */
  #node(host: string, port: number): Node {
    const name = address(host, port);
    let node = this.#nodes.get(name);
    if (node === undefined) {
      const endpoint = host === this.#seed.host && port === this.#seed.port ? this.#seed : endpointAt(this.#seed, host, port);
      const client: RespClient = new RespClient(endpoint, { ...this.#options, onStateChange: (health) => this.#nodeChanged(health, client) });
      node = { client, endpoint };
      this.#nodes.set(name, node);
    }
    return node;
  }

  #nodeChanged(health: RedisHealth, node: RespClient): void {
    if (health === 'down') {
      this.#lastError = `${node.describe()}: ${node.lastError}`;
      this.#refreshSoon();
    } else if (!this.#mapped) void this.#refresh().catch(noop);
    this.#recompute();
  }

  /** A master that is connected, else any master (its client fails fast or dials). */
  #anyNode(): string | undefined {
    return this.#masters.find((name) => this.#nodes.get(name)!.client.ready) ?? this.#masters[0];
  }

  async #everywhere(args: readonly RespArg[], timeoutMs: number): Promise<RespValue> {
    try {
      return await Promise.any(this.#masters.map((name) => this.#nodes.get(name)!.client.command(args, timeoutMs)));
    } catch (error) {
      throw error instanceof AggregateError && error.errors.length > 0 ? (error.errors[0] as Error) : this.#error('UNAVAILABLE', 'no node of the cluster is known');
    }
  }

  #refreshSoon(): void {
    if (this.#state !== 'open' || this.#refreshing !== undefined || Date.now() - this.#lastRefresh < this.#refreshGapMs) return;
    void this.#refresh().catch(noop);
  }

  /** Reads the slot map from the first node that answers (connected ones first, the seed last); one read at a time. */
  #refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      this.#lastRefresh = Date.now();
      const seed = address(this.#seed.host, this.#seed.port);
      const candidates = [...new Set([...this.#masters, seed])].sort((a, b) => Number(this.#nodes.get(b)?.client.ready ?? false) - Number(this.#nodes.get(a)?.client.ready ?? false));
      let last: Error | undefined;
      for (const name of candidates) {
        const node = this.#nodes.get(name) ?? this.#node(this.#seed.host, this.#seed.port);
        try {
          this.#apply(await node.client.command(['CLUSTER', 'SLOTS'], this.#mapTimeoutMs), node.endpoint);
          return;
        } catch (error) {
          last = error as Error;
        }
      }
      this.#lastError = `the cluster's slot map could not be read (${last?.message ?? 'no node'})`;
      if (!this.#mapped) this.#report('down');
      throw this.#error('UNAVAILABLE', this.#lastError);
    })().finally(() => {
      this.#refreshing = undefined;
      this.#recompute();
    });
    return this.#refreshing;
  }

  /** CLUSTER SLOTS: [[start, end, [host, port, id…], replica…], …]; replicas are not used (writes go to masters). */
  #apply(reply: RespValue, from: RedisEndpoint): void {
    if (!Array.isArray(reply)) throw new Error(`unexpected CLUSTER SLOTS reply: ${JSON.stringify(reply)}`);
    const slots = new Array<string | undefined>(SLOT_COUNT);
    const masters = new Set<string>();
    for (const range of reply) {
      if (!Array.isArray(range) || typeof range[0] !== 'number' || typeof range[1] !== 'number' || !Array.isArray(range[2])) continue;
      const [rawHost, port] = range[2];
      if (typeof rawHost !== 'string' || typeof port !== 'number' || rawHost === '?') continue;
      const host = rawHost === '' ? from.host : rawHost;
      const name = address(host, port);
      this.#node(host, port);
      masters.add(name);
      for (let slot = Math.max(0, range[0]); slot <= Math.min(SLOT_COUNT - 1, range[1]); slot++) slots[slot] = name;
    }
    if (masters.size === 0) throw new Error('CLUSTER SLOTS named no node serving slots');
    this.#slots = slots;
    this.#masters = [...masters];
    this.#mapped = true;
    // Nodes no longer serving slots are dropped (the seed is kept: it is where a later map may come from).
    const seed = address(this.#seed.host, this.#seed.port);
    for (const [name, node] of this.#nodes) {
      if (!masters.has(name) && name !== seed) {
        this.#nodes.delete(name);
        void node.client.close();
      }
    }
    for (const name of masters) this.#nodes.get(name)!.client.connect();
  }

  #recompute(): void {
    if (this.#state !== 'open') return;
    const clients = this.#masters.map((name) => this.#nodes.get(name)!.client);
    this.#ready = this.#mapped && clients.some((client) => client.ready);
    if (this.#ready) this.#report('up');
    else if (this.#mapped && clients.every((client) => client.state === 'down')) this.#report('down');
  }

  #report(health: RedisHealth): void {
    if (this.#health === health) return;
    this.#health = health;
    try {
      this.#onStateChange(health);
    } catch {
      // a listener's bug must not break the routing's bookkeeping
    }
  }

  #error(code: RespClientErrorCode, message: string): RespClientError {
    return new RespClientError(code, `${message} [cluster ${this.describe()}]`);
  }
}
