-- followed: the outflow in force as the checkout's health set it (FollowedOutflow in
-- src/queue/backoff.rs).
-- KEYS cfg, st
-- ARGV[1] now in ms, or '' for the Redis server's time (unused)
-- Reply: nil when there is no such event; {} when the outflow was never changed; else
--   { rate in thousandths of a shopper per second ('' for the set rate), changed_at in ms }

if redis.call('EXISTS', K.cfg) == 0 then
  return false
end
local v = redis.call('HMGET', K.st, 'fr', 'fat')
if not v[2] then
  return {}
end
return { v[1] or '', v[2] }
