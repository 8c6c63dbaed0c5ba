-- follow: changes the outflow in force as the checkout's health asks, unless another instance
-- changed it since the caller read it (so the cluster takes one step, not one per instance).
-- KEYS cfg, st
-- ARGV[1] now in ms, or '' for the Redis server's time (unused)
-- ARGV[2] the change time the caller read ('' when it read none)
-- ARGV[3] the new rate in thousandths of a shopper per second ('' for the set rate)
-- ARGV[4] the new change time in ms
-- Reply: 0 no such event, 1 changed, 2 changed meanwhile by someone else (nothing written)

if redis.call('EXISTS', K.cfg) == 0 then
  return 0
end
if (redis.call('HGET', K.st, 'fat') or '') ~= ARGV[2] then
  return 2
end
redis.call('HSET', K.st, 'fr', ARGV[3], 'fat', ARGV[4])
return 1
