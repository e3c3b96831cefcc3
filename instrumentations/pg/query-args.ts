import { isSubmittable } from './utils.js';

/** A user's callback as pg calls it. */
export type QueryCallback = (error: unknown, result?: unknown) => void;

/**
 * One query call with its callback taken out, so that each attempt can run pg's promise
 * form (which gives failures the stack pg gives them) and breakwater calls the caller's
 * callback once, at the end.
 */
export interface QueryCall {
  /** The SQL text or query config, without a `callback` property. */
  readonly config: unknown;
  /** The parameter values (never a function). */
  readonly values: unknown;
  readonly callback: QueryCallback | undefined;
}

function readCallback(config: unknown): unknown {
  try {
    return typeof config === 'object' && config !== null ? (config as { callback?: unknown }).callback : undefined;
  } catch {
    return undefined;
  }
}

/** A copy of a query config without its callback, made the way pg copies configs (prototype and accessors kept). */
function withoutCallback(config: object): object {
  const copy = Object.defineProperties(Object.create(Object.getPrototypeOf(config) as object | null) as object, Object.getOwnPropertyDescriptors(config));
  Object.defineProperty(copy, 'callback', { value: undefined, writable: true, enumerable: false, configurable: true });
  return copy;
}

/**
 * `client.query(config, values, callback)` read as pg reads it: the callback argument
 * wins, then a function in place of `values`, then `config.callback`. Undefined for the
 * calls pg handles specially (no config, a Submittable, a callback that is not a
 * function): those go to pg exactly as given.
 */
export function clientQueryCall(config: unknown, values: unknown, callback: unknown): QueryCall | undefined {
  if (typeof config !== 'string' && (typeof config !== 'object' || config === null)) return undefined;
  if (isSubmittable(config)) return undefined;
  const configCallback = readCallback(config);
  const chosen = callback ? callback : typeof values === 'function' ? values : configCallback ? configCallback : undefined;
  if (chosen !== undefined && typeof chosen !== 'function') return undefined;
  return {
    config: configCallback !== undefined && configCallback !== null ? withoutCallback(config as object) : config,
    values: typeof values === 'function' ? undefined : values,
    callback: chosen as QueryCallback | undefined,
  };
}

/**
 * `pool.query(text, values, callback)` read as pg-pool reads it: a function in place of
 * `values` is the callback; a `callback` inside the config is ignored (pg-pool's own
 * callback overrides it). Undefined for what pg-pool handles specially (a function
 * first, no config, a Submittable, a callback that is not a function).
 */
export function poolQueryCall(config: unknown, values: unknown, callback: unknown): QueryCall | undefined {
  if (typeof config !== 'string' && (typeof config !== 'object' || config === null)) return undefined;
  if (isSubmittable(config)) return undefined;
  const chosen = typeof values === 'function' ? values : callback ? callback : undefined;
  if (chosen !== undefined && typeof chosen !== 'function') return undefined;
  const configCallback = readCallback(config);
  return {
    config: configCallback !== undefined && configCallback !== null ? withoutCallback(config as object) : config,
    values: typeof values === 'function' ? undefined : values,
    callback: chosen as QueryCallback | undefined,
  };
}
