// Puts a fault-injecting proxy between an ioredis client and the test server, and works
// out where a fault must start to hit the first command after the connection set-up.
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { startFaultProxy, type Fault, type FaultProxy } from './fault-proxy.js';
import { client, waitReady, type RedisConstructor } from './ioredis-setup.js';
import type { RedisServer } from '../integration/servers.js';

/**
 * Options of clients behind the proxy. RESP2 and no ready check make the set-up bytes the
 * same on every connection (AUTH and CLIENT SETINFO answered +OK; RESP3's HELLO reply
 * carries the connection id, whose length grows).
 */
export function proxiedOptions(proxy: FaultProxy, server: RedisServer, extra: RedisOptions = {}): RedisOptions {
  return { host: proxy.host, port: proxy.port, password: server.password, protocol: 2, enableReadyCheck: false, ...extra } as RedisOptions;
}

export interface Handshake {
  /** Bytes the client sends before its first command. */
  up: number;
  /** Bytes the server answers them with. */
  down: number;
}

/** Measures the connection set-up through a clean proxy. */
export async function measureHandshake(Redis: RedisConstructor, proxy: FaultProxy, server: RedisServer): Promise<Handshake> {
  await proxy.setFault({ kind: 'none' });
  const before = proxy.stats();
  const redis = client(Redis, proxiedOptions(proxy, server));
  await waitReady(redis);
  // CLIENT SETINFO replies come after 'ready' without a ready check: wait for them.
  await redis.ping();
  const after = proxy.stats();
  redis.disconnect();
  // PING is 14 bytes up (*1\r\n$4\r\nPING\r\n), +PONG\r\n 7 bytes down.
  return { up: after.bytesToUpstream - before.bytesToUpstream - 14, down: after.bytesToClient - before.bytesToClient - 7 };
}

/**
 * A client whose first connection carries `fault` (and whose reconnections do not): the
 * fault is set, the client connects and is ready, then the proxy is clean again for
 * later connections.
 */
export async function clientWithFirstConnectionFault(
  Redis: RedisConstructor,
  proxy: FaultProxy,
  server: RedisServer,
  fault: Fault,
  extra: RedisOptions = {},
): Promise<RedisClient> {
  await proxy.setFault(fault);
  const redis = client(Redis, proxiedOptions(proxy, server, extra));
  try {
    await waitReady(redis);
  } catch (error) {
    redis.disconnect(); // a client left reconnecting would keep the test process alive
    throw error;
  }
  await proxy.setFault({ kind: 'none' });
  return redis;
}

export async function newProxy(server: RedisServer): Promise<FaultProxy> {
  return startFaultProxy({ host: server.host, port: server.port });
}

export { eventually } from './eventually.js';
