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
 * field `<name><bucket>` per counter and bucket (bucket = floor(ms / bucket_ms)), and
 * `lb`, the newest bucket written. A write deletes the buckets it pushes out of the
 * window (at most n), so the hash holds n buckets at most; its TTL (set by the caller)
 * removes it when nobody writes.
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
local function window_bucket(key, now, bucket_ms)
  local b = math.floor(now / bucket_ms)
  local lb = tonumber(redis.call('HGET', key, 'lb'))
  -- Never backwards: a caller whose clock is behind another's counts in the newest bucket.
  if lb and b < lb then b = lb end
  return b, lb
end

local function window_fields(from, to, names)
  local fields = {}
  for b = from, to do
    for _, name in ipairs(names) do fields[#fields + 1] = name .. b end
  end
  return fields
end

local function window_add(key, b, lb, n, names, deltas)
  if lb == nil or b > lb then
    if lb then
      -- Fields exist for buckets lb-n+1..lb at most; those at or before b-n leave the window.
      local gone = window_fields(lb - n + 1, math.min(lb, b - n), names)
      if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
    end
    redis.call('HSET', key, 'lb', b)
  end
  for i, name in ipairs(names) do
    if deltas[i] ~= 0 then redis.call('HINCRBY', key, name .. b, deltas[i]) end
  end
end

local function window_sum(key, b, n, names)
  local fields = window_fields(b - n + 1, b, names)
  local values = redis.call('HMGET', key, unpack(fields))
  local sums = {}
  for k = 1, #names do sums[k] = 0 end
  for j = 1, #fields do
    local v = tonumber(values[j])
    if v then
      local k = (j - 1) % #names + 1
      sums[k] = sums[k] + v
    end
  end
  return sums
end

local function window_clear(key, n, names)
  local lb = tonumber(redis.call('HGET', key, 'lb'))
  if lb then redis.call('HDEL', key, unpack(window_fields(lb - n + 1, lb, names))) end
end
`;
