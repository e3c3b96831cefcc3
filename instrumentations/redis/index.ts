import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';

// Placeholder until the redis adapter lands: hooks nothing.
export function createRedisAdapter(_runtime: Runtime): Adapter {
  return { client: 'redis', enable: () => {}, disable: () => {} };
}
