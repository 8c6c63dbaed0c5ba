-- draw_entrants: one page of a closed pre-queue, for the store to draw it (see lib.lua's
-- draw_state). The queue does not change while the draw is pending, so pages by index are
-- stable.
-- KEYS[1] event prefix `wr:{<event>}:`
-- ARGV[1] now in ms, or '' for the Redis server's time (unused)
-- ARGV[2] offset, ARGV[3] count (the store keeps it to DRAW_BATCH, 250, or fewer)
-- Reply: { 'no_event' } | { 'drawn' } (nothing pending) |
--        { 'entrants', seed, total, { identity, ticket id (16 raw bytes), ... } }

local c = load_cfg()
if not c then
  return { 'no_event' }
end
if redis.call('HGET', K.st, 'drawn') ~= 'c' then
  return { 'drawn' }
end
local offset = tonumber(ARGV[2])
local members = redis.call('ZRANGE', K.q, offset, offset + tonumber(ARGV[3]) - 1)
local flat = {}
for _, identity in ipairs(members) do
  local t = get_ticket(identity)
  if not t then
    return error({ err = 'WRCORRUPT no ticket record for a queued identity' })
  end
  flat[#flat + 1] = identity
  flat[#flat + 1] = t.tid
end
return { 'entrants', c.seed, redis.call('ZCARD', K.q), flat }
