import type { Instrumentation } from '../src/config/index.js';
import type { AdapterFactory } from './kit/adapter.js';
import { createFetchAdapter } from './fetch/index.js';
import { createHttpAdapter } from './http/index.js';
import { createIoredisAdapter } from './ioredis/index.js';
import { createPgAdapter } from './pg/index.js';
import { createRedisAdapter } from './redis/index.js';

export type { Adapter, AdapterFactory } from './kit/adapter.js';

/** The adapter for each name BREAKWATER_INSTRUMENTATIONS accepts. */
export const ADAPTERS: Readonly<Record<Instrumentation, AdapterFactory>> = {
  http: createHttpAdapter,
  fetch: createFetchAdapter,
  pg: createPgAdapter,
  ioredis: createIoredisAdapter,
  redis: createRedisAdapter,
};
