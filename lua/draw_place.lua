-- draw_place: gives places first .. first + n - 1 of a pending draw, in order, and publishes
-- them. Batches must come in order; one that is not the next (another instance gave those
-- places already, with the same result) changes nothing. The last batch ends the draw.
-- KEYS cfg, st, q, dord
-- ARGV[1] now in ms, or '' for the Redis server's time (unused)
-- ARGV[2] the number of entrants, ARGV[3] first place, ARGV[4] seed, ARGV[5] commitment,
-- ARGV[6..] identity, ticket id (hyphenated lowercase text), ... in draw order
-- Reply: { 'placed', places given so far } | { 'skipped' } | { 'drawn' } | { 'no_event' }

if redis.call('EXISTS', K.cfg) == 0 then
  return { 'no_event' }
end
local st = redis.call('HMGET', K.st, 'drawn', 'dplaced')
if st[1] ~= 'c' then
  return { 'drawn' }
end
local total, first = tonumber(ARGV[2]), tonumber(ARGV[3])
local placed = tonumber(st[2] or '0')
if first ~= placed + 1 then
  return { 'skipped' }
end
if first == 1 then
  redis.call('HSET', K.st, 'cmt', ARGV[5], 'dseed', ARGV[4])
end
local queue, published = {}, {}
for i = 6, #ARGV, 2 do
  local place = placed + 1
  queue[#queue + 1] = place
  queue[#queue + 1] = ARGV[i]
  published[#published + 1] = place
  published[#published + 1] = ARGV[i + 1]
  placed = place
end
if #queue > 0 then
  -- XX: only members still there (the queue is frozen while pending, so all of them).
  redis.call('ZADD', K.q, 'XX', unpack(queue))
  redis.call('ZADD', K.dord, unpack(published))
end
if placed >= total then
  redis.call('HSET', K.st, 'drawn', '1', 'last', int(total), 'dplaced', int(placed))
else
  redis.call('HSET', K.st, 'dplaced', int(placed))
end
return { 'placed', placed }
