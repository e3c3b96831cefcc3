import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { readFileSync } from 'node:fs';
import type { Runtime } from '../../src/runtime/runtime.js';
import { shouldPassThrough } from '../kit/calls.js';
import { keepOutermost, scheduleOutermostCheck, type OutermostHandle } from '../kit/outermost.js';
import { forEachLoadedModule } from '../kit/preloaded.js';
import { managedClientQuery, passThroughQuery, type PgClientLike, type QueryMethod } from './client-query.js';
import { managedPoolQuery, type PgPoolLike } from './pool-query.js';
import { clientQueryCall, poolQueryCall } from './query-args.js';

const VERSION = '0.1.0';
const PG_VERSIONS = ['>=8 <9'];
/** pg 8 depends on pg-pool 3. */
const PG_POOL_VERSIONS = ['>=3 <4'];

type Prototype = Record<string, unknown>;

/** Marks the functions this adapter installed, with the instance that owns them. */
const OWNER = Symbol.for('breakwater.pg.owner');
/** On each wrapper this adapter installed: the method it wraps, so a chain can be walked through it. */
const WRAPPED = Symbol.for('breakwater.pg.wrapped');

const foreignChains = new WeakMap<object, boolean>();

/**
 * Whether an OpenTelemetry instrumentation (a shimmer wrapper: the official pg one) is in
 * the chain of wrappers of a `query` method, at any depth. Such an instrumentation
 * records `db.client.operation.duration` whenever its wrapper runs, tracing suppressed or
 * not, so where it runs inside an attempt breakwater records no point of its own.
 */
function hasForeignInstrumentation(method: unknown): boolean {
  if (typeof method !== 'function') return false;
  let known = foreignChains.get(method);
  if (known === undefined) {
    known = false;
    let current: unknown = method;
    for (let depth = 0; depth < 16 && typeof current === 'function'; depth++) {
      const fn = current as { __wrapped?: unknown; __original?: unknown; [WRAPPED]?: unknown };
      if (fn.__wrapped === true) {
        known = true;
        break;
      }
      current = fn[WRAPPED] ?? fn.__original;
    }
    foreignChains.set(method, known);
  }
  return known;
}

interface Patched {
  readonly proto: Prototype;
  readonly name: string;
  readonly original: unknown;
  readonly wrapper: unknown;
  readonly layer: OutermostHandle;
}

/** The CommonJS exports whether the module came through require or an ESM import (its namespace). */
function commonJsExports(exports: unknown): Record<string, unknown> | undefined {
  if (exports === null || (typeof exports !== 'object' && typeof exports !== 'function')) return undefined;
  const e = exports as Record<string | symbol, unknown>;
  const resolved = e[Symbol.toStringTag] === 'Module' && e['default'] !== undefined ? e['default'] : exports;
  return resolved as Record<string, unknown>;
}

function prototypeOf(ctor: unknown): Prototype | undefined {
  if (typeof ctor !== 'function') return undefined;
  const proto = (ctor as { prototype?: unknown }).prototype;
  return typeof proto === 'object' && proto !== null ? (proto as Prototype) : undefined;
}

/**
 * Hooks pg 8: `Client.prototype.query` and pg-pool's `Pool.prototype.query` (pg's `Pool`
 * extends it), so clients and pools created before or after are covered.
 *
 * The prototypes are patched through pg's own exports (`pg.Client`, the parent class of
 * `pg.Pool`) and through pg-pool for applications that use it directly; a method is
 * wrapped once whichever way it is reached first.
 *
 * Why not shimmer (`this._wrap`): the official @opentelemetry/instrumentation-pg unwraps
 * whatever shimmer wrapper it finds on `Client.prototype.query` before wrapping it, which
 * would silently remove breakwater when the official one is enabled after it. These
 * wrappers carry no shimmer marks, so each instrumentation wraps the other, and when the
 * official one wraps breakwater, kit/outermost.ts puts a fresh breakwater wrapper over
 * it (one CLIENT span per attempt, breakwater's, in both orders). On disable, a
 * wrapper another instrumentation has since wrapped stays in place, inert (it passes
 * every call through), so as not to tear the other's wrapper out of the chain.
 */
