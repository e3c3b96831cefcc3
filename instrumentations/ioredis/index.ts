import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';

// Placeholder until the ioredis adapter lands: hooks nothing.
export function createIoredisAdapter(_runtime: Runtime): Adapter {
  return { client: 'ioredis', enable: () => {}, disable: () => {} };
}
