import { CLOCK_LUA, WINDOW_LUA } from './lua-lib.js';
import type { RespArg, RespValue } from './resp.js';
import { integerReply } from './script-runner.js';

/**
 * The Lua side of breaker-sync.ts: one instance's exchange with the fleet's breaker
 * for one target, atomic. It applies the instance's news (a transition it reports, the
 * outcomes it counted), decides (threshold reached: open), hands out the half-open
 * probe permit, and answers with the fleet's state.
 *
 * State, in the hash KEYS[1]: st (1 open, 0 closed), ep (epoch), un (open until, ms),
 * op (opens since the last close: the open period doubles with each, up to max_open),
 * cf (failures in a row, consecutive rule), tg (the target's key, for the operator:
 * fleet-state.ts); the rate rule's window as fields of the
 * same hash (lua-lib.ts: c, f, s = calls, failures, slow calls per bucket, and their
 * totals). A poll (nothing to apply) reads five fields and writes nothing.
 * The probe permit is KEYS[2], SET NX PX by the instance that wins it.
 *
 * Epochs: every transition sets ep to max(ep + 1, now), so it grows even across the
 * key's expiry. A report is applied only at the epoch its instance last saw: a writer
 * that missed a transition loses (a straggler's "closed" cannot close a breaker that
 * has re-opened since). Counts are applied at the instance's epoch, or when it has seen
 * none yet (-1), and only while the fleet is closed.
 * - report 'open' (the instance's rule tripped, or its probe failed): opens a closed
 *   breaker, re-opens one whose open period is over (probing), else nothing.
 * - report 'closed' (the instance's probe succeeded): closes a breaker whose open
 *   period is over, else nothing.
 * A fleet half-open state is not stored: it is an open breaker whose period is over,
 * where the permit holder probes.
 *
 * TTL: every write sets the hash's to ttl + the open period left; the permit's is its
 * PX. Time: clock_ms (lua-lib.ts), Redis's unless the caller passes it.
 *
 * Returns {open, epoch, untilMinusNow, consecutiveFailures, permitMs, reported}: permitMs
 * > 0 when this instance holds the permit (ms left), reported 1 when its report made
 * the transition.
 *
 * The rate rule judges the whole window, and its newest bucket (a tenth of it) alone: a
 * window full of the fleet's earlier successes would otherwise hold the breaker closed
 * until every instance had sent as many doomed calls as it would alone (its failures
 * must outweigh N instances' successes), while an outage shows in the newest bucket
 * at once, once minCalls calls fleet-wide are in it.
 */
export const BREAKER_SYNC_SCRIPT = `${CLOCK_LUA}${WINDOW_LUA}
local key, permit_key = KEYS[1], KEYS[2]
local now = math.floor(clock_ms(ARGV[1]))
local me = ARGV[2]
local known = tonumber(ARGV[3])
local report = ARGV[4]
local want_probe = ARGV[5] == '1'
local rule = ARGV[6]
local threshold = tonumber(ARGV[7])
local failure_rate = tonumber(ARGV[8])
local slow_rate = tonumber(ARGV[9])
local bucket_ms = tonumber(ARGV[10])
local buckets = tonumber(ARGV[11])
local calls = tonumber(ARGV[12])
local failures = tonumber(ARGV[13])
local slow = tonumber(ARGV[14])
local reset = ARGV[15] == '1'
local open_ms = tonumber(ARGV[16])
local max_open_ms = tonumber(ARGV[17])
local permit_ms = tonumber(ARGV[18])
local ttl_ms = tonumber(ARGV[19])
local target = ARGV[20]
local names = {'c', 'f', 's'}

local h = redis.call('HMGET', key, 'st', 'ep', 'un', 'op', 'cf')
local open = h[1] == '1'
local epoch = tonumber(h[2]) or 0
local until_ms = tonumber(h[3]) or 0
local opens = tonumber(h[4]) or 0
local fails = tonumber(h[5]) or 0
local wrote = false
local reported = 0
local current = known == epoch

local function transition(to_open)
  epoch = math.max(epoch + 1, now)
  open = to_open
  fails = 0
  wrote = true
  redis.call('DEL', permit_key)
end

-- The rate rule on counts {calls, failures, slow}: minCalls made, and the failure (or slow) share reached.
local function tripped(counts)
  return counts[1] >= threshold and (counts[2] / counts[1] >= failure_rate or (slow_rate >= 0 and counts[3] / counts[1] >= slow_rate))
end

local function open_fleet()
  opens = opens + 1
  until_ms = now + math.min(max_open_ms, open_ms * 2 ^ (opens - 1))
  transition(true)
end

if current and report == 'open' and (not open or now >= until_ms) then
  open_fleet()
  reported = 1
elseif current and report == 'closed' and open and now >= until_ms then
  opens = 0
  until_ms = 0
  transition(false)
  window_clear(key, buckets, names)
  reported = 1
end

if not open and (current or known < 0) then
  if rule == 'consecutive' then
    if failures > 0 or (reset and fails > 0) then
      if reset then fails = 0 end
      fails = fails + failures
      wrote = true
      if fails >= threshold then open_fleet() end
    end
  elseif rule == 'rate' and calls > 0 then
    local b, sums = window_at(key, now, bucket_ms, buckets, names)
    window_add(key, b, sums, names, {calls, failures, slow})
    wrote = true
    local newest = redis.call('HMGET', key, 'c' .. b, 'f' .. b, 's' .. b)
    for i = 1, 3 do newest[i] = tonumber(newest[i]) or 0 end
    if tripped(sums) or tripped(newest) then open_fleet() end
  end
end

if wrote then
  redis.call('HMSET', key, 'st', open and 1 or 0, 'ep', epoch, 'un', until_ms, 'op', opens, 'cf', fails, 'tg', target)
  local ttl = ttl_ms
  if open and until_ms > now then ttl = ttl + until_ms - now end
  redis.call('PEXPIRE', key, ttl)
end

local permit = 0
if want_probe and open and now >= until_ms then
  if redis.call('SET', permit_key, me, 'NX', 'PX', permit_ms) then
    permit = permit_ms
  elseif redis.call('GET', permit_key) == me then
    permit = math.max(0, redis.call('PTTL', permit_key))
  end
end

return {open and 1 or 0, epoch, until_ms - now, fails, permit, reported}
`;

