-- One GCRA decision, after lua/ratelimit_penalty.lua (prepended to this text).
-- Mirrors crates/ratelimit/src/gcra.rs and crates/ratelimit/src/decision.rs.
--
-- KEYS     pairs (see ratelimit_penalty.lua); a bucket is a string holding the theoretical
--          arrival time (µs)
-- ARGV[1..11], ARGV[14..15] as in ratelimit_penalty.lua
-- ARGV[12] interval_us     ARGV[13] burst
-- Reply: see ratelimit_penalty.lua, one a decision (lua/ratelimit_each.lua).

local now = now_us(ARGV[1])
local now_ms = math.floor(now / 1000)
local cost = tonumber(ARGV[2])

-- One decision on `bucket`, the penalty hash being PKEY.
local function decide(bucket)
  local p = penalty_at(now_ms)
  if ban_refuses(p, now_ms) then return {2, p.b} end
  local delay, permille = standing(p)

  local interval = tonumber(ARGV[12])
  local burst = tonumber(ARGV[13])
  if permille ~= 1000 then
    interval = math.max(1, math.floor(interval * 1000 / math.max(1, permille)))
    burst = math.max(1, math.floor(burst * math.max(1, permille) / 1000))
  end

  local tat = math.max(tonumber(redis.call('GET', bucket) or '0') or 0, now)
  local new_tat = tat + cost * interval
  local allow_at = new_tat - burst * interval
  if now >= allow_at then
    local remaining = math.floor((now + burst * interval - new_tat) / interval)
    local expires = math.floor(new_tat / 1000) + 1
    redis.call('SET', bucket, string.format('%d', new_tat), 'PX', math.max(1, expires - now_ms))
    return {1, burst, remaining, ceil_div(new_tat - now, 1000), delay}
  end
  local remaining = math.max(0, math.floor((now + burst * interval - tat) / interval))
  return limited(p, now_ms, burst, remaining, ceil_div(tat - now, 1000), ceil_div(allow_at - now, 1000))
end
