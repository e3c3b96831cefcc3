/**
 * Lua functions the fleet scripts share, prepended to a script's own text (a script is
 * one chunk: Redis has no way to load a library into EVALSHA's scripts on every version).
 *
 * clock_ms(arg): the fleet's clock in ms: the caller's `now` when the argument is a
 * number (tests drive the scripts with fake time), else Redis's own TIME, one clock for
 * every instance whatever theirs say. TIME before a write is allowed since Redis 5
 * (effects replication, the only mode from Redis 7); redis.replicate_commands() turns
 * it on in 3.2 and 4.
 *
 * The window_* functions keep counters in time buckets as fields of ONE hash, so a
 * script names one key (KEYS) and a Redis Cluster routes it with the target's slot:
 * field `<name><bucket>` per counter and bucket (bucket = floor(ms / bucket_ms)), `lb`,
 * the newest bucket written, and `t<name>`, each counter's total over the window, so
 * reading the window is one HMGET of a few fields rather than of every bucket. A
 * bucket leaving the window is subtracted from the totals and deleted, once (by
 * whichever call first sees time past it), so the hash holds n buckets at most; its
 * TTL (set by the caller on writes) removes it when nobody writes.
 */
export const CLOCK_LUA = `
local function clock_ms(arg)
  local now = tonumber(arg)
  if now then return now end
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
`;

export const WINDOW_LUA = `
local function window_fields(from, to, names)
  local fields = {}
  for b = from, to do
    for _, name in ipairs(names) do fields[#fields + 1] = name .. b end
  end
  return fields
end

local function window_store(key, b, totals, names)
  local args = {'lb', b}
  for i, name in ipairs(names) do
    args[#args + 1] = 't' .. name
    args[#args + 1] = totals[i]
  end
  redis.call('HMSET', key, unpack(args))
end

-- The window at now: its bucket (never before the newest written: a caller whose clock
-- is behind another's counts in the newest) and its totals, once the buckets that left
-- it are subtracted and deleted (at most n, once per bucket).
local function window_at(key, now, bucket_ms, n, names)
  local fields = {'lb'}
  for i, name in ipairs(names) do fields[i + 1] = 't' .. name end
  local stored = redis.call('HMGET', key, unpack(fields))
  local lb = tonumber(stored[1])
  local totals = {}
  for i = 1, #names do totals[i] = tonumber(stored[i + 1]) or 0 end
  local b = math.floor(now / bucket_ms)
  if lb == nil then return b, totals end
  if b <= lb then return lb, totals end
  -- Fields exist for buckets lb-n+1..lb at most; those at or before b-n leave the window.
  local gone = window_fields(lb - n + 1, math.min(lb, b - n), names)
  local old = redis.call('HMGET', key, unpack(gone))
  for j = 1, #gone do
    local x = tonumber(old[j])
    if x then
      local k = (j - 1) % #names + 1
      totals[k] = totals[k] - x
    end
  end
  redis.call('HDEL', key, unpack(gone))
  window_store(key, b, totals, names)
  return b, totals
end

-- Adds deltas to bucket b (from window_at) and to the totals.
local function window_add(key, b, totals, names, deltas)
  for i, name in ipairs(names) do
    if deltas[i] ~= 0 then
      redis.call('HINCRBY', key, name .. b, deltas[i])
      totals[i] = totals[i] + deltas[i]
    end
  end
  window_store(key, b, totals, names)
end

local function window_clear(key, n, names)
  local lb = tonumber(redis.call('HGET', key, 'lb'))
  if not lb then return end
  local gone = window_fields(lb - n + 1, lb, names)
  for _, name in ipairs(names) do gone[#gone + 1] = 't' .. name end
  redis.call('HDEL', key, unpack(gone))
end
`;
