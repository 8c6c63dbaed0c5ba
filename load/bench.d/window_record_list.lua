-- The same ids as a list (the cheaper record not built). KEYS[1] a list; ARGV[1] N.
local n = tonumber(ARGV[1])
for i = 1, n do
  redis.call('RPUSH', KEYS[1], struct.pack('>I4I4I4I4', math.random(0, 2147483647), math.random(0, 2147483647), i, math.random(0, 2147483647)))
end
return redis.call('LLEN', KEYS[1])
