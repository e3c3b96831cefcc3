import { SpanKind } from '@opentelemetry/api';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
} from '@opentelemetry/instrumentation';
import { readFileSync } from 'node:fs';
import type { ExecuteOptions } from '../../src/engine/policy.js';
import type { AttemptSpanOptions } from '../../src/telemetry/operation.js';
import { idempotencyMark } from '../../src/runtime/idempotency.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { attemptSpanKind, callOriginal, shouldPassThrough } from '../kit/calls.js';
import { keepOutermost, scheduleOutermostCheck, type OutermostHandle } from '../kit/outermost.js';
import { forEachLoadedModule } from '../kit/preloaded.js';
import { HedgeTwins } from '../kit/hedge-twins.js';
import { changesSession, redisHedgeable } from './hedging.js';
import { nodeRedisTwins, type NodeRedisSession } from './hedge-twin.js';
import { wrapLegacyClient, type LegacyCommandRunner } from './legacy-v4.js';
import { redisPipelineReplayDecision, redisReplayDecision } from './replay.js';
import { ATTR_DB_OPERATION_BATCH_SIZE } from '../kit/semconv.js';
import { RawTransactions } from './transaction.js';
import { annotatingFailure, redisBatchQueryText, redisDuration, redisQueryText } from './telemetry.js';
import { commandName, connectionOf, operationAttributes, operationName, type Connection } from './utils.js';

const VERSION = '0.1.0';
const MODULE = '@redis/client';
/** node-redis 5 and 6 (`redis` 5.x/6.x ship `@redis/client` of the same major). */
const SUPPORTED = ['>=5.0.0 <7'];
const CLIENT_FILE = `${MODULE}/dist/lib/client/index.js`;
const MULTI_FILE = `${MODULE}/dist/lib/client/multi-command.js`;
/** node-redis 4 (`redis` 4.x ships `@redis/client` 1.x): other internals, see patchClientV4. */
const SUPPORTED_V4 = ['>=1.0.0 <2'];
const COMMANDS_FILE_V4 = `${MODULE}/dist/lib/client/commands.js`;

/** Holds, on each wrapper this adapter installed, the method it wraps: never wrapped twice, never another's unwrapped. */
const OURS = Symbol.for('breakwater.redis.wrapper');
/** The adapter instance a wrapper belongs to. */
const OWNER = Symbol.for('breakwater.redis.owner');

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** The parts of a node-redis client (or its per-call proxy) the adapter reads. */
interface RedisClientLike {
  readonly options?: unknown;
  readonly _self?: object;
  readonly _commandOptions?: { abortSignal?: unknown };
}

interface BatchEntry {
  readonly args?: unknown;
}

/**
 * Hooks node-redis (5 and 6) where every command goes through:
 * - `RedisClient.prototype.sendCommand`: every typed command (`client.get`, through
 *   `_executeCommand`), `client.sendCommand([...])`, scripts, pools, cluster and
 *   sentinel nodes. One logical call each, retried through the same method.
 * - `RedisClient.prototype._executeMulti`: `multi().exec()`, one call, never replayed.
 * - `RedisClient.prototype._executePipeline`: `multi().execAsPipeline()`, one call,
 *   replayed only when every command in it may be.
 * - `RedisClientMultiCommand.prototype.addCommand`: only to keep an official
 *   instrumentation's per-command spans from doubling ours (see batchSpanKind).
 */
export class RedisClientInstrumentation extends InstrumentationBase {
  private active = false;
  private readonly transactions = new RawTransactions();
  /** Argument arrays queued in a multi while another instrumentation's CLIENT span was active. */
  private readonly foreignTraced = new WeakSet<object>();
  /** The methods this adapter wrapped, kept outermost (kit/outermost.ts) until unpatched. */
  private readonly outermost = new Map<Record<string, unknown>, Map<string, OutermostHandle>>();
  /** Prototypes patched from the require cache (loaded before enable()), unpatched by disable(). */
  private readonly preloaded: Array<{ proto: Record<string, unknown>; names: string[] }> = [];
  /** Hedged reads' second connections. */
  private readonly twins: HedgeTwins<NodeRedisSession, NodeRedisSession>;

