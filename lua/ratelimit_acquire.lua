-- Takes one in-flight slot of a bucket (a concurrency limit).
--
-- KEYS[1]  the bucket's permits: a sorted set of permit ids scored by when their lease ends
-- ARGV[1]  now in ms, or '' to use the server's TIME
-- ARGV[2]  the limit      ARGV[3]  lease_ms      ARGV[4]  the new permit's id
-- Reply: 1 when taken, 0 when every slot is in use.

local now = now_ms(ARGV[1])
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + lease, ARGV[4])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
