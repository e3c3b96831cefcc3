import { createRequire } from 'node:module';
import path from 'node:path';
import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import type { Runtime } from '../../src/runtime/runtime.js';
import { shouldPassThrough } from '../kit/calls.js';
import { runCommand, type CommandCallDeps } from './command-call.js';
import { HedgeTwins } from '../kit/hedge-twins.js';
import { ioredisTwins } from './hedge-twin.js';
import { keepOutermost, scheduleOutermostCheck, type OutermostHandle } from '../kit/outermost.js';
import { isOurs, makeLayer, unwrapMethod, wrapMethod, type LayerFactory } from './layer.js';
import { isAttemptPipeline, isTransaction, runPipeline, runTransaction, type PipelineCallDeps } from './pipeline-call.js';
import { isAttemptCommand, sendAttemptCommand } from './resend-guard.js';
import type { CommandConstructor, IoredisClient, IoredisCommand, IoredisPipeline, PipelineConstructor } from './types.js';
import { isPassThroughCommand } from './utils.js';

export const INSTRUMENTATION_NAME = 'breakwater-ioredis';
const VERSION = '0.1.0';
export const SUPPORTED_VERSIONS = ['>=5 <7'];

interface IoredisExports {
  prototype: IoredisClient;
  Command?: CommandConstructor;
  Pipeline?: PipelineConstructor & { prototype: IoredisPipeline };
}

function exportsOf(module: unknown): IoredisExports | undefined {
  const m = module as { [Symbol.toStringTag]?: unknown; default?: unknown } | undefined;
  const exports = (m?.[Symbol.toStringTag] === 'Module' ? m.default : m) as unknown;
  if (typeof exports !== 'function') return undefined;
  const candidate = exports as unknown as IoredisExports;
  return typeof candidate.prototype?.sendCommand === 'function' ? candidate : undefined;
}

function isCommand(value: unknown): value is IoredisCommand {
  return typeof value === 'object' && value !== null && typeof (value as IoredisCommand).name === 'string' && Array.isArray((value as IoredisCommand).args);
}

/**
 * Hooks ioredis 5 and 6 (CommonJS and ESM): `Redis.prototype.sendCommand` (every
 * command of a standalone or Sentinel client, and of each node connection of a Cluster)
 * and `Pipeline.prototype.exec` (pipelines and MULTI). Prototypes are patched, so clients
 * created before enable() are covered too.
 */
export class IoredisInstrumentation extends InstrumentationBase {
  private readonly runtime: Runtime;
  /** ioredis modules patched by enable() because they were loaded before it. */
  private readonly patchedLate = new Set<IoredisExports>();
  /** The methods patched per module, kept outermost (kit/outermost.ts) until unpatched. */
  private readonly outermost = new Map<IoredisExports, OutermostHandle[]>();
  /** Hedged reads' second connections, shared by every ioredis module patched. */
  private readonly twins: HedgeTwins<IoredisClient, IoredisClient>;