  constructor(private readonly runtime: Runtime) {
    super('breakwater-redis', VERSION, { enabled: false });
    this.twins = new HedgeTwins(runtime, nodeRedisTwins);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    // Called by the base constructor, before this class's fields exist: build only closures.
    /** A file whose default export's prototype gets `patch`, and loses `methods` again on unpatch. */
    const prototypeFile = (file: string, versions: string[], patch: (proto: Record<string, unknown> | undefined) => void, methods: string[]) =>
      new InstrumentationNodeModuleFile(
        file,
        versions,
        (exports: unknown) => {
          patch(prototypeOf(exports));
          scheduleOutermostCheck(); // an official redis instrumentation hooked after breakwater wraps it in this same load
          return exports;
        },
        (exports: unknown) => this.unpatch(prototypeOf(exports), methods),
      );
    // node-redis 4: commands.js is loaded (inside index.js) before the client file completes.
    const commandsFileV4 = new InstrumentationNodeModuleFile(
      COMMANDS_FILE_V4,
      SUPPORTED_V4,
      (exports: unknown) => {
        commandTableV4 = commandTableOf(exports) ?? commandTableV4;
        return exports;
      },
      () => {},
    );
    const patchMulti = (proto: Record<string, unknown> | undefined) => this.patchMulti(proto);
    // The package's main module is left alone: these files hold the prototypes. node-redis
    // 4's multi queues commands through the same addCommand as v5's.
    return [
      new InstrumentationNodeModuleDefinition(MODULE, SUPPORTED, (exports: unknown) => exports, undefined, [
        prototypeFile(CLIENT_FILE, SUPPORTED, (proto) => this.patchClient(proto), CLIENT_METHODS),
        prototypeFile(MULTI_FILE, SUPPORTED, patchMulti, MULTI_METHODS),
      ]),
      new InstrumentationNodeModuleDefinition(MODULE, SUPPORTED_V4, (exports: unknown) => exports, undefined, [
        commandsFileV4,
        prototypeFile(CLIENT_FILE, SUPPORTED_V4, (proto) => this.patchClientV4(proto, commandTableV4), CLIENT_METHODS_V4),
        prototypeFile(MULTI_FILE, SUPPORTED_V4, patchMulti, MULTI_METHODS),
      ]),
    ];
  }

  override enable(): void {
    super.enable();
    this.active = true;
    this.patchPreloaded();
    scheduleOutermostCheck();
  }

  override disable(): void {
    this.active = false;
    super.disable();
    for (const { proto, names } of this.preloaded.splice(0)) this.unpatch(proto, names);
    this.twins.closeAll();
  }

  // ---- patching ---------------------------------------------------------------

  private patchClient(proto: Record<string, unknown> | undefined): void {
    if (proto === undefined) return;
    this.wrapOnce(proto, 'sendCommand', (original) => this.sendCommandWrapper(original, true));
    this.wrapOnce(proto, '_executeMulti', (original) => this.batchWrapper(original, 'MULTI'));
    this.wrapOnce(proto, '_executePipeline', (original) => this.batchWrapper(original, 'PIPELINE'));
  }

