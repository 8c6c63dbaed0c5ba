-- Lifts a client's ban and clears its violations; its strikes stay remembered.
--
-- KEYS[1]  the client's penalty hash (see ratelimit_penalty.lua)
-- ARGV[1]  now in ms, or '' to use the server's TIME
-- Reply: 1 when a ban was lifted, 0 when the client was not banned.

local now_ms
if ARGV[1] ~= '' then
  now_ms = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local b = tonumber(redis.call('HGET', KEYS[1], 'b') or '0') or 0
if b <= now_ms then return 0 end
redis.call('HSET', KEYS[1], 'b', 0, 's', 0, 'u', now_ms)
return 1
