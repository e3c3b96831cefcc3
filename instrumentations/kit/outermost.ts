import Module, { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Keeps breakwater's wrapper the outermost layer of every client method it patched, so
 * that each attempt has one CLIENT span (breakwater's) whichever was patched first.
 *
 * An official OpenTelemetry instrumentation that patches a client after breakwater
 * (breakwater/register preloaded before the application's OpenTelemetry file) wraps
 * breakwater's wrapper with shimmer: its function's `__original` is breakwater's. Its
 * CLIENT span would then cover the whole logical call, and breakwater's attempts would
 * be INTERNAL under it. When that happens, breakwater puts a fresh wrapper of its own
 * over the official one. Every attempt of the outer wrapper runs with tracing suppressed
 * (kit/calls.ts), so the official wrapper records no span and injects no header, and the
 * inner breakwater wrapper passes the call through.
 *
 * When the check runs, cheapest first:
 * - a microtask after each module load an adapter hooks (require-in-the-middle and
 *   import-in-the-middle call the official hook right after breakwater's, in the same
 *   load, so by the microtask it has wrapped);
 * - for node:http and node:https, which breakwater patches at enable and an official
 *   instrumentation patches at the next `require('http')` or import, a microtask after
 *   each such require (a plain wrapper of Module.prototype.require: the
 *   require-in-the-middle hook of @opentelemetry/instrumentation sees a builtin only on
 *   the first require after it is installed, usually before the application's SDK has
 *   started) and after each import import-in-the-middle wraps (it wraps node:http only
 *   once an official instrumentation asked for it);
 * - at call time, when an inner wrapper finds it is no longer on top (that call keeps the
 *   INTERNAL fallback of kit/calls.ts; the following ones are re-layered).
 *
 * Only a wrapper whose `__original` chain leads to breakwater's is covered over: a
 * function that replaced the method without wrapping it is left alone. A method gets at
 * most MAX_RELAYERS fresh wrappers, so two libraries that both insist on being outermost
 * cannot stack wrappers for ever. Nothing here throws into the application.
 */

/** Fresh wrappers one method may get over its lifetime. */
export const MAX_RELAYERS = 3;
/** How far down a chain of wrappers breakwater looks for its own. */
const CHAIN_DEPTH = 16;

export interface OutermostMethod {
  readonly target: object;
  readonly name: string;
  /** breakwater's wrapper as the adapter installed it, and the method it wraps. */
  readonly installed: Function;
  readonly original: Function;
  /** Builds a fresh wrapper of breakwater's around `below` (the method as it now is, another's wrapper). */
  readonly wrap: (below: never) => Function;
  /** Runs after a fresh wrapper is installed (node:http syncs its ESM named exports). */
  readonly afterRelayer?: () => void;
}

interface Layer {
  readonly wrapper: Function;
  readonly below: Function;
}

export interface OutermostHandle {
  /** breakwater's newest wrapper on the method (the one that should be on top). */
  readonly newest: Function;
  /** Whether breakwater's newest wrapper is the method's current value. */
  isOnTop(): boolean;
  /**
   * Takes the fresh wrappers off while they are on top (the newest first) and stops
   * watching. The adapter then restores (or leaves inert) the wrapper it installed.
   */
  release(): void;
}

class Slot implements OutermostHandle {
  readonly layers: Layer[];
  relayers = 0;

  constructor(readonly method: OutermostMethod) {
    this.layers = [{ wrapper: method.installed, below: method.original }];
  }

  get newest(): Function {
    return this.layers[this.layers.length - 1]!.wrapper;
  }

  current(): unknown {
    return (this.method.target as Record<string, unknown>)[this.method.name];
  }

  isOnTop(): boolean {
    try {
      return this.current() === this.newest;
    } catch {
      return true;
    }
  }

  /** Whether `top` wraps one of breakwater's layers (following shimmer's `__original`). */
  overtakenBy(top: unknown): boolean {
    let fn = top;
    for (let depth = 0; depth < CHAIN_DEPTH && typeof fn === 'function'; depth++) {
      const layer = this.layers.find((l) => l.wrapper === fn);
      if (layer !== undefined) return depth > 0;
      fn = (fn as { __original?: unknown }).__original;
    }
    return false;
  }

  relayer(): void {
    const top = this.current();
    if (typeof top !== 'function' || top === this.newest || this.relayers >= MAX_RELAYERS || !this.overtakenBy(top)) return;
    const wrapper = this.method.wrap(top as never);
    this.markForShimmer(wrapper, top);
    install(this.method.target, this.method.name, wrapper);
    this.layers.push({ wrapper, below: top });
    this.relayers++;
    this.method.afterRelayer?.();
  }

  /**
   * shimmer's marks on a fresh wrapper, so that the instrumentation under it can still
   * take itself out: its disable() (shimmer's `unwrap`) finds the top of the method
   * marked `__wrapped` and calls its `__unwrap`, which here runs that instrumentation's
   * own `__unwrap` (putting breakwater's wrapper under it back on top) and drops this
   * wrapper, no longer needed. Re-wrapping (shimmer unwraps a marked method first) does
   * the same, and the instrumentation's new wrapper is re-layered in turn.
   */
  private markForShimmer(wrapper: Function, below: Function): void {
    const unwrapBelow = (below as { __unwrap?: unknown }).__unwrap;
    const unwrap = (): void => {
      if (typeof unwrapBelow !== 'function' || this.current() !== wrapper) return;
      const { target, name } = this.method;
      // shimmer's __unwrap acts only while its wrapper is the method's value.
      install(target, name, below);
      try {
        unwrapBelow.call(below);
      } catch {
        // as if it had not unwrapped
      }
      if (this.current() === below) {
        install(target, name, wrapper); // it did not take itself out: this wrapper stays on top
        return;
      }
      const index = this.layers.findIndex((l) => l.wrapper === wrapper);
      if (index > 0) this.layers.splice(index, 1);
      this.method.afterRelayer?.();
    };
    for (const [key, value] of [['__original', below], ['__unwrap', unwrap], ['__wrapped', true]] as const) {
      Object.defineProperty(wrapper, key, { value, configurable: true, enumerable: false, writable: true });
    }
  }

  release(): void {
    slots.delete(this);
    try {
      let changed = false;
      while (this.layers.length > 1 && this.current() === this.newest) {
        install(this.method.target, this.method.name, this.layers.pop()!.below);
        changed = true;
      }
      if (changed) this.method.afterRelayer?.();
    } catch {
      // a method that cannot be set back keeps breakwater's wrapper, inert once the adapter is disabled
    }
    if (slots.size === 0) unwatchLoads();
  }
}

function install(target: object, name: string, value: Function): void {
  const descriptor = Object.getOwnPropertyDescriptor(target, name);
  Object.defineProperty(target, name, {
    value,
    writable: descriptor?.writable ?? true,
    enumerable: descriptor?.enumerable ?? false,
    configurable: true,
  });
}

const slots = new Set<Slot>();
let checkScheduled = false;

/** Starts watching a method breakwater wrapped; `release()` on the handle when unpatching. */
export function keepOutermost(method: OutermostMethod): OutermostHandle {
  const slot = new Slot(method);
  slots.add(slot);
  watchLoads();
  return slot;
}

/** Covers every watched method an instrumentation wrapped since, now. Never throws. */
export function relayerOvertaken(): void {
  for (const slot of slots) {
    try {
      slot.relayer();
    } catch {
      // this method stays as it is; the calls keep the INTERNAL fallback
    }
  }
}

/** Runs relayerOvertaken once, in a microtask: after the module load (and the hooks it runs) in progress. */
export function scheduleOutermostCheck(): void {
  if (checkScheduled || slots.size === 0) return;
  checkScheduled = true;
  queueMicrotask(() => {
    checkScheduled = false;
    relayerOvertaken();
  });
}

// ---- load watchers for node:http and node:https ---------------------------------

/**
 * Now, for a watcher that runs after the other instrumentation's hook (it wrapped the
 * require or was added before ours), and again in a microtask for one that runs before.
 */
function settleAfterLoad(): void {
  relayerOvertaken();
  scheduleOutermostCheck();
}

const WATCHED_REQUIRES = new Set(['http', 'https', 'node:http', 'node:https']);
const WATCHED_IMPORTS = new Set(['node:http', 'node:https', 'http', 'https']);

type RequireFunction = (this: unknown, id: string) => unknown;
let originalRequire: RequireFunction | undefined;
let watchingRequire: RequireFunction | undefined;
let importHook: { remove(): void } | undefined;

function watchLoads(): void {
  if (watchingRequire === undefined) {
    try {
      const proto = Module.prototype as unknown as { require: RequireFunction };
      const previous = proto.require;
      const watching = function require(this: unknown, id: string): unknown {
        const exports = previous.apply(this, arguments as unknown as [string]);
        if (watchingRequire === watching && WATCHED_REQUIRES.has(id)) settleAfterLoad();
        return exports;
      };
      proto.require = watching;
      originalRequire = previous;
      watchingRequire = watching;
    } catch {
      // no require watch: module hooks and call time still re-layer
    }
  }
  if (importHook === undefined) importHook = addImportHook();
}

function unwatchLoads(): void {
  const proto = Module.prototype as unknown as { require: RequireFunction };
  // Someone who wrapped require since keeps our watcher inside theirs, inert.
  if (watchingRequire !== undefined && proto.require === watchingRequire) proto.require = originalRequire!;
  watchingRequire = undefined;
  originalRequire = undefined;
  importHook?.remove();
  importHook = undefined;
}

interface ImportInTheMiddle {
  addHook(hook: (url: string) => void): void;
  removeHook(hook: (url: string) => void): void;
}

/**
 * A hook on the import-in-the-middle copy @opentelemetry/instrumentation uses (the one
 * whose loader register/esm-hook.ts finds or registers). It asks the loader to wrap
 * nothing: it sees node:http only when an official instrumentation asked for it.
 */
function addImportHook(): { remove(): void } | undefined {
  // The CommonJS build (the one register loads) knows its file; the ESM build does without.
  const here = typeof __filename === 'string' ? __filename : undefined;
  if (here === undefined) return undefined;
  try {
    const requireHere = createRequire(here);
    const instrumentationDir = path.dirname(requireHere.resolve('@opentelemetry/instrumentation/package.json'));
    const iitm = requireHere(requireHere.resolve('import-in-the-middle', { paths: [instrumentationDir] })) as ImportInTheMiddle;
    const hook = (url: string): void => {
      if (WATCHED_IMPORTS.has(url)) settleAfterLoad();
    };
    iitm.addHook(hook);
    return { remove: () => iitm.removeHook(hook) };
  } catch {
    return undefined;
  }
}
