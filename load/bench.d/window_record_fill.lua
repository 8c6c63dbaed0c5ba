-- Fills one sorted set the way lua/window.lua records a window: N random 16-byte members
-- with random 32-bit scores. KEYS[1] the sorted set; ARGV[1] N. Reply: the set's size.
local n = tonumber(ARGV[1])
for i = 1, n do
  local member = struct.pack('>I4I4I4I4', math.random(0, 2147483647), math.random(0, 2147483647), i, math.random(0, 2147483647))
  redis.call('ZADD', KEYS[1], math.random(0, 65535) * 65536 + math.random(0, 65535), member)
end
return redis.call('ZCARD', KEYS[1])
