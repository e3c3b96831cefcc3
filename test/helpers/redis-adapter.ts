// Shared set-up for the node-redis adapter tests: a Runtime with small delays, the
// adapter enabled, and node-redis loaded after it (so require-in-the-middle patches
// it; a copy loaded earlier is patched from the require cache).
import { createRequire } from 'node:module';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { createRedisAdapter } from '../../instrumentations/redis/index.js';
import type { Adapter } from '../../instrumentations/kit/adapter.js';

const require = createRequire(import.meta.url);

export type NodeRedis = typeof import('redis');
export type RedisClient = ReturnType<NodeRedis['createClient']>;

export const FAST_RETRIES: Record<string, string> = {
  BREAKWATER_RETRY_MAX_ATTEMPTS: '3',
  BREAKWATER_RETRY_BASE_DELAY_MS: '1',
  BREAKWATER_RETRY_MAX_DELAY_MS: '5',
  BREAKWATER_TIMEOUT_MS: '300',
  BREAKWATER_DEADLINE_MS: '5000',
  BREAKWATER_BREAKER: 'off',
};

export interface RedisAdapterSetup {
  runtime: Runtime;
  adapter: Adapter;
  redis: NodeRedis;
}

export function enableRedisAdapter(env: Record<string, string> = {}): RedisAdapterSetup {
  const runtime = new Runtime(loadConfig({ ...FAST_RETRIES, ...env }));
  const adapter = createRedisAdapter(runtime);
  adapter.enable();
  const redis = require('redis') as NodeRedis;
  return { runtime, adapter, redis };
}

/** A connected client; node-redis emits 'error' on every lost connection, which must have a listener. */
export async function connectedClient(redis: NodeRedis, options: Parameters<NodeRedis['createClient']>[0]): Promise<RedisClient> {
  const client = redis.createClient(options);
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Ends a client whatever state it is in. */
export function dropClient(client: RedisClient | undefined): void {
  if (client === undefined) return;
  try {
    client.destroy();
  } catch {
    // already closed
  }
}
