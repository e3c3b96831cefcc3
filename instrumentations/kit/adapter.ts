import type { Instrumentation } from '../../src/config/index.js';
import type { Runtime } from '../../src/runtime/runtime.js';

/**
 * One client's instrumentation, as register drives it: `enable` hooks the client
 * (patching it if already loaded, or when it is first required or imported), `disable`
 * restores the original methods.
 */
export interface Adapter {
  readonly client: Instrumentation;
  enable(): void;
  disable(): void;
}

export type AdapterFactory = (runtime: Runtime) => Adapter;
