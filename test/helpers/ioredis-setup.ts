// Shared set-up of the ioredis adapter tests: a Runtime with small delays, the adapter
// enabled, ioredis loaded through require (so require-in-the-middle patches it), and a
// direct connection to the server for counting side effects.
import { createRequire } from 'node:module';
import { IORedisInstrumentation, type IORedisInstrumentationConfig } from '@opentelemetry/instrumentation-ioredis';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { createIoredisAdapter } from '../../instrumentations/ioredis/index.js';
import type { Adapter } from '../../instrumentations/kit/adapter.js';
import { isOurs } from '../../instrumentations/ioredis/layer.js';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { compatVersion, olderRedisMajors, requireCompat } from '../compat/modules.js';

const require = createRequire(import.meta.url);

export type RedisConstructor = new (options?: RedisOptions | string, more?: RedisOptions) => RedisClient;

export interface IoredisModule {
  Redis: RedisConstructor;
  default: RedisConstructor;
}

/** A major of ioredis the adapter supports, and how to load it. */
export interface IoredisVersion {
  /** `ioredis 5.11.1`. */
  readonly name: string;
  readonly version: string;
  load(): IoredisModule;
}

function ioredisVersion(version: string, load: () => IoredisModule): IoredisVersion {
  return { name: `ioredis ${version}`, version, load };
}

/** ioredis 6 (the project's own dependency) and ioredis 5 (test/compat/older, unless olderRedisMajors() says no): the adapter's tests run on both. */
export const IOREDIS_VERSIONS: readonly IoredisVersion[] = [
  ioredisVersion((require('ioredis/package.json') as { version: string }).version, () => require('ioredis') as IoredisModule),
  ...(olderRedisMajors() ? [olderIoredis()] : []),
];

/** ioredis 5 (test/compat/older), for a test about that major itself. */
export function olderIoredis(): IoredisVersion {
  return ioredisVersion(compatVersion('older', 'ioredis'), () => requireCompat<IoredisModule>('older', 'ioredis'));
}

/** Small delays so retries are quick; callers override any variable. */
export function testRuntime(env: Record<string, string> = {}): Runtime {
  return new Runtime(
    loadConfig({
      BREAKWATER_RETRY_BASE_DELAY_MS: '1',
      BREAKWATER_RETRY_MAX_DELAY_MS: '5',
      BREAKWATER_TIMEOUT_MS: '1000',
      BREAKWATER_BREAKER: 'off',
      BREAKWATER_RETRY_BUDGET_RATIO: '1',
      ...env,
    }),
  );
}

/**
 * Enables the adapter, then requires ioredis: patched by the require hook the first time,
 * by enable() itself when an earlier test file loaded it already.
 */
export function enableIoredis(runtime: Runtime, version: IoredisVersion = IOREDIS_VERSIONS[0]!): { adapter: Adapter; ioredis: IoredisModule } {
  const adapter = createIoredisAdapter(runtime);
  adapter.enable();
  const ioredis = version.load();
  if (!isOurs(ioredis.Redis.prototype.sendCommand)) throw new Error(`the ioredis adapter did not patch ${version.name}'s Redis.prototype.sendCommand`);
  return { adapter, ioredis };
}

/** A client with the test's defaults: no lazy connect, quick reconnects, errors swallowed (tests read them from calls). */
export function client(Redis: RedisConstructor, options: RedisOptions): RedisClient {
  const redis = new Redis({ retryStrategy: () => 20, maxRetriesPerRequest: null, ...options });
  redis.on('error', () => undefined);
  return redis;
}

export function waitReady(redis: RedisClient, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms (status ${redis.status})`)), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

let keyCounter = 0;
/** A key unique to this run. */
export function uniqueKey(prefix: string): string {
  return `bw:${prefix}:${process.pid}:${Date.now().toString(36)}:${keyCounter++}`;
}

/**
 * The official @opentelemetry/instrumentation-ioredis on the ioredis this process already
 * loaded (require-in-the-middle would not call its hook again for a cached module).
 */
export function enableOfficialIoredis(version: IoredisVersion, config: IORedisInstrumentationConfig = {}): IORedisInstrumentation {
  const official = new IORedisInstrumentation(config);
  const ioredis = version.load();
  const definition = (official as unknown as { _modules: Array<{ moduleExports?: unknown; patch(m: unknown, v?: string): unknown }> })._modules[0]!;
  if (definition.moduleExports === undefined) {
    definition.moduleExports = ioredis;
    definition.patch(ioredis, version.version);
  }
  return official;
}
