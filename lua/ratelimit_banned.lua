-- Whether any of a request's other identities is banned: the latest end of their current bans.
-- Reads only the ban index (one key, so one cluster slot); bans are indexed when they start and
-- taken out when lifted (see ratelimit_ban_index.lua).
--
-- KEYS[1]  the ban index: a sorted set of client keys scored by when their ban ends
-- ARGV[1]  now in ms, or '' to use the server's TIME
-- ARGV[2…] client keys
-- Reply: the latest ban end after now, or 0 when none of them is banned.

local now = now_ms(ARGV[1])
local latest = 0
for i = 2, #ARGV do
  local until_ms = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i]) or '0') or 0
  if until_ms > now and until_ms > latest then latest = until_ms end
end
return latest
