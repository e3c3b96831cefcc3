import type { HedgeTwins } from '../kit/hedge-twins.js';
import { redisCommandKind } from './replay.js';

/**
 * Which Redis commands (ioredis and node-redis) may be hedged: sent a second time, over
 * the client's hedge twin (instrumentations/kit/hedge-twins.ts), while the first is still
 * unanswered. Both copies may run, so only reads are: a write is never hedged, not even
 * an idempotent one (SET, DEL), which a retry may send again once the first has failed.
 */

/**
 * Reads whose answer is about the connection they are sent on, not the data: the twin
 * would answer for itself. WAIT and WAITAOF wait for this connection's writes, PING
 * checks this connection, CLIENT ID/INFO/GETNAME... describe it.
 */
const CONNECTION_READS: ReadonlySet<string> = new Set(['WAIT', 'WAITAOF', 'PING', 'CLIENT']);

/**
 * Whether a command may be hedged: a read in the replay table (instrumentations/redis/replay.ts),
 * not about its own connection, outside MULTI/EXEC, and not marked by the caller as unsafe
 * to send twice (`idempotent(fn, false)`). Never throws.
 */
export function isHedgeableRedisCommand(command: unknown, args: readonly unknown[], inMulti: boolean, markedIdempotent: boolean | undefined): boolean {
  if (inMulti || markedIdempotent === false) return false;
  if (typeof command !== 'string' || CONNECTION_READS.has(command.toUpperCase())) return false;
  return redisCommandKind(command, args) === 'read';
}

/**
 * Commands after which the connection is no longer what a fresh copy of its client
 * would open: another database (SELECT, RESET), user (AUTH, HELLO with AUTH) or
 * protocol (HELLO). A twin would then read another database or as another user, so the
 * client is no longer hedged.
 */
const SESSION_COMMANDS: ReadonlySet<string> = new Set(['SELECT', 'RESET', 'AUTH', 'HELLO']);

/** Whether `command` (its first word, any case) changes the connection's session (above). */
export function changesSession(command: unknown): boolean {
  return typeof command === 'string' && command.length <= 6 && SESSION_COMMANDS.has(command.toUpperCase());
}

/**
 * What a command's call tells the engine (`hedgeable`): for a hedgeable command (above)
 * of a client whose target hedges, the function it asks when a hedge is due (true while
 * the client's twin is ready; the twin is opened now if it has none); else undefined. A
 * command that changes the connection's session stops the client's hedging.
 */
export function redisHedgeable<C extends object>(
  twins: HedgeTwins<C, object>,
  client: C,
  command: string,
  args: readonly unknown[],
  inMulti: boolean,
  markedIdempotent: boolean | undefined,
): (() => boolean) | undefined {
  if (!twins.active) return undefined;
  if (changesSession(command)) {
    twins.stop(client);
    return undefined;
  }
  return isHedgeableRedisCommand(command, args, inMulti, markedIdempotent) ? twins.canHedge(client) : undefined;
}