export class PgInstrumentation extends InstrumentationBase {
  private active = false;
  private readonly patched: Patched[] = [];

  constructor(private readonly runtime: Runtime) {
    super('breakwater-pg', VERSION, { enabled: false });
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    // Called by the base constructor, before this class's fields exist: closures only.
    return [
      new InstrumentationNodeModuleDefinition(
        'pg',
        PG_VERSIONS,
        (exports: unknown) => {
          this.patchPg(commonJsExports(exports));
          scheduleOutermostCheck(); // an official pg instrumentation hooked after breakwater wraps it in this same load
          return exports;
        },
        () => this.unpatchAll(),
      ),
      new InstrumentationNodeModuleDefinition(
        'pg-pool',
        PG_POOL_VERSIONS,
        (exports: unknown) => {
          this.patchPool(prototypeOf(commonJsExports(exports)));
          scheduleOutermostCheck();
          return exports;
        },
        () => this.unpatchAll(),
      ),
    ];
  }

  override enable(): void {
    this.active = true;
    super.enable();
    this.patchPreloaded();
    scheduleOutermostCheck();
  }

  override disable(): void {
    this.active = false;
    super.disable();
    this.unpatchAll();
  }

  private patchPg(pg: Record<string, unknown> | undefined): void {
    if (pg === undefined) return;
    const clientProto = prototypeOf(pg['Client']);
    if (clientProto !== undefined) this.patchClient(clientProto);
    // pg.Pool is `class BoundPool extends Pool` (pg-pool): the method lives on the parent.
    const boundPoolProto = prototypeOf(pg['Pool']);
    if (boundPoolProto !== undefined) this.patchPool(Object.getPrototypeOf(boundPoolProto) as Prototype | undefined);
  }

  private patchClient(proto: Prototype): void {
    const adapter = this;
    this.wrapOnce(proto, 'query', (original) => {
      const wrapper = function query(this: unknown, ...args: unknown[]): unknown {
        return adapter.clientQuery(this as PgClientLike, original, args, wrapper);
      };
      return wrapper;
    });
  }

  private patchPool(proto: Prototype | undefined): void {
    if (proto === undefined || proto === Object.prototype) return;
    const adapter = this;
    this.wrapOnce(proto, 'query', (original) =>
      function query(this: unknown, ...args: unknown[]): unknown {
        return adapter.poolQuery(this as PgPoolLike, original, args);
      },
    );
  }

  private clientQuery(client: PgClientLike, original: QueryMethod, args: unknown[], wrapper: QueryMethod): unknown {
    if (!this.active || !this.runtime.isEnabled('pg')) return original.apply(client, args);
    // Decide first, then call pg exactly once: an error pg throws goes to the caller as is.
    let call;
    let wrappedByOther = false;
    try {
      call = shouldPassThrough() ? undefined : clientQueryCall(args[0], args[1], args[2]);
      if (call !== undefined) wrappedByOther = this.wrappedByOther((client as { query?: unknown }).query, wrapper);
    } catch {
      return original.apply(client, args);
    }
    if (call === undefined) return passThroughQuery(client, original, args);
    if (wrappedByOther) scheduleOutermostCheck(); // this call keeps the INTERNAL fallback, the next ones are re-layered
    return managedClientQuery(this.runtime, client, original, call, wrappedByOther, hasForeignInstrumentation(original));
  }

