import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';

// Placeholder until the http adapter lands: hooks nothing.
export function createHttpAdapter(_runtime: Runtime): Adapter {
  return { client: 'http', enable: () => {}, disable: () => {} };
}
