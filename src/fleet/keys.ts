import { createHash } from 'node:crypto';

/**
 * Redis keys of fleet mode: `bw:{<service>:<target-hash>}:<kind>`.
 *
 * - Per service, so two services sharing a Redis never share a quota or a breaker.
 * - The braces are a Redis Cluster hash tag: every key of one target (rate, breaker,
 *   retry budget) hashes to one slot, so one script can touch several of them and a
 *   Cluster works; different targets spread over the slots.
 * - The target key (`https://api.example.com:443`, target-key.ts) is hashed: keys stay
 *   short and of bounded length, and hold no host name for whoever lists the keys.
 * - The service name is kept readable but restricted to `A-Z a-z 0-9 . _ -` (anything
 *   else, braces included, becomes `_`) and 64 characters, so it can never end the hash
 *   tag early or make keys unbounded.
 */
export type FleetKeyKind = 'rate' | 'breaker' | 'budget';

const SERVICE_MAX = 64;
/** 64 bits of SHA-256: collisions between a service's targets are out of reach. */
const HASH_HEX = 16;

export function fleetService(service: string): string {
  const clean = String(service).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, SERVICE_MAX);
  return clean === '' ? 'unknown_service' : clean;
}

export function targetHash(target: string): string {
  return createHash('sha256').update(target, 'utf8').digest('hex').slice(0, HASH_HEX);
}

export function fleetKey(service: string, target: string, kind: FleetKeyKind): string {
  return `bw:{${fleetService(service)}:${targetHash(target)}}:${kind}`;
}
