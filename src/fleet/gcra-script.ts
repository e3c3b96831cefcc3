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
 *
 * TIME before a write is allowed since Redis 5 (effects replication; the only mode from
 * Redis 7), and redis.replicate_commands() turns it on in 3.2 and 4.
 */
export const GCRA_LEASE_SCRIPT = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local slack = tonumber(ARGV[5])
if not now then
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
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
