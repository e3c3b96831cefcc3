import { CLOCK_LUA, WINDOW_LUA } from './lua-lib.js';
import type { RespArg, RespValue } from './resp.js';
import { integerReply } from './script-runner.js';

/**
 * The Lua side of budget-sync.ts: one instance's flush into the fleet's retry budget
 * for one target, and the fleet's window totals back, in one atomic call.
 *
 * KEYS[1]  the budget hash: a window of buckets (lua-lib.ts), fields a, r, h = first
 *          attempts, retries, hedges per bucket, and their totals
 * ARGV[1]  now in ms, or '' for Redis's TIME
 * ARGV[2]  bucket length (ms)
 * ARGV[3]  buckets in the window
 * ARGV[4..6]  first attempts, retries, hedges to add (0 0 0: a read)
 * ARGV[7]  TTL set on the hash by a write (ms): the window and a slack
 * Returns {firstAttempts, retries, hedges} over the window, this flush included.
 */
export const BUDGET_SYNC_SCRIPT = `${CLOCK_LUA}${WINDOW_LUA}
local key = KEYS[1]
local now = clock_ms(ARGV[1])
local bucket_ms = tonumber(ARGV[2])
local buckets = tonumber(ARGV[3])
local deltas = {tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])}
local names = {'a', 'r', 'h'}
local b, totals = window_at(key, now, bucket_ms, buckets, names)
if deltas[1] + deltas[2] + deltas[3] > 0 then
  window_add(key, b, totals, names, deltas)
  redis.call('PEXPIRE', key, ARGV[7])
end
return totals
`;

export interface BudgetCounts {
  readonly firstAttempts: number;
  readonly retries: number;
  readonly hedges: number;
}

export interface BudgetFlush extends BudgetCounts {
  /** Wall-clock ms, or undefined for Redis's TIME. */
  readonly now: number | undefined;
  readonly bucketMs: number;
  readonly buckets: number;
  readonly ttlMs: number;
}

export function budgetArgs(x: BudgetFlush): RespArg[] {
  return [x.now === undefined ? '' : Math.floor(x.now), x.bucketMs, x.buckets, x.firstAttempts, x.retries, x.hedges, Math.ceil(x.ttlMs)];
}

export function parseBudgetReply(reply: RespValue): BudgetCounts {
  const [firstAttempts, retries, hedges] = integerReply(reply, 3, 'budget sync');
  return { firstAttempts: firstAttempts!, retries: retries!, hedges: hedges! };
}
