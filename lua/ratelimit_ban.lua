-- Bans a client (an operator's ban), counting a strike. Mirrors MemoryRateLimitStore::ban.
--
-- KEYS[1]  the client's penalty hash (see ratelimit_penalty.lua)
-- ARGV[1]  now in ms, or '' to use the server's TIME
-- ARGV[2]  length_ms      ARGV[3]  reason      ARGV[4]  strike_memory_ms
-- ARGV[5]  scope: 'a' anonymous traffic only, 'e' everyone
-- Reply: {ban_until, strikes}

local now = now_ms(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'k', 'ku', 'b')
local k = tonumber(f[1]) or 0
local ku = tonumber(f[2]) or 0
local b = tonumber(f[3]) or 0
local strikes = 1
if now < ku then strikes = k + 1 end
local ban_until = math.max(now + tonumber(ARGV[2]), b)
local memory = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 's', 0, 'u', now, 'k', strikes, 'ku', ban_until + memory,
  'b', ban_until, 'r', ARGV[3], 'sc', ARGV[5])
redis.call('PEXPIRE', KEYS[1], math.max(1, ban_until + memory - now))
return {ban_until, strikes}
