-- Records a ban in the index the admin API lists, dropping ended ones, and in the index of bans
-- that refuse verified users too. Each index lives as long as its longest ban.
--
-- KEYS[1]  the index: a sorted set of client keys scored by when their ban ends
-- KEYS[2]  the same for bans of scope everyone (same hash slot: `{wr:rl:bans}:everyone`)
-- ARGV[1]  now in ms (the store's time)   ARGV[2]  the client key   ARGV[3]  ban_until
-- ARGV[4]  the ban's scope: 'a' anonymous traffic only, 'e' everyone
-- Reply: the number of bans indexed.

local now_ms = tonumber(ARGV[1])
local ban_until = tonumber(ARGV[3])

local function add(index)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now_ms)
  redis.call('ZADD', index, ban_until, ARGV[2])
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', index, math.max(1, tonumber(last[2]) - now_ms))
end

add(KEYS[1])
if ARGV[4] == 'a' then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  add(KEYS[2])
end
return redis.call('ZCARD', KEYS[1])