  /**
   * node-redis 4 sends every command through a private `#sendCommand`, reached from
   * `commandsExecutor` (typed commands), `sendCommand`, `executeFunction` and
   * `executeScript`. The typed commands captured `commandsExecutor` when the module
   * loaded, so they are re-attached here to look it up on the prototype at call time.
   * `multiExecutor` runs `multi().exec()` (with a chainId) and `execAsPipeline()`.
   */
  private patchClientV4(proto: Record<string, unknown> | undefined, table: CommandTable | undefined): void {
    if (proto === undefined) return;
    if (table !== undefined && !(REATTACHED in proto)) {
      for (const [name, command] of Object.entries(table)) {
        if (typeof proto[name] !== 'function') continue;
        Object.defineProperty(proto, name, {
          value: function (this: { commandsExecutor: Method }, ...args: unknown[]) {
            return this.commandsExecutor(command, args, name);
          },
          writable: true,
          enumerable: false,
          configurable: true,
        });
      }
      Object.defineProperty(proto, REATTACHED, { value: true });
    }
    this.wrapOnce(proto, 'commandsExecutor', (original) => this.commandsExecutorWrapper(original));
    this.wrapOnce(proto, 'sendCommand', (original) => this.sendCommandWrapper(original, false));
    this.wrapOnce(proto, 'connect', (original) => this.legacyConnectWrapper(original));
    this.wrapOnce(proto, 'multiExecutor', (original) => this.multiExecutorWrapper(original));
    this.wrapOnce(proto, 'executeScript', (original) => this.namedExecutorWrapper(original, 'EVALSHA'));
    this.wrapOnce(proto, 'executeFunction', (original) => this.namedExecutorWrapper(original, 'FCALL'));
    this.wrapOnce(proto, 'SELECT', (original) => this.selectWrapperV4(original));
  }

  private patchMulti(proto: Record<string, unknown> | undefined): void {
    if (proto === undefined) return;
    this.wrapOnce(proto, 'addCommand', (original) => this.multiAddWrapper(original));
  }

  /**
   * Installs a wrapper by plain assignment, the original kept under OURS, instead of
   * shimmer's `_wrap`: the official redis instrumentation unwraps any shimmer-wrapped
   * `sendCommand` before wrapping its own (`isWrapped` then `_unwrap`), which would
   * silently strip breakwater when it is registered second. A wrapper it cannot see
   * gets wrapped instead, and both layers stay.
   */
  private wrapOnce(proto: Record<string, unknown>, name: string, wrapper: (original: Method) => Method): void {
    let current = proto[name];
    if (typeof current !== 'function') return;
    if (OURS in current) {
      // Another adapter instance's (an earlier runtime, now disabled, or the other
      // module format's copy): the one enabled last owns the method.
      if ((current as unknown as Record<symbol, unknown>)[OWNER] === this) return;
      current = (current as unknown as Record<symbol, unknown>)[OURS];
      if (typeof current !== 'function') return;
    }
    const own = (below: Method): Method => {
      const wrapped = wrapper(below);
      Object.defineProperty(wrapped, OURS, { value: below });
      Object.defineProperty(wrapped, OWNER, { value: this });
      return wrapped;
    };
    const installed = own(current as Method);
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    Object.defineProperty(proto, name, {
      value: installed,
      writable: descriptor?.writable ?? true,
      enumerable: descriptor?.enumerable ?? false,
      configurable: true,
    });
    let handles = this.outermost.get(proto);
    if (handles === undefined) this.outermost.set(proto, (handles = new Map()));
    handles.get(name)?.release();
    handles.set(name, keepOutermost({ target: proto, name, installed, original: current as Method, wrap: own }));
  }

