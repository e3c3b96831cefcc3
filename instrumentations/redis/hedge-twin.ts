import type { TwinDriver } from '../kit/hedge-twins.js';
import { connectionOf } from './utils.js';

/** The parts of a node-redis client (4, 5 and 6) a hedge twin needs. */
export interface NodeRedisSession {
  readonly options?: { socket?: object; clientSideCache?: unknown; legacyMode?: unknown } & Record<string, unknown>;
  readonly isOpen?: boolean;
  readonly isReady?: boolean;
  readonly select?: unknown;
  duplicate?(overrides: Record<string, unknown>): NodeRedisSession;
  connect?(): Promise<unknown>;
  unref?(): void;
  destroy?(): void;
  disconnect?(): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
  once?(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: string, listener: (...args: unknown[]) => void): unknown;
}

function ignore(): void {}

/**
 * Whether `select` is still the prototype's SELECT: node-redis 4 copies it onto each
 * client when built, so a client built before breakwater wrapped SELECT would change its
 * database unseen (../redis/hedging.ts changesSession). Such a client is not hedged.
 */
function selectIsSeen(client: NodeRedisSession): boolean {
  const own = client.select;
  return own === undefined || own === (Object.getPrototypeOf(client) as { SELECT?: unknown } | null)?.SELECT;
}

/**
 * A node-redis client's hedge twin (instrumentations/kit/hedge-twins.ts): `duplicate()`
 * with the client's own options, except that it never reconnects, rejects a command at
 * once while not ready (no offline queue, so a hedge can never wait there for a later
 * connection), and is unref'd. Not for a client with client-side caching, whose cache is
 * invalidated for the keys read on its own connection only, nor in legacy mode (node-redis
 * 4's callback API, sent on the client's own connection).
 */
export const nodeRedisTwins: TwinDriver<NodeRedisSession, NodeRedisSession> = {
  targetOf: (client) => connectionOf(client.options).target,
  mayHedge(client) {
    const options = client.options;
    return typeof client.duplicate === 'function' && options !== undefined && !options.clientSideCache && options.legacyMode !== true && selectIsSeen(client);
  },
  canOpen: (client) => client.isReady === true,
  open(client) {
    const socket = client.options?.socket;
    const twin = client.duplicate!({
      socket: { ...(typeof socket === 'object' && socket !== null ? socket : {}), reconnectStrategy: false },
      disableOfflineQueue: true,
    });
    twin.on?.('error', ignore);
    twin.unref?.();
    twin.connect?.().catch(ignore);
    return twin;
  },
  isReady: (twin) => twin.isReady === true,
  isClosed: (twin) => twin.isOpen !== true,
  close(twin) {
    if (typeof twin.destroy === 'function') twin.destroy();
    else twin.disconnect?.().catch(ignore); // node-redis 4
  },
  onClientClosed(client, listener) {
    client.once?.('end', listener);
    return () => client.removeListener?.('end', listener);
  },
};
