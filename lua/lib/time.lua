-- lib/time.lua: the one clock of every script, the rate limiter's included.

-- The time in ms: the injected clock's (ARGV[1]) when given, else the Redis server's, so that
-- every instance reads one clock.
local function now_ms(arg)
  if arg ~= nil and arg ~= '' then
    return tonumber(arg)
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The same in µs: an injected clock ticks in whole ms.
local function now_us(arg)
  if arg ~= nil and arg ~= '' then
    return tonumber(arg) * 1000
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
