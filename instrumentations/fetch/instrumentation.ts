import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import type { Runtime } from '../../src/runtime/runtime.js';
import { resilientFetch } from './fetch-call.js';
import { resilientDispatcherRequest, resilientModuleRequest } from './undici-request.js';

const VERSION = '0.1.0';
/** undici 6 to 8 (design.md section 4). */
export const UNDICI_VERSIONS = ['>=6.0.0 <9'];

type AnyFunction = (...args: never[]) => unknown;
interface UndiciExports {
  request?: AnyFunction;
  fetch?: AnyFunction;
  Dispatcher?: { prototype?: { request?: AnyFunction } };
}

/**
 * Hooks the `undici` package (require-in-the-middle for CommonJS, import-in-the-middle
 * for ESM): its `request` and `fetch` exports and `Dispatcher.prototype.request`, which
 * every Client, Pool and Agent inherits (instances made before the hook included).
 * It records nothing itself (`this.tracer` is never used): the engine does.
 */
export class UndiciResilienceInstrumentation extends InstrumentationBase {
  constructor(private readonly runtime: Runtime) {
    super('breakwater-fetch', VERSION, { enabled: false });
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [new InstrumentationNodeModuleDefinition('undici', UNDICI_VERSIONS, (module: unknown) => this.patch(module), (module: unknown) => this.unpatch(module))];
  }

  private patch(module: unknown): unknown {
    const { namespace, exports } = split(module);
    if (exports === undefined) return module;
    const runtime = this.runtime;
    this.wrapFunction(exports, 'request', (original) => resilientModuleRequest(runtime, original as never));
    this.wrapFunction(exports, 'fetch', (original) => resilientFetch(runtime, original as never));
    const proto = exports.Dispatcher?.prototype;
    if (proto !== undefined) this.wrapFunction(proto, 'request', (original) => resilientDispatcherRequest(runtime, original as never));
    if (namespace !== undefined) {
      // `import { request } from 'undici'` binds the ESM namespace's own export, a copy
      // taken from the CommonJS exports at import time: it is replaced too.
      for (const name of ['request', 'fetch'] as const) {
        const wrapped = exports[name];
        if (typeof wrapped === 'function' && namespace[name] !== wrapped) this.defineOn(namespace, name, wrapped);
      }
    }
    return module;
  }

  private unpatch(module: unknown): void {
    const { namespace, exports } = split(module);
    if (exports === undefined) return;
    for (const name of ['request', 'fetch'] as const) {
      if (isWrapped(exports[name])) this._unwrap(exports, name);
      if (namespace !== undefined && isWrapped(namespace[name])) {
        this.defineOn(namespace, name, (namespace[name] as unknown as { __original: AnyFunction }).__original);
      }
    }
    const proto = exports.Dispatcher?.prototype;
    if (proto !== undefined && isWrapped(proto.request)) this._unwrap(proto, 'request');
  }

  private wrapFunction<T extends object>(target: T, name: keyof T & string, wrap: (original: AnyFunction) => AnyFunction): void {
    const current = (target as Record<string, unknown>)[name];
    if (typeof current !== 'function' || isWrapped(current)) return;
    this._wrap(target, name as never, ((original: AnyFunction) => wrap(original)) as never);
  }

  private defineOn(namespace: Record<string, unknown>, name: string, value: unknown): void {
    try {
      Object.defineProperty(namespace, name, { value });
    } catch {
      // a namespace that cannot be changed keeps the original: calls through it are not wrapped
    }
  }
}

function split(module: unknown): { namespace?: Record<string, AnyFunction>; exports?: UndiciExports } {
  if (module === null || (typeof module !== 'object' && typeof module !== 'function')) return {};
  const isNamespace = (module as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'Module';
  if (!isNamespace) return { exports: module as UndiciExports };
  const exports = (module as { default?: unknown }).default;
  return {
    namespace: module as Record<string, AnyFunction>,
    exports: exports !== null && (typeof exports === 'object' || typeof exports === 'function') ? (exports as UndiciExports) : undefined,
  };
}
