import type { ResolvedFleet } from '../config/types.js';
import type { FleetConnection, FleetConnectionStatus, FleetTargetStatus } from './fleet.js';
import type { RedisEndpoint } from './redis-url.js';
import { ClusterClient } from './cluster-client.js';
import { readFleetBreakers, type FleetBreakerRecord } from './fleet-breakers.js';
import { RespClient } from './resp-client.js';

/**
 * Fleet mode as an operator sees it, from the status endpoint (a running process's
 * connection) or `npx breakwater fleet` (a connection tried there and then). Nothing in
 * it holds the URL's credentials.
 */
export interface FleetStatus {
  /** `redis://host:port/db`: never the URL's user name or password. */
  redis: string;
  service: string;
  expectedInstances: number;
  /** The policies in fleet mode. */
  policies: string[];
  /** `unused` when no policy is in fleet mode (nothing dials Redis). */
  connection: FleetConnection | 'unused';
  since?: string;
  lastError?: string;
  /** What is shared per target in fleet mode. */
  shared: readonly string[];
  /** A running process's targets: their breaker's and budget's view (`fleet` or `local`) and the fleet's state as last heard. */
  targets?: FleetTargetStatus[];
  /** `npx breakwater fleet`: the service's breakers as Redis holds them. */
  breakers?: FleetBreakerRecord[];
  /** More breakers than were read (fleet-breakers.ts). */
  breakersTruncated?: boolean;
  /** Why the breakers could not be listed, though Redis answered. */
  breakersError?: string;
}

export type FleetProbe = FleetConnectionStatus & { readonly breakers?: FleetBreakerRecord[]; readonly breakersTruncated?: boolean; readonly breakersError?: string };

/** The parts of a fleet-mode policy's state the fleet shares (the rate only when the policy sets one). */
const SHARED = ['rate', 'breaker', 'budget'] as const;

export function fleetStatus(fleet: ResolvedFleet, connection: FleetProbe | undefined, targets?: FleetTargetStatus[]): FleetStatus {
  const base = { redis: fleet.redisUrl, service: fleet.service, expectedInstances: fleet.expectedInstances, policies: [...fleet.policies], shared: SHARED };
  const withTargets = targets === undefined ? base : { ...base, targets };
  return connection === undefined ? { ...withTargets, connection: 'unused' } : { ...withTargets, ...connection };
}

/**
 * Dials the fleet's Redis (AUTH, SELECT, PING; a Cluster's slot map first) within
 * `timeoutMs`: up, or down and why. With `service`, also reads that service's breakers.
 */
export async function probeConnection(endpoint: RedisEndpoint, timeoutMs: number, cluster = false, service?: string): Promise<FleetProbe> {
  const client = cluster ? new ClusterClient(endpoint, { connectTimeoutMs: timeoutMs }) : new RespClient(endpoint, { connectTimeoutMs: timeoutMs });
  // The client never holds the process up; someone waits for this answer (the CLI), so this does.
  const hold = setTimeout(() => undefined, timeoutMs + 1000);
  try {
    const started = Date.now();
    await client.command(['PING'], timeoutMs);
    if (service === undefined) return { connection: 'up' };
    const command = client.command.bind(client);
    const nodes = client instanceof ClusterClient ? client.masterClients().map((node) => node.command.bind(node)) : [command];
    try {
      const { breakers, truncated } = await readFleetBreakers({ command, nodes }, service, Math.max(1, timeoutMs - (Date.now() - started)));
      return { connection: 'up', breakers, ...(truncated ? { breakersTruncated: true } : {}) };
    } catch (error) {
      // Redis answers; only the listing failed (an ACL without SCAN, a slow node): say so.
      return { connection: 'up', breakersError: (error as Error).message };
    }
  } catch (error) {
    return { connection: 'down', lastError: client.lastError !== '' ? client.lastError : (error as Error).message };
  } finally {
    clearTimeout(hold);
    await client.close();
  }
}