/** What the counting rule is, restated on every call (the fleet stores no settings). */
export type BreakerScriptRule =
  | { readonly mode: 'consecutive'; readonly threshold: number }
  | { readonly mode: 'rate'; readonly minCalls: number; readonly failureRate: number; readonly slowCallRate: number | undefined; readonly bucketMs: number; readonly buckets: number };

/** One exchange's arguments. */
export interface BreakerExchange {
  /** Wall-clock ms, or undefined for Redis's TIME. */
  readonly now: number | undefined;
  readonly instanceId: string;
  /** The epoch this instance last saw; -1 for none yet. */
  readonly epoch: number;
  readonly report: 'open' | 'closed' | undefined;
  readonly wantProbe: boolean;
  readonly rule: BreakerScriptRule;
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  /** A success came (consecutive rule): the fleet's run of failures restarts, then `failures` are added. */
  readonly reset: boolean;
  readonly openMs: number;
  readonly maxOpenMs: number;
  readonly permitMs: number;
  readonly ttlMs: number;
  /** The target's key (target-key.ts: no credentials, no path), stored for `npx breakwater fleet`. */
  readonly target: string;
}

export interface BreakerReply {
  readonly open: boolean;
  readonly epoch: number;
  /** Until the open period ends (ms, by the fleet's clock); <= 0 once it has (probing). */
  readonly remainingMs: number;
  readonly consecutiveFailures: number;
  /** > 0: this instance holds the probe permit for this long (ms). */
  readonly permitMs: number;
  /** This call's report made the transition. */
  readonly reported: boolean;
}

export function breakerArgs(x: BreakerExchange): RespArg[] {
  const rule = x.rule;
  const rate = rule.mode === 'rate';
  return [
    x.now === undefined ? '' : Math.floor(x.now),
    x.instanceId,
    x.epoch,
    x.report ?? '',
    x.wantProbe ? 1 : 0,
    rule.mode,
    rate ? rule.minCalls : rule.threshold,
    rate ? rule.failureRate : 0,
    rate && rule.slowCallRate !== undefined ? rule.slowCallRate : -1,
    rate ? rule.bucketMs : 1,
    rate ? rule.buckets : 1,
    x.calls,
    x.failures,
    x.slow,
    x.reset ? 1 : 0,
    Math.ceil(x.openMs),
    Math.ceil(x.maxOpenMs),
    Math.ceil(x.permitMs),
    Math.ceil(x.ttlMs),
    x.target,
  ];
}

export function parseBreakerReply(reply: RespValue): BreakerReply {
  const [open, epoch, remainingMs, consecutiveFailures, permitMs, reported] = integerReply(reply, 6, 'breaker sync');
  return { open: open === 1, epoch: epoch!, remainingMs: remainingMs!, consecutiveFailures: consecutiveFailures!, permitMs: permitMs!, reported: reported === 1 };
}
