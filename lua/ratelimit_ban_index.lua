-- Records a ban in the index the admin API lists, dropping ended ones. The index lives as long
-- as its longest ban.
--
-- KEYS[1]  the index: a sorted set of client keys scored by when their ban ends
-- ARGV[1]  now in ms (the store's time)   ARGV[2]  the client key   ARGV[3]  ban_until
-- Reply: the number of bans indexed.

local now_ms = tonumber(ARGV[1])
local ban_until = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
redis.call('ZADD', KEYS[1], ban_until, ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - now_ms))
return redis.call('ZCARD', KEYS[1])
