import net from 'node:net';
import tls from 'node:tls';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { credentialsOf, parseRedisUrl, type RedisEndpoint } from './redis-url.js';
import { encodeCommand, RespParser, RespReplyError, type RespArg, type RespValue } from './resp.js';

/**
 * breakwater's own Redis client for fleet mode: RESP2 over one node:net (or node:tls)
 * connection, with no runtime dependency. Not ioredis or node-redis, because
 * breakwater's adapters wrap those (its own connection would be retried, counted and
 * traced by itself), as do the official OpenTelemetry instrumentations; the socket is
 * created under a root context with tracing suppressed, so whatever an instrumentation
 * sees of it records nothing, and no caller's span is captured by its callbacks.
 *
 * - Lazy: the first command (or `connect()`) dials. AUTH (with the URL's user, or the
 *   password alone), SELECT (db other than 0) and a PING are pipelined on every
 *   (re)connect, bounded by `connectTimeoutMs`; the connection is `ready` once PONG comes.
 * - Pipelined: commands are written as they come (one write per tick, corked) and
 *   replies matched to them in order.
 * - Per-command timeout: the command fails with TIMEOUT. A command already written
 *   leaves the connection's reply order unknown, so the connection is destroyed (every
 *   other command in flight fails with CONNECTION_LOST) and dialled again.
 * - Down means fail fast: after a lost connection or a failed dial, commands fail at
 *   once with UNAVAILABLE (fleet mode falls back to local state) while the client dials
 *   again in the background with capped, jittered exponential backoff. Only commands
 *   sent before the first dial ever failed wait for the connection.
 * - `onStateChange('up' | 'down')` on every change of health (not on each failed
 *   redial), so fleet mode can switch at once.
 * - Never keeps the process alive (socket and timers unref'd); at most `maxPending`
 *   commands queued or in flight (QUEUE_FULL beyond); nothing throws synchronously and
 *   every failure is a rejected promise of a command someone holds.
 * - The URL's credentials appear in no message, state or description (redis-url.ts),
 *   and any text from outside (a server's error reply, a socket error) is scrubbed of
 *   the password before it is passed on.
 *
 * Pub/sub is not here: a subscribed connection speaks a different protocol and would
 * need a second connection. Fleet mode can poll; a later part may add a subscriber.
 * Redis Cluster routing (MOVED/ASK) is not here either: cluster-client.ts keeps one of
 * these per node and routes each command by its key's slot.
 */

export type RespClientState = 'idle' | 'connecting' | 'ready' | 'down' | 'closed';
export type RedisHealth = 'up' | 'down';

export type RespClientErrorCode =
  /** The command's timeout passed. */
  | 'TIMEOUT'
  /** Redis is down (the last dial failed or the connection was lost): failed fast. */
  | 'UNAVAILABLE'
  /** The connection broke while the command was in flight: it may or may not have run. */
  | 'CONNECTION_LOST'
  /** maxPending commands are queued or in flight already. */
  | 'QUEUE_FULL'
  /** close() was called. */
  | 'CLOSED'
  /** An argument or the timeout is not usable. */
  | 'INVALID_COMMAND';

