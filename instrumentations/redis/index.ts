import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { RedisClientInstrumentation } from './instrumentation.js';

/** node-redis (`redis` 5 and 6, `@redis/client`): commands, MULTI and pipelines (docs/adapters/redis.md). */
export function createRedisAdapter(runtime: Runtime): Adapter {
  const instrumentation = new RedisClientInstrumentation(runtime);
  return {
    client: 'redis',
    enable: () => instrumentation.enable(),
    disable: () => instrumentation.disable(),
  };
}
