// A child process for the hedging tests: a Redis client (ioredis or node-redis, as argv[2]
// says) under a hedging breakwater reads until a read was hedged over its twin, then
// either quits (argv[3] `quit`) or stays connected with its own socket unref'd (`unref`),
// and prints `done`. The process must then exit by itself: the twin never keeps it alive.
// The server (the parent's fault proxy, stalling the client's own connection) and its
// password come in BW_REDIS (JSON).
import { createRequire } from 'node:module';
import type { Redis as IoredisClient } from 'ioredis';
import { createIoredisAdapter } from '../../instrumentations/ioredis/index.js';
import { createRedisAdapter } from '../../instrumentations/redis/index.js';
import { hedgingRuntime } from './hedging.js';

const require = createRequire(import.meta.url);
const [library, mode] = process.argv.slice(2) as ['ioredis' | 'redis', 'quit' | 'unref'];
const server = JSON.parse(process.env.BW_REDIS ?? '{}') as { host: string; port: number; password: string };
const runtime = hedgingRuntime(1);
const target = `redis://${server.host}:${server.port}/0`;
let hedged = false;
runtime.policyFor(target).on('hedge', () => (hedged = true));

/** Reads until one was hedged: the twin is open then. */
async function readUntilHedged(get: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20 && !hedged; i++) {
    await get();
  }
  if (!hedged) throw new Error('no read was hedged');
}

if (library === 'ioredis') {
  createIoredisAdapter(runtime).enable();
  const { Redis } = require('ioredis') as { Redis: new (options: object) => IoredisClient };
  const client = new Redis({ host: server.host, port: server.port, password: server.password });
  await readUntilHedged(() => client.get('bw:hedge:child'));
  if (mode === 'quit') await client.quit();
  else (client as unknown as { stream: { unref(): void } }).stream.unref();
} else {
  createRedisAdapter(runtime).enable();
  const { createClient } = require('redis') as typeof import('redis');
  const client = createClient({ url: `redis://:${server.password}@${server.host}:${server.port}` });
  client.on('error', () => {});
  await client.connect();
  await readUntilHedged(() => client.get('bw:hedge:child'));
  if (mode === 'quit') await client.quit();
  else client.unref();
}
console.log('done');
