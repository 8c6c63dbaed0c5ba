-- claim: counts the holders of a single-use proof of work or a limited-use invitation
-- (mirrors claim_step in src/domain/claim.rs).
-- KEYS cfg, cl:<what is claimed>
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2] what is claimed (`pow:<id>`, `inv:<id>`)
-- ARGV[3] the holder (an identity)
-- ARGV[4] most holders
-- ARGV[5] when the claim is forgotten (ms)
-- Reply: 0 no such event, 1 granted to a new holder, 2 already held by this holder,
-- 3 refused (as many holders as allowed, or expired).

local now = now_ms(ARGV[1])
if redis.call('EXISTS', K.cfg) == 0 then
  return 0
end
local until_ms = tonumber(ARGV[5])
if until_ms <= now then
  return 3
end
local key = K['cl:' .. ARGV[2]]
-- The hash holds the holders as fields and its end under '#until': a claim whose end has come
-- by the script's clock is over, even before Redis expires the key by its own.
local ends = redis.call('HGET', key, '#until')
if ends and tonumber(ends) <= now then
  redis.call('DEL', key)
end
if redis.call('HEXISTS', key, ARGV[3]) == 1 then
  return 2
end
local holders = redis.call('HLEN', key)
if holders > 0 then
  holders = holders - 1
end
if holders >= tonumber(ARGV[4]) then
  return 3
end
redis.call('HSET', key, ARGV[3], 1, '#until', until_ms)
-- Relative expiry: the script's `now` may be an injected clock, not the server's.
redis.call('PEXPIRE', key, until_ms - now)
return 1