  constructor(runtime: Runtime) {
    super(INSTRUMENTATION_NAME, VERSION, { enabled: false });
    this.runtime = runtime;
    this.twins = new HedgeTwins(runtime, ioredisTwins);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'ioredis',
        SUPPORTED_VERSIONS,
        (module: unknown) => {
          const exports = exportsOf(module);
          if (exports !== undefined) this.patch(exports);
          scheduleOutermostCheck(); // an official ioredis instrumentation hooked after breakwater wraps it in this same load
          return module;
        },
        (module: unknown) => {
          const exports = exportsOf(module);
          if (exports !== undefined) this.unpatch(exports);
        },
      ),
    ];
  }

  override enable(): void {
    super.enable();
    this.patchAlreadyLoaded();
    scheduleOutermostCheck();
  }

  override disable(): void {
    super.disable();
    for (const exports of this.patchedLate) this.unpatch(exports);
    this.patchedLate.clear();
    this.twins.closeAll();
  }

  /**
   * require-in-the-middle patches a module when it is required; one the application (as
   * resolved from its working directory) required before enable() is served from
   * require's cache and would stay unpatched. Patch that one now.
   */
  private patchAlreadyLoaded(): void {
    try {
      const appRequire = createRequire(path.join(process.cwd(), 'index.js'));
      const entry = appRequire.cache[appRequire.resolve('ioredis')];
      if (entry?.loaded !== true) return;
      const version = (appRequire('ioredis/package.json') as { version?: unknown }).version;
      const major = typeof version === 'string' ? Number(version.split('.')[0]) : NaN;
      if (major !== 5 && major !== 6) return;
      const exports = exportsOf(entry.exports);
      if (exports === undefined || isOurs(exports.prototype.sendCommand)) return;
      this.patch(exports);
      this.patchedLate.add(exports);
    } catch {
      // ioredis not installed where the application runs: nothing to patch
    }
  }

  private patch(exports: IoredisExports): void {
    const runtime = this.runtime;
    const proto = exports.prototype;
    const Command = exports.Command;
    const PipelineClass = exports.Pipeline;
    if (typeof Command !== 'function') return;

    let sendCommandLayer: Function | undefined;
    // Another instrumentation that wrapped sendCommand over breakwater's newest layer (the
    // official one, before kit/outermost.ts re-layered) makes its CLIENT span around the
    // whole call: this call's attempts are then INTERNAL, the next ones are re-layered.
    const wrappedByOthers = (): boolean => {
      const wrapped = proto.sendCommand !== sendCommandLayer;
      if (wrapped) scheduleOutermostCheck();
      return wrapped;
    };

    this.keepOutermost(exports, proto, 'sendCommand', (original, isActive) => {
      const send = (client: IoredisClient, command: IoredisCommand, stream?: unknown, node?: unknown): unknown =>
        original.call(client, command, stream, node);
      const deps: CommandCallDeps = { runtime, Command, send: (client, command) => original.call(client, command), wrappedByOthers, twins: this.twins };
      sendCommandLayer = function sendCommand(this: IoredisClient, command: unknown, stream?: unknown, node?: unknown): unknown {
        if (isAttemptCommand(command)) return sendAttemptCommand(this, () => send(this, command, stream, node), command);
        if (
          !isActive() ||
          !isCommand(command) ||
          stream !== undefined || // a command of a pipeline or MULTI: the pipeline is the logical call
          shouldPassThrough() ||
          !runtime.isEnabled('ioredis') ||
          isPassThroughCommand(this, command.name.toLowerCase(), command.args)
        ) {
          return original.apply(this, arguments);
        }
        let pending: Promise<unknown>;
        try {
          pending = runCommand(deps, this, command);
        } catch {
          return original.apply(this, arguments); // breakwater's own failure must not become the caller's
        }
        return pending;
      };
      return sendCommandLayer;
    });

    if (PipelineClass === undefined || typeof PipelineClass.prototype?.exec !== 'function') return;
    let execLayer: Function | undefined;
    this.keepOutermost(exports, PipelineClass.prototype, 'exec', (original, isActive) => {
      const deps: PipelineCallDeps = {
        runtime,
        Command,
        Pipeline: PipelineClass,
        exec: (pipeline, args) => original.apply(pipeline, args) as Promise<unknown>,
        // The official instrumentation wraps sendCommand only and records nothing for the
        // commands of a pipeline breakwater sends (tracing is suppressed there).
        wrappedByOthers: () => PipelineClass.prototype.exec !== execLayer,
      };
      execLayer = function exec(this: IoredisPipeline, callback?: unknown): unknown {
        if (
          !isActive() ||
          isAttemptPipeline(this) ||
          this.isCluster === true ||
          this._transactions > 0 || // multi(): EXEC is being queued, the real exec comes next
          this.nodeifiedPromise === true || // exec called again (ioredis's own cluster retries)
          !Array.isArray(this._queue) ||
          shouldPassThrough() ||
          !runtime.isEnabled('ioredis')
        ) {
          return original.apply(this, arguments);
        }
        const args = [...arguments];
        let pending: Promise<unknown>;
        try {
          pending = isTransaction(this._queue) ? runTransaction(deps, this, args) : runPipeline(deps, this, callback);
        } catch {
          return original.apply(this, args); // breakwater's own failure must not become the caller's
        }
        return pending;
      };
      return execLayer;
    });
  }

  /**
   * Wraps a method with a layer of ours and keeps it outermost: `makeWrapper` builds each
   * layer (a fresh one goes over an instrumentation that wrapped ours since).
   */
  private keepOutermost<T extends object>(exports: IoredisExports, target: T, name: keyof T & string, makeWrapper: LayerFactory): void {
    const original = target[name] as unknown as Function;
    const installed = wrapMethod(target, name, makeWrapper);
    if (installed === undefined) return;
    const handle = keepOutermost({ target, name, installed, original, wrap: (below: Function) => makeLayer(below, makeWrapper) });
    const handles = this.outermost.get(exports) ?? [];
    handles.push(handle);
    this.outermost.set(exports, handles);
  }

  private unpatch(exports: IoredisExports): void {
    for (const handle of this.outermost.get(exports) ?? []) handle.release();
    this.outermost.delete(exports);
    unwrapMethod(exports.prototype, 'sendCommand');
    if (exports.Pipeline?.prototype !== undefined) unwrapMethod(exports.Pipeline.prototype, 'exec');
  }
}
