import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';

// Placeholder until the fetch adapter lands: hooks nothing.
export function createFetchAdapter(_runtime: Runtime): Adapter {
  return { client: 'fetch', enable: () => {}, disable: () => {} };
}
