-- Lifts a client's ban and clears its violations; its strikes stay remembered.
--
-- KEYS[1]  the client's penalty hash (see ratelimit_penalty.lua)
-- ARGV[1]  now in ms, or '' to use the server's TIME
-- Reply: 1 when a ban was lifted, 0 when the client was not banned.

local now = now_ms(ARGV[1])
local b = tonumber(redis.call('HGET', KEYS[1], 'b') or '0') or 0
if b <= now then return 0 end
redis.call('HSET', KEYS[1], 'b', 0, 's', 0, 'u', now)
return 1