  /** Removes only this adapter's wrappers; one another instrumentation put on top stays (ours then passes through). */
  private unpatch(proto: Record<string, unknown> | undefined, names: readonly string[]): void {
    if (proto === undefined) return;
    const handles = this.outermost.get(proto);
    for (const name of names) {
      handles?.get(name)?.release();
      handles?.delete(name);
      const current = proto[name];
      if (typeof current !== 'function' || !(OURS in current)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      Object.defineProperty(proto, name, { ...descriptor, value: (current as unknown as Record<symbol, unknown>)[OURS] });
    }
  }

  /**
   * A node-redis loaded before enable() (required by the app before register ran its
   * hooks, or by another test): require-in-the-middle never sees it, so its
   * prototypes are patched from the require cache.
   */
  private patchPreloaded(): void {
    forEachLoadedModule((file, loaded, cache) => {
      const isClient = file.endsWith(`/${CLIENT_FILE}`);
      const isMulti = file.endsWith(`/${MULTI_FILE}`);
      if (!isClient && !isMulti) return;
      const major = packageMajor(file);
      const proto = prototypeOf(loaded.exports);
      if (proto === undefined) return;
      if (major === 1 && isClient) {
        const commands = cache[loaded.filename.slice(0, -'index.js'.length) + 'commands.js'];
        this.patchClientV4(proto, commandTableOf(commands?.exports));
        this.preloaded.push({ proto, names: CLIENT_METHODS_V4 });
        return;
      }
      if (!(major === 1 || (major >= 5 && major < 7))) return;
      if (isClient) this.patchClient(proto);
      else this.patchMulti(proto);
      this.preloaded.push({ proto, names: isClient ? CLIENT_METHODS : MULTI_METHODS });
    });
  }

  // ---- wrappers ---------------------------------------------------------------

  /**
   * `sendCommand(args, options)`. From node-redis 5 the attempt's signal goes in the
   * command's `abortSignal` option: an attempt that timed out while its command still
   * waited in the offline queue takes it out of the queue, so it is not written later
   * behind the retry's back (node-redis drops the listener once it writes the command).
   * node-redis 4 (`withAttemptSignal` false) gets none: see commandsExecutorWrapper.
   */
  private sendCommandWrapper(original: Method, withAttemptSignal: boolean): Method {
    const adapter = this;
    return function sendCommand(this: unknown, args: unknown, options?: unknown) {
      const callArgs = arguments as unknown as unknown[];
      if (!adapter.active || !Array.isArray(args) || args.length === 0 || shouldPassThrough()) return original.apply(this, callArgs);
      const client = this as RedisClientLike;
      const asCalled = () => original.apply(client, callArgs) as Promise<unknown>;
      if (!withAttemptSignal) {
        return adapter.command(client, args, { attempt: asCalled, unprotected: asCalled, onTwin: (twin) => original.apply(twin, callArgs) as Promise<unknown> });
      }
      const callerSignal = abortSignalOf(options) ?? abortSignalOf(client._commandOptions);
      return adapter.command(client, args, {
        attempt: (signal) => original.call(client, args, withAbortSignal(options, callerSignal, signal)) as Promise<unknown>,
        unprotected: asCalled,
        // With the options a per-call proxy (withTypeMapping...) adds, which the twin lacks.
        onTwin: (twin, signal) => original.call(twin, args, { ...client._commandOptions, ...withAbortSignal(options, callerSignal, signal) }) as Promise<unknown>,
      });
    };
  }

  /**
   * node-redis 4 typed commands: `commandsExecutor(command, jsArgs, name)`, where jsArgs
   * may start with the caller's commandOptions (kept as given). Each attempt runs the
   * executor again, without an attempt signal: node-redis 4.7 never removes a command's
   * abort listener once it has written the command, so aborting one already written
   * unlinks it from a queue it has left and corrupts that queue (disconnect() then throws
   * and the client reconnects for ever). A timed-out attempt still queued offline may
   * therefore run later, at most once.
   */
  private commandsExecutorWrapper(original: Method): Method {
    const adapter = this;
    return function commandsExecutor(this: unknown, command: unknown, jsArgs: unknown) {
      const callArgs = arguments as unknown as unknown[];
      if (!adapter.active || shouldPassThrough() || !Array.isArray(jsArgs)) return original.apply(this, callArgs);
      const redisArgs = redisArgsOf(command, withoutCommandOptions(jsArgs));
      if (redisArgs === undefined) return original.apply(this, callArgs);
      const run = () => original.apply(this, callArgs) as Promise<unknown>;
      return adapter.command(this as RedisClientLike, redisArgs, { attempt: run, unprotected: run, onTwin: (twin) => original.apply(twin, callArgs) as Promise<unknown> });
    };
  }

  /**
   * node-redis 4 `SELECT` (and `select`, copied from it onto each client when built): it
   * sends through a private method no other wrapper sees, and the client's hedge twin
   * would then read another database.
   */
  private selectWrapperV4(original: Method): Method {
    const adapter = this;
    return function SELECT(this: unknown) {
      if (adapter.twins.active && typeof this === 'object' && this !== null) adapter.twins.stop(this as NodeRedisSession);
      return original.apply(this, arguments as unknown as unknown[]);
    };
  }

  /** node-redis 4 `connect()`: a legacy-mode client's own command methods are wrapped then (legacy-v4.ts). */
  private legacyConnectWrapper(original: Method): Method {
    const adapter = this;
    const run: LegacyCommandRunner = (client, redisArgs, send) =>
      adapter.active && !shouldPassThrough() ? adapter.command(client, redisArgs, send) : send.unprotected();
    return function connect(this: unknown) {
      try {
        if (adapter.active) wrapLegacyClient(this, commandTableV4, run);
      } catch {
        // the client keeps node-redis's own legacy methods
      }
      return original.apply(this, arguments as unknown as unknown[]);
    };
  }

  /**
   * node-redis 4 scripts and functions (`executeScript`, `executeFunction`): one call
   * each, named after the command; their arguments stay out of the replay decision,
   * which treats scripts as of unknown effect anyway.
   */
  private namedExecutorWrapper(original: Method, name: 'EVALSHA' | 'FCALL'): Method {
    const adapter = this;
    return function execute(this: unknown) {
      const callArgs = arguments as unknown as unknown[];
      if (!adapter.active || shouldPassThrough()) return original.apply(this, callArgs);
      const run = () => original.apply(this, callArgs) as Promise<unknown>;
      return adapter.command(this as RedisClientLike, [name], { attempt: run, unprotected: run });
    };
  }

  /** node-redis 4 `multiExecutor(commands, selectedDB, chainId)`: a chainId means MULTI/EXEC. */
  private multiExecutorWrapper(original: Method): Method {
    const adapter = this;
    return function multiExecutor(this: unknown, commands: unknown, _selectedDB: unknown, chainId: unknown) {
      const callArgs = arguments as unknown as unknown[];
      if (!adapter.active || !Array.isArray(commands) || shouldPassThrough()) return original.apply(this, callArgs);
      const operation = chainId === undefined || chainId === null ? 'PIPELINE' : 'MULTI';
      return adapter.batch(this as RedisClientLike, original, operation, commands as BatchEntry[], callArgs);
    };
  }

  private batchWrapper(original: Method, operation: 'MULTI' | 'PIPELINE'): Method {
    const adapter = this;
    return function executeBatch(this: unknown, commands: unknown) {
      const callArgs = arguments as unknown as unknown[];
      if (!adapter.active || !Array.isArray(commands) || shouldPassThrough()) return original.apply(this, callArgs);
      return adapter.batch(this as RedisClientLike, original, operation, commands as BatchEntry[], callArgs);
    };
  }

  private multiAddWrapper(original: Method): Method {
    const adapter = this;
    return function addCommand(this: unknown, args: unknown) {
      const callArgs = arguments as unknown as unknown[];
      if (!adapter.active || shouldPassThrough()) return original.apply(this, callArgs);
      try {
        // An official instrumentation wrapped around us has its span for this command
        // active now: the batch it ends up in is already a CLIENT span per command.
        if (typeof args === 'object' && args !== null && attemptSpanKind() === SpanKind.INTERNAL) adapter.foreignTraced.add(args);
      } catch {
        // bookkeeping only
      }
      // One wrapped inside us records nothing: breakwater's attempt span is the CLIENT span.
      return callOriginal(() => original.apply(this, callArgs));
    };
  }

  // ---- one logical call -----------------------------------------------------------

  /** One command: a logical call under the target's policy, each attempt sent by `send.attempt` (a hedge by `send.onTwin`). */
  private command(client: RedisClientLike, args: unknown[], send: CommandSend): Promise<unknown> {
    let execute: ExecuteOptions<unknown>;
    let session: NodeRedisSession;
    try {
      const connection = connectionOf(client.options);
      const name = commandName(args[0]);
      session = (client._self ?? client) as NodeRedisSession;
      if (this.twins.active && this.twins.isTwin(session)) return send.unprotected(); // a twin's own command (a keep-alive PING)
      const inMulti = this.transactions.isOpen(session);
      this.transactions.sending(session, name);
      const markedIdempotent = idempotencyMark();
      const operation = operationName(args[0]);
      execute = {
        target: connection.target,
        client: 'redis',
        method: name,
        // Nothing reads the span options without an SDK: they are built only with one.
        attemptSpan: this.runtime.telemetryActive()
          ? {
              name,
              kind: attemptSpanKind(),
              attributes: operationAttributes(connection, operation, redisQueryText(operation, args.slice(1))),
              duration: redisDuration(connection.attributes, operation),
            }
          : undefined,
        canReplay: (failure) => redisReplayDecision({ command: args[0], args: args.slice(1), inMulti, markedIdempotent, failure }),
        // Legacy mode (no onTwin) is ruled out by the twin driver, so never hedged.
        hedgeable: this.twins.active ? redisHedgeable(this.twins, session, name, args.slice(1), inMulti, markedIdempotent) : undefined,
      };
    } catch {
      return send.unprotected(); // never fail the caller's call for our bookkeeping
    }
    const onTwin = send.onTwin;
    return this.runtime.execute((attempt) => {
      // A backup behind the stalled reply on the same connection could never be faster.
      // (The engine asks `hedgeable` right before, so the twin is ready; if not, the client's own connection still answers right.)
      const twin = attempt.hedge && onTwin !== undefined ? this.twins.twinOf(session) : undefined;
      const sent = twin === undefined ? () => send.attempt(attempt.signal) : () => onTwin!(twin, attempt.signal);
      return annotatingFailure(attempt, callOriginal(sent));
    }, execute);
  }

  /** `multi().exec()` or `execAsPipeline()`: one logical call for the whole batch. */
  private batch(client: RedisClientLike, original: Method, operation: 'MULTI' | 'PIPELINE', commands: BatchEntry[], callArgs: unknown[]): Promise<unknown> {
    let execute: ExecuteOptions<unknown>;
    try {
      const connection = connectionOf(client.options);
      const markedIdempotent = idempotencyMark();
      // A pipeline sent inside a raw MULTI is queued in that transaction.
      const inMulti = this.transactions.isOpen(client._self ?? client);
      if (this.twins.active && commands.some((entry) => changesSession(commandName(argsOf(entry)[0])))) this.twins.stop((client._self ?? client) as NodeRedisSession);
      execute = {
        target: connection.target,
        client: 'redis',
        method: operation,
        attemptSpan: this.runtime.telemetryActive() ? this.batchAttemptSpan(connection, operation, commands) : undefined,
        canReplay:
          operation === 'MULTI'
            ? () => 'in_transaction'
            : (failure) => (inMulti ? 'in_transaction' : redisPipelineReplayDecision({ commands: commands.map(argsOf), markedIdempotent, failure })),
      };
    } catch {
      return original.apply(client, callArgs) as Promise<unknown>;
    }
    return this.runtime.execute((attempt) => annotatingFailure(attempt, callOriginal(() => original.apply(client, callArgs) as Promise<unknown>)), execute);
  }

  /** The batch's attempt span: `db.query.text` of its commands, and the batch size from two commands on. */
  private batchAttemptSpan(connection: Connection, operation: 'MULTI' | 'PIPELINE', commands: readonly BatchEntry[]): AttemptSpanOptions {
    const extra = commands.length >= 2 ? { [ATTR_DB_OPERATION_BATCH_SIZE]: commands.length } : undefined;
    const queryText = redisBatchQueryText(commands.length, (i) => {
      const entryArgs = argsOf(commands[i]!);
      return { name: operationName(entryArgs[0]), args: entryArgs.slice(1) };
    });
    return {
      name: operation,
      kind: this.batchSpanKind(commands),
      attributes: operationAttributes(connection, operation, queryText, extra),
      duration: redisDuration(connection.attributes, operation),
    };
  }

  /**
   * An official redis instrumentation that wraps the multi's addCommand outside ours
   * records a CLIENT span per queued command: the batch's attempt spans are then
   * INTERNAL, so the trace keeps its CLIENT spans single (instrumentations/kit/calls.ts).
   */
  private batchSpanKind(commands: readonly BatchEntry[]): SpanKind {
    for (const entry of commands) {
      const args = entry?.args;
      if (typeof args === 'object' && args !== null && this.foreignTraced.has(args)) return SpanKind.INTERNAL;
    }
    return attemptSpanKind();
  }
}

const CLIENT_METHODS = ['sendCommand', '_executeMulti', '_executePipeline'];
const CLIENT_METHODS_V4 = ['commandsExecutor', 'sendCommand', 'multiExecutor', 'executeScript', 'executeFunction', 'connect', 'SELECT'];
/** Marks a node-redis 4 prototype whose typed commands were re-attached. */
const REATTACHED = Symbol.for('breakwater.redis.v4.reattached');

type CommandTable = Record<string, unknown>;
/** The node-redis 4 command table (client/commands.js), seen when it loads. */
let commandTableV4: CommandTable | undefined;

function commandTableOf(exports: unknown): CommandTable | undefined {
  const table = (exports as { default?: unknown } | undefined)?.default;
  return typeof table === 'object' && table !== null ? (table as CommandTable) : undefined;
}

/** The wire arguments of a node-redis 4 typed command, from its arguments without the commandOptions. */
function redisArgsOf(command: unknown, jsArgs: readonly unknown[]): unknown[] | undefined {
  try {
    const transform = (command as { transformArguments?: unknown } | undefined)?.transformArguments;
    if (typeof transform !== 'function') return undefined;
    const args = (transform as (...a: unknown[]) => unknown)(...jsArgs);
    return Array.isArray(args) && args.length > 0 ? args : undefined;
  } catch {
    return undefined;
  }
}
const MULTI_METHODS = ['addCommand'];

function prototypeOf(exports: unknown): Record<string, unknown> | undefined {
  const main = (exports as { default?: { prototype?: unknown } } | undefined)?.default;
  const proto = main?.prototype;
  return typeof proto === 'object' && proto !== null ? (proto as Record<string, unknown>) : undefined;
}

function argsOf(entry: BatchEntry | undefined): readonly unknown[] {
  return Array.isArray(entry?.args) ? entry.args : [];
}

/** How one logical command is sent: per attempt (given the attempt's signal), or untouched when breakwater stands aside. */
interface CommandSend {
  attempt(signal: AbortSignal): Promise<unknown>;
  unprotected(): Promise<unknown>;
  /** A backup attempt, over the client's hedge twin; without it the command is never hedged (node-redis 4 legacy mode). */
  onTwin?(twin: NodeRedisSession, signal: AbortSignal): Promise<unknown>;
}

function abortSignalOf(options: unknown): AbortSignal | undefined {
  const signal = (options as { abortSignal?: unknown } | undefined)?.abortSignal;
  return signal instanceof AbortSignal ? signal : undefined;
}

/**
 * The command options with the attempt's signal (and the caller's, when given) as
 * `abortSignal`. The caller's signal is not handed to the engine: node-redis rejects
 * with its own AbortError, which the caller gets back as without breakwater.
 */
function withAbortSignal(options: unknown, callerSignal: AbortSignal | undefined, attemptSignal: AbortSignal): object {
  const abortSignal = callerSignal === undefined ? attemptSignal : AbortSignal.any([callerSignal, attemptSignal]);
  return typeof options === 'object' && options !== null ? { ...options, abortSignal } : { abortSignal };
}

/** node-redis 4 marks a typed command's options object with a private symbol (`commandOptions()`). */
function isCommandOptionsV4(value: unknown): value is object {
  return typeof value === 'object' && value !== null && Object.getOwnPropertySymbols(value).some((s) => s.description === 'Command Options');
}

function withoutCommandOptions(jsArgs: readonly unknown[]): unknown[] {
  return isCommandOptionsV4(jsArgs[0]) ? jsArgs.slice(1) : [...jsArgs];
}

/** The major version of the @redis/client a cached file belongs to (NaN when unknown). */
function packageMajor(file: string): number {
  try {
    const root = file.slice(0, file.lastIndexOf('/dist/lib/'));
    const { version } = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? Number.parseInt(version, 10) : NaN;
  } catch {
    return NaN;
  }
}
