-- The decisions one call carries, after lua/ratelimit_penalty.lua and an algorithm's script
-- (prepended to this text): one a pair of KEYS, made in turn at the call's one `now`, each with
-- exactly the outcome a call of its own would have had (a client's second decision sees the
-- first's). Reply: the decisions' replies, in the order of the pairs.

local replies = {}
for i = 1, #KEYS, 2 do
  PKEY = KEYS[i + 1]
  replies[#replies + 1] = decide(KEYS[i])
end
return replies
