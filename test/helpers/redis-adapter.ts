// Shared set-up for the node-redis adapter tests: a Runtime with small delays, the
// adapter enabled, and node-redis loaded after it (so require-in-the-middle patches
// it; a copy loaded earlier is patched from the require cache).
import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createRequire } from 'node:module';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { createRedisAdapter } from '../../instrumentations/redis/index.js';
import type { Adapter } from '../../instrumentations/kit/adapter.js';
import { compatVersion, olderRedisMajors, requireCompat } from '../compat/modules.js';

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

/** A major of node-redis the adapter supports, and how to load it. */
export interface NodeRedisVersion {
  /** `node-redis 5.8.2`. */
  readonly name: string;
  readonly major: number;
  load(): NodeRedis;
}

/**
 * node-redis 5 (the project's own dependency) and node-redis 4 (test/compat/older, unless olderRedisMajors() says no;
 * `@redis/client` 1.x, whose internals differ). v4's API is close enough to v5's for
 * what the shared tests call that one type serves both.
 */
export const NODE_REDIS_VERSIONS: readonly NodeRedisVersion[] = [
  nodeRedisVersion((require('redis/package.json') as { version: string }).version, () => require('redis') as NodeRedis),
  ...(olderRedisMajors() ? [nodeRedisVersion(compatVersion('older', 'redis'), () => requireCompat<NodeRedis>('older', 'redis'))] : []),
];

function nodeRedisVersion(version: string, load: () => NodeRedis): NodeRedisVersion {
  return { name: `node-redis ${version}`, major: Number.parseInt(version, 10), load };
}

export interface RedisAdapterSetup {
  runtime: Runtime;
  adapter: Adapter;
  redis: NodeRedis;
}

export function enableRedisAdapter(env: Record<string, string> = {}, version: NodeRedisVersion = NODE_REDIS_VERSIONS[0]!): RedisAdapterSetup {
  const runtime = new Runtime(loadConfig({ ...FAST_RETRIES, ...env }));
  const adapter = createRedisAdapter(runtime);
  adapter.enable();
  const redis = version.load();
  return { runtime, adapter, redis };
}

/** A connected client; node-redis emits 'error' on every lost connection, which must have a listener. */
export async function connectedClient(redis: NodeRedis, options: Parameters<NodeRedis['createClient']>[0]): Promise<RedisClient> {
  const client = redis.createClient(options);
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * Ends a client whatever state it is in (node-redis 4 has disconnect() where 5 has
 * destroy()). Resolves once it is closed; rejects when node-redis 4 cannot close it
 * (its queue corrupt, say), which would leave it reconnecting for ever.
 */
export async function dropClient(client: RedisClient | undefined): Promise<void> {
  if (client === undefined) return;
  const v4 = client as unknown as { destroy?: unknown; disconnect(): Promise<void> };
  if (typeof v4.destroy === 'function') {
    try {
      client.destroy();
    } catch {
      // already closed
    }
    return;
  }
  try {
    await v4.disconnect();
  } catch (error) {
    if ((error as Error)?.constructor?.name !== 'ClientClosedError') throw error;
  }
}

/**
 * Runs `fn` as one caller's request, under a span of its own: with one span per attempt
 * and no call span, the attempts of calls made side by side are told apart by their
 * parent, the caller's span.
 */
export function asCaller<T>(fn: () => Promise<T>): Promise<T> {
  return trace.getTracer('test-caller').startActiveSpan('caller', (span) => fn().finally(() => span.end()));
}

/** One logical call as its spans: attempts (and a rejection) in order, and the last, which says how the call ended. */
export interface LogicalCall {
  readonly attempts: ReadableSpan[];
  readonly last: ReadableSpan;
}

/**
 * breakwater's node-redis calls: spans with a parent (the caller's span) grouped by it,
 * root spans (a caller without a span) by their numbering, attempt 1 starting a call
 * (so for calls made one after the other).
 */
export function logicalCalls(spans: readonly ReadableSpan[]): LogicalCall[] {
  const byParent = new Map<string, ReadableSpan[]>();
  const roots: ReadableSpan[][] = [];
  for (const span of spans) {
    if (span.instrumentationScope.name !== 'breakwater' || span.attributes['resilience.client'] !== 'redis') continue;
    if (typeof span.attributes['resilience.attempt'] !== 'number') continue;
    const parent = span.parentSpanContext?.spanId;
    if (parent !== undefined) {
      const group = byParent.get(parent) ?? [];
      group.push(span);
      byParent.set(parent, group);
    } else if (span.attributes['resilience.attempt'] === 1 || roots.length === 0) roots.push([span]);
    else roots.at(-1)!.push(span);
  }
  return [...byParent.values(), ...roots].map((group) => {
    const attempts = group.sort((a, b) => (a.attributes['resilience.attempt'] as number) - (b.attributes['resilience.attempt'] as number));
    return { attempts, last: attempts.at(-1)! };
  });
}

/** No INTERNAL call span: opt-in only (BREAKWATER_CALL_SPANS). */
export function internalCallSpans(spans: readonly ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.instrumentationScope.name === 'breakwater' && s.kind === SpanKind.INTERNAL && s.attributes['db.system.name'] === undefined && s.name !== 'resilience.rejected');
}
