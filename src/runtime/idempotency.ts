import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The caller's word that the calls made inside `fn` are safe to run twice (a pg
 * statement or Redis command the adapters would otherwise send once): design.md
 * section 3's "marked idempotent". Kept in an AsyncLocalStorage of our own, not the
 * OpenTelemetry context, so it works with no SDK registered; on globalThis so the ESM
 * and CommonJS copies of the package share it.
 *
 *     await idempotent(() => client.query('INSERT ... ON CONFLICT DO NOTHING'))
 */
const STORE = Symbol.for('breakwater.idempotency');

type Holder = { [STORE]?: AsyncLocalStorage<boolean> };

function storage(): AsyncLocalStorage<boolean> {
  const holder = globalThis as Holder;
  return (holder[STORE] ??= new AsyncLocalStorage<boolean>());
}

/** Runs `fn` with its calls marked idempotent (`true`) or explicitly not (`false`). */
export function idempotent<T>(fn: () => T, marked = true): T {
  return storage().run(marked, fn);
}

/** The mark in effect for the current call: true, false, or undefined when none was given. */
export function idempotencyMark(): boolean | undefined {
  return storage().getStore();
}
