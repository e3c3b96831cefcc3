import type { Runtime } from './runtime.js';

/**
 * The process's one runtime lives on globalThis under a registry symbol, not in a module
 * variable: `breakwater/register` is the CommonJS build, and an ESM application that
 * imports `breakwater` loads a second copy of the modules. Both must see one runtime.
 */
const RUNTIME = Symbol.for('breakwater.runtime');

type Holder = { [RUNTIME]?: Runtime };

export function currentRuntime(): Runtime | undefined {
  return (globalThis as Holder)[RUNTIME];
}

export function installRuntime(runtime: Runtime | undefined): void {
  if (runtime === undefined) delete (globalThis as Holder)[RUNTIME];
  else (globalThis as Holder)[RUNTIME] = runtime;
}
