-- One sliding-window decision, after lua/ratelimit_penalty.lua (prepended to this text).
-- Mirrors crates/ratelimit/src/sliding_window.rs and crates/ratelimit/src/decision.rs.
--
-- KEYS     pairs (see ratelimit_penalty.lua); a bucket is a hash (s window start ms, c current
--          count, p previous count)
-- ARGV[1..11], ARGV[14..15] as in ratelimit_penalty.lua
-- ARGV[12] window_ms       ARGV[13] limit
-- Reply: see ratelimit_penalty.lua, one a decision (lua/ratelimit_each.lua).

local now = now_us(ARGV[1])
local now_ms = math.floor(now / 1000)
local cost = tonumber(ARGV[2])

-- One decision on `bucket`, the penalty hash being PKEY.
local function decide(bucket)
  local p = penalty_at(now_ms)
  if ban_refuses(p, now_ms) then return {2, p.b} end
  local delay, permille = standing(p)

  local window = math.max(1, tonumber(ARGV[12]))
  local limit = tonumber(ARGV[13])
  if permille ~= 1000 then
    limit = math.max(1, math.floor(limit * math.max(1, permille) / 1000))
  end

  local f = redis.call('HMGET', bucket, 's', 'c', 'p')
  local s = tonumber(f[1]) or 0
  local c = tonumber(f[2]) or 0
  local pr = tonumber(f[3]) or 0
  local start = now_ms - (now_ms % window)
  if start ~= s then
    if start == s + window then pr = c else pr = 0 end
    c = 0
    s = start
  end
  local elapsed = now_ms - s
  local used = pr * (window - elapsed) + c * window
  local budget = limit * window
  if used + cost * window <= budget then
    redis.call('HSET', bucket, 's', s, 'c', c + cost, 'p', pr)
    redis.call('PEXPIRE', bucket, math.max(1, s + 2 * window - now_ms))
    return {1, limit, math.floor((budget - used - cost * window) / window), 2 * window - elapsed, delay}
  end

  local reset = 0
  if c > 0 then reset = 2 * window - elapsed elseif pr > 0 then reset = window - elapsed end
  local retry = nil
  if c + cost <= limit and pr > 0 then
    local keep = math.floor((limit - c - cost) * window / pr)
    if keep > 0 then retry = math.max(1, window - keep - elapsed) end
  end
  if retry == nil then
    local needed = 0
    if c > 0 then needed = window - math.floor(math.max(0, limit - cost) * window / c) end
    retry = math.max(1, window - elapsed + math.max(0, needed))
  end
  local remaining = math.max(0, math.floor((budget - used) / window))
  return limited(p, now_ms, limit, remaining, reset, retry)
end
