import { context } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { EventEmitter } from 'node:events';

const ADD_METHODS = ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener'] as const;
const REMOVE_METHODS = ['off', 'removeListener'] as const;

type Listener = (...args: unknown[]) => unknown;
type Method = (this: EventEmitter, event: string | symbol, listener: Listener) => EventEmitter;

/**
 * Makes every listener added to `emitter` from now on run in `ctx`.
 *
 * Not `context.bind(ctx, emitter)`: the context manager binds an emitter once, and the
 * first binding wins. An official http instrumentation inside breakwater binds each
 * response to the context it sees, the attempt's (tracing suppressed), before
 * breakwater hands the response over; the caller's listeners would then run there and
 * their own calls pass through unprotected. These wrappers go on top of whatever is
 * installed, so the caller's context is the innermost one and wins. Removing a
 * listener still works with the function the caller added.
 */
export function bindListenersToContext(emitter: EventEmitter, ctx: Context): void {
  // event -> listener -> the bound function registered for it
  const bound = new Map<string | symbol, WeakMap<Listener, Listener>>();
  const target = emitter as unknown as Record<string, Method>;
  for (const name of ADD_METHODS) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = function (this: EventEmitter, event: string | symbol, listener: Listener): EventEmitter {
      if (typeof listener !== 'function') return original.call(this, event, listener);
      let byListener = bound.get(event);
      if (byListener === undefined) bound.set(event, (byListener = new WeakMap()));
      let wrapper = byListener.get(listener);
      if (wrapper === undefined) {
        wrapper = context.bind(ctx, listener);
        byListener.set(listener, wrapper);
      }
      return original.call(this, event, wrapper);
    };
  }
  for (const name of REMOVE_METHODS) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = function (this: EventEmitter, event: string | symbol, listener: Listener): EventEmitter {
      const wrapper = typeof listener === 'function' ? bound.get(event)?.get(listener) : undefined;
      return original.call(this, event, wrapper ?? listener);
    };
  }
}
