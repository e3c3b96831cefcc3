import type { TwinDriver } from '../kit/hedge-twins.js';
import type { IoredisClient } from './types.js';
import { targetOf } from './utils.js';

/**
 * An ioredis client's hedge twin (instrumentations/kit/hedge-twins.ts): `duplicate()`
 * with the client's own options, except that it connects at once, never reconnects,
 * fails a command at once while not connected (no offline queue, so a hedge can never
 * wait there for a later connection), never re-sends one after a reconnect, and its
 * socket is unref'd.
 */
const TWIN_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  lazyConnect: false,
  enableOfflineQueue: false,
  retryStrategy: () => null,
  reconnectOnError: () => false,
  autoResendUnfulfilledCommands: false,
  autoResubscribe: false,
  monitor: false,
});

function ignore(): void {}

export const ioredisTwins: TwinDriver<IoredisClient, IoredisClient> = {
  targetOf,
  mayHedge: (client) => typeof client.duplicate === 'function' && client.options?.monitor !== true,
  canOpen(client) {
    const condition = client.condition;
    if (client.status !== 'ready' || !condition) return false;
    // Not subscribed, and still on the database its options name (a SELECT since stops
    // hedging: ../redis/hedging.ts changesSession).
    return !condition.subscriber && (condition.select ?? 0) === (client.options?.db ?? 0);
  },
  open(client) {
    const twin = client.duplicate!({ ...TWIN_OPTIONS });
    twin.on?.('error', ignore);
    twin.on?.('connect', () => twin.stream?.unref?.());
    return twin;
  },
  isReady: (twin) => twin.status === 'ready',
  isClosed: (twin) => twin.status === 'end',
  close: (twin) => twin.disconnect?.(),
  onClientClosed(client, listener) {
    client.once?.('end', listener);
    return () => client.removeListener?.('end', listener);
  },
};