export class RespClientError extends Error {
  override readonly name = 'RespClientError';
  constructor(
    readonly code: RespClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface RespClientOptions {
  /** Dial, TLS, AUTH, SELECT and PING must be done within this (ms). Default 2000. */
  readonly connectTimeoutMs?: number;
  /** Commands queued or awaiting a reply at most. Default 4096. */
  readonly maxPending?: number;
  /** First redial delay (ms), doubled per failure. Default 100. */
  readonly reconnectBaseMs?: number;
  /** Longest redial delay (ms). Default 5000. */
  readonly reconnectMaxMs?: number;
  /** Told of each change of health; an exception it throws is ignored. */
  readonly onStateChange?: (state: RedisHealth) => void;
  /** Extra TLS options for rediss:// (ca, cert, rejectUnauthorized…). */
  readonly tls?: tls.ConnectionOptions;
  /** A source of [0, 1) for the redial jitter (tests). */
  readonly random?: () => number;
}

/** What a command needs from a client: for ScriptRunner and fakes in tests. */
export interface RespCommander {
  command(args: readonly RespArg[], timeoutMs: number): Promise<RespValue>;
}

interface Pending {
  readonly payload: Buffer;
  readonly resolve: (value: RespValue) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
  written: boolean;
}

const DEFAULTS = { connectTimeoutMs: 2000, maxPending: 4096, reconnectBaseMs: 100, reconnectMaxMs: 5000 };
const KEEPALIVE_MS = 10_000;
/** The longest delay setTimeout keeps (2^31 - 1 ms); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  return value;
}

/** Runs `fn` outside any caller's context, with tracing suppressed (see above). */
function untraced<T>(fn: () => T): T {
  return context.with(suppressTracing(ROOT_CONTEXT), fn);
}

function noop(): void {}

export class RespClient implements RespCommander {
  readonly #endpoint: RedisEndpoint;
  readonly #connectTimeoutMs: number;
  readonly #maxPending: number;
  readonly #reconnectBaseMs: number;
  readonly #reconnectMaxMs: number;
  readonly #onStateChange: (state: RedisHealth) => void;
  readonly #tls: tls.ConnectionOptions;
  readonly #random: () => number;
  readonly #parser = new RespParser();

  #state: RespClientState = 'idle';
  #health: RedisHealth | undefined;
  #socket: net.Socket | undefined;
  #corked = false;
  /** Written, awaiting their replies in order (the handshake's too). */
  #inflight: Pending[] = [];
  /** Sent before the first connection was ready. */
  #waiting: Pending[] = [];
  #connectTimer: NodeJS.Timeout | undefined;
  #redialTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #lastError = 'not connected yet';

  /** Throws (RedisUrlError, RangeError) only on a bad URL or option: configuration, not I/O. */
  constructor(url: string | RedisEndpoint, options: RespClientOptions = {}) {
    this.#endpoint = typeof url === 'string' ? parseRedisUrl(url) : url;
    this.#connectTimeoutMs = positive(options.connectTimeoutMs, DEFAULTS.connectTimeoutMs, 'connectTimeoutMs');
    this.#maxPending = Math.floor(positive(options.maxPending, DEFAULTS.maxPending, 'maxPending'));
    this.#reconnectBaseMs = positive(options.reconnectBaseMs, DEFAULTS.reconnectBaseMs, 'reconnectBaseMs');
    this.#reconnectMaxMs = Math.max(this.#reconnectBaseMs, positive(options.reconnectMaxMs, DEFAULTS.reconnectMaxMs, 'reconnectMaxMs'));
    this.#onStateChange = options.onStateChange ?? noop;
    this.#tls = options.tls ?? {};
    this.#random = options.random ?? Math.random;
  }

  get state(): RespClientState {
    return this.#state;
  }

  /** A connection is up and answered its handshake: commands go out now. */
  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** Why the client is not ready, when it is not (scrubbed of credentials). */
  get lastError(): string {
    return this.#lastError;
  }

  /** `redis://host:port/db`: safe to log. */
  describe(): string {
    return this.#endpoint.describe();
  }

  toString(): string {
    return `RespClient(${this.describe()}, ${this.#state})`;
  }

  /** Starts dialling if nothing has yet (commands do it themselves). */
  connect(): void {
    if (this.#state === 'idle') this.#dial();
  }

  /** Sends one command; resolves with its reply, rejects with RespReplyError (Redis said no) or RespClientError. */
  command(args: readonly RespArg[], timeoutMs: number): Promise<RespValue> {
    return new Promise<RespValue>((resolve, reject) => {
      if (this.#state === 'closed') return reject(this.#error('CLOSED', 'the client is closed'));
      if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
        return reject(this.#error('INVALID_COMMAND', `the timeout must be a number of ms from 1 to ${MAX_TIMER_MS}`));
      }
      let payload: Buffer;
      try {
        if (!Array.isArray(args) || args.length === 0) throw new TypeError('a command needs at least its name');
        payload = encodeCommand(args);
      } catch (err) {
        return reject(this.#error('INVALID_COMMAND', (err as Error).message));
      }
      // Down (redialling included): fail fast rather than queue behind a dial that may not answer.
      if (this.#state !== 'ready' && this.#health === 'down') return reject(this.#error('UNAVAILABLE', `Redis is unavailable (${this.#lastError})`));
      if (this.#inflight.length + this.#waiting.length >= this.#maxPending) {
        return reject(this.#error('QUEUE_FULL', `${this.#maxPending} commands are pending already`));
      }
      const entry: Pending = { payload, resolve, reject, timer: undefined, settled: false, written: false };
      entry.timer = setTimeout(() => this.#timedOut(entry, timeoutMs), timeoutMs);
      entry.timer.unref();
      if (this.#state === 'ready') this.#write(entry);
      else {
        this.#waiting.push(entry);
        this.connect();
      }
    });
  }

  /** Fails every pending command with CLOSED, drops the connection and stops redialling. */
  close(): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    this.#state = 'closed';
    this.#lastError = 'closed';
    clearTimeout(this.#redialTimer);
    clearTimeout(this.#connectTimer);
    const socket = this.#socket;
    this.#socket = undefined;
    const closed = this.#error('CLOSED', 'the client was closed');
    this.#failAll(this.#inflight, closed);
    this.#failAll(this.#waiting, closed);
    if (socket === undefined || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  // ---------------------------------------------------------------------------------------
  // Connection

  #dial(): void {
    this.#state = 'connecting';
    this.#parser.reset();
    const { host, port } = this.#endpoint;
    const socket = untraced(() =>
      this.#endpoint.tls
        ? tls.connect({ servername: net.isIP(host) === 0 ? host : undefined, ...this.#tls, host, port })
        : net.connect({ host, port }),
    );
    this.#socket = socket;
    socket.unref();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    this.#connectTimer = setTimeout(() => this.#lose(socket, `no answer to the handshake within ${this.#connectTimeoutMs} ms`), this.#connectTimeoutMs);
    this.#connectTimer.unref();
    socket.once(this.#endpoint.tls ? 'secureConnect' : 'connect', () => this.#handshake(socket));
    socket.on('data', (chunk: Buffer) => this.#received(socket, chunk));
    socket.on('error', (err) => this.#lose(socket, err.message));
    socket.on('close', () => this.#lose(socket, 'the connection closed'));
  }

  #handshake(socket: net.Socket): void {
    const credentials = credentialsOf(this.#endpoint);
    const steps: RespArg[][] = [];
    if (credentials !== undefined) {
      steps.push(credentials.username === undefined ? ['AUTH', credentials.password] : ['AUTH', credentials.username, credentials.password]);
    }
    if (this.#endpoint.db !== 0) steps.push(['SELECT', this.#endpoint.db]);
    steps.push(['PING']);
    steps.forEach((args, i) => {
      const last = i === steps.length - 1;
      this.#write({
        payload: encodeCommand(args),
        resolve: last ? () => this.#up(socket) : noop,
        reject: (err) => this.#lose(socket, `${String(args[0])} failed: ${err.message}`),
        timer: undefined,
        settled: false,
        written: false,
      });
    });
  }

  #up(socket: net.Socket): void {
    if (socket !== this.#socket) return;
    clearTimeout(this.#connectTimer);
    this.#state = 'ready';
    this.#failures = 0;
    this.#lastError = '';
    this.#report('up');
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const entry of waiting) if (!entry.settled) this.#write(entry);
  }

  #received(socket: net.Socket, chunk: Buffer): void {
    if (socket !== this.#socket) return;
    let replies: RespValue[];
    try {
      replies = this.#parser.push(chunk);
    } catch (err) {
      this.#lose(socket, (err as Error).message);
      return;
    }
    for (const reply of replies) {
      const entry = this.#inflight.shift();
      if (entry === undefined) {
        this.#lose(socket, 'a reply came that no command asked for');
        return;
      }
      if (entry.settled) continue; // timed out: its connection is being torn down anyway
      this.#settle(entry);
      if (reply instanceof RespReplyError) entry.reject(this.#scrubbed(reply));
      else entry.resolve(reply);
      if (socket !== this.#socket) return; // a handshake step failed and dropped the connection
    }
  }

  /**
   * The connection is unusable: drops it, fails what was in flight (and, once down,
   * what was waiting), reports down and schedules a redial. Idempotent per socket.
   */
  #lose(socket: net.Socket, why: string): void {
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    socket.destroy();
    clearTimeout(this.#connectTimer);
    this.#lastError = this.#scrub(why);
    const wasReady = this.#state === 'ready';
    this.#state = 'down';
    this.#failAll(this.#inflight, this.#error('CONNECTION_LOST', `the connection to Redis was lost (${this.#lastError})`));
    this.#failAll(this.#waiting, this.#error('UNAVAILABLE', `Redis is unavailable (${this.#lastError})`));
    this.#report('down');
    // Straight after losing a working connection, redial soon; after failed dials, back off.
    const exponent = wasReady ? 0 : Math.min(this.#failures, 30);
    this.#failures++;
    const delay = Math.min(this.#reconnectMaxMs, this.#reconnectBaseMs * 2 ** exponent) * (0.5 + this.#random() / 2);
    this.#redialTimer = setTimeout(() => {
      if (this.#state === 'down') this.#dial();
    }, delay);
    this.#redialTimer.unref();
  }

  // ---------------------------------------------------------------------------------------
  // Commands

  #write(entry: Pending): void {
    const socket = this.#socket!;
    entry.written = true;
    this.#inflight.push(entry);
    // Every command of one tick in one write: cork now, uncork on the next tick.
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    socket.write(entry.payload);
  }

  #timedOut(entry: Pending, timeoutMs: number): void {
    if (entry.settled) return;
    this.#settle(entry);
    entry.reject(this.#error('TIMEOUT', `Redis did not answer within ${timeoutMs} ms`));
    // Left in its queue as settled: the reply still to come is skipped, or never written.
    if (entry.written && this.#socket !== undefined) this.#lose(this.#socket, `a command timed out after ${timeoutMs} ms`);
  }

  #settle(entry: Pending): void {
    entry.settled = true;
    clearTimeout(entry.timer);
  }

  #failAll(queue: Pending[], error: RespClientError): void {
    const entries = queue.splice(0);
    for (const entry of entries) {
      if (entry.settled) continue;
      this.#settle(entry);
      entry.reject(error);
    }
  }

  #report(health: RedisHealth): void {
    if (this.#health === health) return;
    this.#health = health;
    try {
      this.#onStateChange(health);
    } catch {
      // a listener's bug must not break the connection's bookkeeping
    }
  }

  // ---------------------------------------------------------------------------------------
  // Errors

  #error(code: RespClientErrorCode, message: string): RespClientError {
    return new RespClientError(code, `${message} [${this.describe()}]`);
  }

  /** Text from outside (a reply, a socket error) with the password taken out, in case it was echoed. */
  #scrub(text: string): string {
    const password = credentialsOf(this.#endpoint)?.password;
    return password === undefined || password === '' ? text : text.split(password).join('***');
  }

  #scrubbed(reply: RespReplyError): RespReplyError {
    const clean = this.#scrub(reply.message);
    return clean === reply.message ? reply : new RespReplyError(clean);
  }
}
