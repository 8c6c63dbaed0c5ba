-- The clock and the client's penalties, shared by the decision scripts.
-- Mirrors crates/ratelimit/src/penalty.rs; the algorithm script that follows it in the same
-- script text defines `decide`, and lua/ratelimit_each.lua calls it for every decision the call
-- carries. It is not run on its own.
--
-- KEYS     pairs, one a decision, all under the same ARGV: the bucket (see the algorithm's
--          script), then the client's penalty hash (fields s score_milli, u updated,
--          k strikes, ku strikes_until, b ban_until, r reason, sc ban scope: 'a' anonymous
--          only, else everyone)
-- ARGV[1]  now in ms, or '' to use the server's TIME
-- ARGV[2]  cost of the request
-- ARGV[3]  decay_ms        ARGV[4]  delay_after     ARGV[5]  delay_step_ms
-- ARGV[6]  max_delay_ms    ARGV[7]  reduce_after    ARGV[8]  reduce_permille
-- ARGV[9]  ban_after       ARGV[10] strike_memory_ms
-- ARGV[11] ban lengths in ms, comma-separated (the last repeats)
-- ARGV[12], ARGV[13] the algorithm's (see its script)
-- ARGV[14] liability: 0 the key is the request's own (every ban, penalties, violations count);
--          1 shared (only bans of scope everyone refuse; no penalties, no violation);
--          2 exempt (the operator: no ban refuses, no penalties, no violation)
-- ARGV[15] the scope of a ban a violation starts: 'a' anonymous only, 'e' everyone
-- Replies (built by `limited` and the algorithm script):
--   {1, limit, remaining, reset_ms, delay_ms}                          allowed
--   {0, limit, remaining, reset_ms, retry_after_ms, ban_until, strikes, violations}
--                                     limited (ban_until 0: none; violations with this one, 0 after a ban)
--   {2, ban_until}                                                      banned

local function ceil_div(a, b)
  if a <= 0 then return 0 end
  return math.floor((a + b - 1) / b)
end

local decay_ms = math.max(1, tonumber(ARGV[3]))
local delay_after = tonumber(ARGV[4])
local delay_step = tonumber(ARGV[5])
local max_delay = tonumber(ARGV[6])
local reduce_after = tonumber(ARGV[7])
local reduce_permille = tonumber(ARGV[8])
local ban_after = tonumber(ARGV[9])
local strike_memory = tonumber(ARGV[10])
local liability = tonumber(ARGV[14]) or 0

-- The penalty hash of the decision being made (set by lua/ratelimit_each.lua).
local PKEY = KEYS[2]

-- The penalty state as it stands at now_ms: decayed, strikes forgotten, ended ban cleared.
local function penalty_at(now_ms)
  -- Most clients never had a violation, so they have no hash: asking whether it exists costs
  -- Redis a fifth of a decision less than reading its six fields as nils.
  if redis.call('EXISTS', PKEY) == 0 then
    return {s = 0, u = now_ms, k = 0, ku = 0, b = 0, anonymous = false}
  end
  local f = redis.call('HMGET', PKEY, 's', 'u', 'k', 'ku', 'b', 'sc')
  local s = tonumber(f[1]) or 0
  local u = tonumber(f[2]) or 0
  local k = tonumber(f[3]) or 0
  local ku = tonumber(f[4]) or 0
  local b = tonumber(f[5]) or 0
  s = math.max(0, s - math.floor(math.max(0, now_ms - u) * 1000 / decay_ms))
  if now_ms >= ku then k = 0; ku = 0 end
  if b <= now_ms then b = 0 end
  return {s = s, u = now_ms, k = k, ku = ku, b = b, anonymous = (f[6] == 'a')}
end

-- Whether the client's current ban refuses this request (see ARGV[14]).
local function ban_refuses(p, now_ms)
  if p.b <= now_ms or liability == 2 then return false end
  if liability == 1 and p.anonymous then return false end
  return true
end

-- The delay and the limit scale (permille) the state earns; none when it is not the request's.
local function standing(p)
  if liability ~= 0 then return 0, 1000 end
  local v = math.floor((p.s + 999) / 1000)
  local delay = 0
  if delay_after > 0 and v >= delay_after then
    delay = math.min(max_delay, delay_step * (v - delay_after + 1))
  end
  local permille = 1000
  if reduce_after > 0 and v >= reduce_after then permille = reduce_permille end
  return delay, permille
end

local function ban_length(strikes)
  local lengths = {}
  for n in string.gmatch(ARGV[11], '%d+') do lengths[#lengths + 1] = tonumber(n) end
  if #lengths == 0 then return 60000 end
  return lengths[math.min(strikes + 1, #lengths)]
end

-- Counts a violation, perhaps starting a ban, stores the state and builds the limited reply.
local function limited(p, now_ms, limit, remaining, reset_ms, retry_ms)
  if liability ~= 0 then
    return {0, limit, remaining, reset_ms, retry_ms, 0, 0, 0}
  end
  local s = p.s + 1000
  local ban_until = 0
  local strikes = p.k
  if ban_after > 0 and math.floor((s + 999) / 1000) >= ban_after then
    ban_until = now_ms + ban_length(p.k)
    strikes = p.k + 1
    p.k = strikes
    p.ku = ban_until + strike_memory
    p.b = ban_until
    s = 0
    retry_ms = ban_until - now_ms
    redis.call('HSET', PKEY, 'r', 'rate limit violations', 'sc', ARGV[15])
  end
  p.s = s
  redis.call('HSET', PKEY, 's', p.s, 'u', now_ms, 'k', p.k, 'ku', p.ku, 'b', p.b)
  local expires = now_ms + math.floor(p.s * decay_ms / 1000)
  if p.k > 0 then expires = math.max(expires, p.ku) end
  expires = math.max(expires, p.b)
  redis.call('PEXPIRE', PKEY, math.max(1, expires - now_ms))
  return {0, limit, remaining, reset_ms, retry_ms, ban_until, strikes, math.floor((p.s + 999) / 1000)}
end

