import { parseRedisUrl, type RedisEndpoint } from '../fleet/redis-url.js';
import type { Entry, Layer } from './merge.js';
import type { EffectiveConfig, ResolvedFleet, ResolvedPolicy } from './types.js';

/**
 * Fleet mode's part of the configuration (docs/fleet-setup.md): a Redis URL makes fleet
 * mode available, and each policy opts in (`fleet: true`, BREAKWATER_FLEET=true for the
 * defaults); the URL alone turns nothing on.
 *
 * The URL is read into a RedisEndpoint whose credentials live outside it
 * (src/fleet/redis-url.ts). The effective configuration is printed (`npx breakwater
 * config`), so it holds only the URL without them; the endpoint is kept beside it, for
 * the runtime's client alone (fleetEndpoint).
 */

/** The service name's last resort, as OpenTelemetry names the service. */
export const OTEL_SERVICE_VARIABLE = 'OTEL_SERVICE_NAME';

const URL_VARIABLE = 'BREAKWATER_FLEET_REDIS_URL';
const SERVICE_VARIABLE = 'BREAKWATER_FLEET_SERVICE';

/** A resolved policy with the entry that decided its `fleet` value (for messages). */
export interface PolicyFleetChoice {
  readonly policy: ResolvedPolicy;
  readonly fleet: Entry;
}

export interface FleetResolution {
  readonly fleet: ResolvedFleet | false;
  readonly endpoint: RedisEndpoint | undefined;
  /** The origin of the service name when it came from OTEL_SERVICE_NAME. */
  readonly serviceOrigin?: string;
}

/**
 * Fleet mode from the merged top-level values and the resolved policies. Problems: a
 * policy asks for the fleet with no Redis configured (named once per value that asked,
 * however many policies inherit it), and a Redis with no service name to namespace its
 * keys (a default such as `default` would let two services sharing a Redis share their
 * quotas without a word).
 */
export function resolveFleet(top: Layer, policies: readonly PolicyFleetChoice[], otelServiceName: string | undefined, problems: string[]): FleetResolution {
  const url = top.values.get('fleet.redisUrl')!;
  const endpoint = typeof url.value === 'object' && url.value !== null ? (url.value as RedisEndpoint) : undefined;
  if (endpoint === undefined) {
    // A rejected URL is reported already; a fleet asked for on top of it says nothing new.
    if (!top.invalid.has('fleet.redisUrl')) {
      const blamed = new Set<Entry>();
      for (const { policy, fleet } of policies) {
        if (!policy.fleet || blamed.has(fleet)) continue;
        blamed.add(fleet);
        problems.push(`${fleet.blame} is not accepted without a Redis for the fleet: set ${URL_VARIABLE} (fleet.redisUrl in the file)`);
      }
    }
    return { fleet: false, endpoint: undefined };
  }
  const serviceEntry = top.values.get('fleet.service')!;
  let service = serviceEntry.value as string;
  let serviceOrigin: string | undefined;
  if (service === '' && otelServiceName !== undefined && otelServiceName.trim() !== '') {
    service = otelServiceName.trim();
    serviceOrigin = OTEL_SERVICE_VARIABLE;
  }
  if (service === '' && !top.invalid.has('fleet.service')) {
    problems.push(
      `${url.blame} is not accepted without a service name: set ${SERVICE_VARIABLE} (fleet.service in the file) or ${OTEL_SERVICE_VARIABLE}; ` +
        'it namespaces the fleet\'s keys in Redis, so that two services sharing one Redis never share a quota',
    );
  }
  const cluster = top.values.get('fleet.redisCluster')!;
  if (cluster.value === true && endpoint.db !== 0) {
    problems.push(`${cluster.blame} is not accepted with database ${endpoint.db} in ${url.blame}: a Redis Cluster has database 0 only`);
  }
  const fleet: ResolvedFleet = {
    redisUrl: endpoint.describe(),
    redisCluster: cluster.value as boolean,
    service,
    expectedInstances: top.values.get('fleet.expectedInstances')!.value as number,
    syncMs: top.values.get('fleet.syncMs')!.value as number,
    policies: policies.filter((p) => p.policy.fleet).map((p) => p.policy.name),
  };
  return serviceOrigin === undefined ? { fleet, endpoint } : { fleet, endpoint, serviceOrigin };
}

const endpoints = new WeakMap<EffectiveConfig, RedisEndpoint>();

/** Keeps a loaded configuration's endpoint (credentials included) beside it. */
export function rememberEndpoint(config: EffectiveConfig, endpoint: RedisEndpoint | undefined): void {
  if (endpoint !== undefined) endpoints.set(config, endpoint);
}

/**
 * Where the fleet's Redis is, credentials included (for the client's AUTH only), or
 * undefined without fleet mode. A configuration not made by loadConfig (written by hand)
 * has only the printed URL: its endpoint is read from that, without credentials.
 */
export function fleetEndpoint(config: EffectiveConfig): RedisEndpoint | undefined {
  if (config.fleet === false) return undefined;
  return endpoints.get(config) ?? parseRedisUrl(config.fleet.redisUrl);
}