  private poolQuery(pool: PgPoolLike, original: QueryMethod, args: unknown[]): unknown {
    if (!this.active || !this.runtime.isEnabled('pg')) return original.apply(pool, args);
    let call;
    try {
      call = shouldPassThrough() ? undefined : poolQueryCall(args[0], args[1], args[2]);
    } catch {
      return original.apply(pool, args);
    }
    if (call === undefined) return original.apply(pool, args);
    // Each attempt runs the query on a Client of the pool's Client class (pg-pool's `Client` option).
    let innerRecordsDuration = false;
    try {
      innerRecordsDuration = hasForeignInstrumentation((pool as { Client?: { prototype?: { query?: unknown } } }).Client?.prototype?.query);
    } catch {
      // an unreadable Client class: breakwater records the duration
    }
    return managedPoolQuery(this.runtime, pool, original, call, innerRecordsDuration);
  }

  private lastTop: unknown;
  private lastTopWrapsUs = false;

  /**
   * Whether another instrumentation wrapped `query` on top of breakwater (the official
   * pg instrumentation enabled after it). That one starts a CLIENT span for the call
   * without making it active, so breakwater cannot see it in the context: it finds its
   * own wrapper down the shimmer chain (`__original`) instead, and its attempt spans are
   * then INTERNAL, leaving one CLIENT span for the call.
   */
  private wrappedByOther(top: unknown, wrapper: QueryMethod): boolean {
    if (top === wrapper) return false;
    if (top === this.lastTop) return this.lastTopWrapsUs;
    let found = false;
    let current = top;
    for (let depth = 0; depth < 16 && typeof current === 'function'; depth++) {
      if (current === wrapper) {
        found = depth > 0;
        break;
      }
      current = (current as { __original?: unknown }).__original;
    }
    this.lastTop = top;
    this.lastTopWrapsUs = found;
    return found;
  }

  private wrapOnce(proto: Prototype, name: string, makeWrapper: (original: QueryMethod) => QueryMethod): void {
    const current = proto[name];
    if (typeof current !== 'function') return;
    if ((current as unknown as Record<symbol, unknown>)[OWNER] === this) return;
    // Already wrapped by this instance, with another instrumentation's wrapper on top since.
    if (this.patched.some((p) => p.proto === proto && p.name === name)) return;
    const ownWrapper = (below: QueryMethod): QueryMethod => {
      const wrapper = makeWrapper(below);
      Object.defineProperty(wrapper, OWNER, { value: this });
      Object.defineProperty(wrapper, WRAPPED, { value: below });
      Object.defineProperty(wrapper, 'length', { value: below.length });
      return wrapper;
    };
    const wrapper = ownWrapper(current as QueryMethod);
    proto[name] = wrapper;
    const layer = keepOutermost({ target: proto, name, installed: wrapper, original: current, wrap: ownWrapper });
    this.patched.push({ proto, name, original: current, wrapper, layer });
  }

  private unpatchAll(): void {
    for (const { proto, name, original, wrapper, layer } of this.patched.splice(0)) {
      layer.release();
      // Only when ours is on top; otherwise it stays, inert, under the other's wrapper.
      if (proto[name] === wrapper) proto[name] = original;
    }
  }

  /**
   * pg loaded before enable() (by the application before register ran, or by another
   * test) is not seen by the module hooks until required again: its prototypes are
   * patched from the require cache.
   */
  private patchPreloaded(): void {
    forEachLoadedModule((file, loaded) => {
      try {
        if (file.endsWith('/node_modules/pg/lib/index.js') && versionIn(file, '/lib/index.js', 8)) this.patchPg(commonJsExports(loaded.exports));
        else if (file.endsWith('/node_modules/pg-pool/index.js') && versionIn(file, '/index.js', 3)) this.patchPool(prototypeOf(loaded.exports));
      } catch {
        // an unreadable package: the module hooks still patch it when it is required again
      }
    });
  }
}

function versionIn(file: string, suffix: string, major: number): boolean {
  const dir = file.slice(0, -suffix.length);
  const version = (JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { version?: unknown }).version;
  return typeof version === 'string' && Number.parseInt(version, 10) === major;
}
