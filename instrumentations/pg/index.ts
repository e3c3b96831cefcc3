import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';

// Placeholder until the pg adapter lands: hooks nothing.
export function createPgAdapter(_runtime: Runtime): Adapter {
  return { client: 'pg', enable: () => {}, disable: () => {} };
}
