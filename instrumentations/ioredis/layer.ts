/**
 * Wrapping a method so that other instrumentations can stack around it in either order.
 *
 * shimmer (what InstrumentationBase's `_wrap` uses) marks a wrapper with `__wrapped`, and
 * both `_wrap` and the official @opentelemetry/instrumentation-ioredis *unwrap* a marked
 * method before wrapping it. With shimmer, enabling the official instrumentation after
 * breakwater would silently remove breakwater (and breakwater enabled second would remove
 * the official one). This layer carries no shimmer marks, so whoever comes later wraps
 * it like the plain method it looks like. Removing it when someone else has wrapped it
 * since is impossible (they hold a reference), so it is switched off instead and then
 * only forwards to the method it wrapped.
 */
const LAYER = Symbol('breakwater.layer');

interface Layered {
  [LAYER]?: { original: Function; active: boolean };
}

/** Installs a layer of ours over `target[name]`; returns it, or undefined when there was nothing to wrap or ours is there already. */
export function wrapMethod<T extends object>(target: T, name: keyof T & string, makeWrapper: LayerFactory): Function | undefined {
  const original = target[name] as unknown;
  if (typeof original !== 'function') return undefined;
  if (isOurs(original)) return undefined; // already wrapped by an active layer of ours
  const wrapper = makeLayer(original, makeWrapper);
  Object.defineProperty(target, name, { value: wrapper, writable: true, configurable: true, enumerable: false });
  return wrapper;
}

export type LayerFactory = (original: Function, isActive: () => boolean) => Function;

/** A layer of ours around `original`, not installed (kit/outermost.ts installs one over another's wrapper). */
export function makeLayer(original: Function, makeWrapper: LayerFactory): Function {
  const state = { original, active: true };
  const wrapper = makeWrapper(original, () => state.active) as Function & Layered;
  Object.defineProperty(wrapper, LAYER, { value: state });
  Object.defineProperty(wrapper, 'length', { value: original.length });
  return wrapper;
}

export function unwrapMethod<T extends object>(target: T, name: keyof T & string): void {
  const current = target[name] as (Function & Layered) | undefined;
  if (typeof current === 'function' && current[LAYER]?.active === true) {
    current[LAYER].active = false;
    Object.defineProperty(target, name, { value: current[LAYER].original, writable: true, configurable: true, enumerable: false });
    return;
  }
  // Someone wrapped over our layer: switch every active layer of ours in the chain off.
  let fn: unknown = current;
  for (let depth = 0; typeof fn === 'function' && depth < 16; depth++) {
    const state = (fn as Layered)[LAYER];
    if (state !== undefined) state.active = false;
    fn = state?.original ?? (fn as { __original?: unknown }).__original;
  }
}

/** Whether `fn` is an active layer of ours, or an active layer of ours is under it. */
export function isOurs(fn: unknown): boolean {
  for (let depth = 0; typeof fn === 'function' && depth < 16; depth++) {
    const state = (fn as Layered)[LAYER];
    if (state?.active === true) return true;
    fn = state?.original ?? (fn as { __original?: unknown }).__original;
  }
  return false;
}
