import { CLOCK_LUA } from './lua-lib.js';

/**
 * The Lua side of gcra.ts: one atomic GCRA lease. The bucket is one number, its
 * theoretical arrival time (TAT, ms): the bucket is full (`burst` tokens) once
 * TAT <= now, and holds one token fewer for each interval TAT runs ahead of now.
 * Leasing n tokens moves TAT n intervals on. The key expires when the bucket would be
 * full again (plus a slack), since a missing TAT and a past one mean the same thing.
 *
 * KEYS[1]  the TAT key
 * ARGV[1]  ms per token (1000 / rate)
 * ARGV[2]  burst (tokens)
 * ARGV[3]  tokens wanted (1..burst)
 * ARGV[4]  now in ms, or '' to read the server's clock (TIME)
 * ARGV[5]  expiry slack in ms
 * Returns {granted, waitMs}: waitMs is how long after now the next token is free (0: some are).
 * (clock_ms: lua-lib.ts.)
 */
export const GCRA_LEASE_SCRIPT = `${CLOCK_LUA}
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local now = clock_ms(ARGV[4])
local slack = tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local free = math.floor((now - tat) / interval + burst + 1e-9)
local granted = math.max(0, math.min(want, free))
if granted > 0 then
  tat = tat + granted * interval
  redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', string.format('%d', math.ceil(tat - now) + slack))
end
local wait = math.ceil(tat - now - (burst - 1) * interval)
if wait < 0 then wait = 0 end
return {granted, wait}
`;
