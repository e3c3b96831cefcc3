import { fleetService } from './keys.js';
import type { RespArg, RespValue } from './resp.js';

/**
 * The fleet's breakers as Redis holds them, for an operator (`npx breakwater fleet`):
 * which dependencies the whole service is holding open, for how long, read from a process
 * that takes no part in the fleet. Read-only: SCAN for the service's breaker hashes on
 * every node, then one HMGET per hash. Bounded: at most `limit` breakers are read.
 */
export interface FleetBreakerRecord {
  /** The target's key as the instances name it (breaker-script.ts `tg`); `#<hash>` for a hash written without it. */
  readonly target: string;
  readonly state: 'closed' | 'open' | 'half_open';
  /** Until the open period ends, by Redis's clock (ms); 0 when closed or probing. */
  readonly remainingMs: number;
  /** Openings since the last close: the open period doubles with each. */
  readonly opens: number;
  readonly epoch: number;
}

export interface FleetBreakers {
  readonly breakers: FleetBreakerRecord[];
  /** More breakers than `limit` exist; the rest were not read. */
  readonly truncated: boolean;
}

type Command = (args: readonly RespArg[], timeoutMs: number) => Promise<RespValue>;

export interface FleetBreakersSource {
  /** Runs a command on the node that serves its key (any node for a keyless one). */
  readonly command: Command;
  /** One command runner per node that holds keys: SCAN must visit each. */
  readonly nodes: readonly Command[];
}

const SCAN_COUNT = 500;
const DEFAULT_LIMIT = 1000;

export async function readFleetBreakers(source: FleetBreakersSource, service: string, timeoutMs: number, limit = DEFAULT_LIMIT): Promise<FleetBreakers> {
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  // Keys are `bw:{<service>:<hash>}:breaker` (keys.ts); the service name holds no glob characters.
  const pattern = `bw:{${fleetService(service)}:*}:breaker`;
  const keys: string[] = [];
  let truncated = false;
  for (const node of source.nodes) {
    let cursor = '0';
    do {
      const reply = await node(['SCAN', cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT], left());
      if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) throw new Error('SCAN answered something other than [cursor, keys]');
      cursor = String(reply[0]);
      for (const key of reply[1]) {
        if (keys.length < limit) keys.push(String(key));
        else truncated = true;
      }
    } while (cursor !== '0' && !truncated);
    if (truncated) break;
  }
  const now = redisMs(await source.command(['TIME'], left()));
  const breakers: FleetBreakerRecord[] = [];
  for (const key of keys) {
    const record = breakerRecord(key, await source.command(['HMGET', key, 'st', 'un', 'op', 'ep', 'tg'], left()), now);
    if (record !== undefined) breakers.push(record);
  }
  breakers.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  return { breakers, truncated };
}

/** One hash's fields as a record; undefined for a hash that expired between SCAN and HMGET. */
function breakerRecord(key: string, reply: RespValue, now: number): FleetBreakerRecord | undefined {
  if (!Array.isArray(reply) || reply[0] === null || reply[0] === undefined) return undefined;
  const [st, un, op, ep, tg] = reply.map((field) => (field === null ? undefined : String(field)));
  const until = Number(un ?? 0);
  const open = st === '1';
  return {
    target: tg ?? `#${/\{[^:]*:([0-9a-f]+)\}/.exec(key)?.[1] ?? key}`,
    state: !open ? 'closed' : until > now ? 'open' : 'half_open',
    remainingMs: open ? Math.max(0, until - now) : 0,
    opens: Number(op ?? 0),
    epoch: Number(ep ?? 0),
  };
}

/** TIME's answer in ms: the clock the breaker script keeps its open periods by (lua-lib.ts). */
function redisMs(time: RespValue): number {
  return Array.isArray(time) ? Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000) : Date.now();
}
