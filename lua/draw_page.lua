-- draw_page: the draw's published state and one page of its entrants in draw order.
-- KEYS cf, st, dord
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2] the cursor: the last ticket id (hyphenated lowercase text) of the previous page, or ''
-- ARGV[3] the most entrants to answer
-- Reply: { 'no_event' } | { 'unknown_cursor' } | 'draw_pending' (the store finishes the draw
--        and calls again) | { 'page', commitment or false, seed or false, drawn (0/1), total,
--        place of the cursor (0 without one), { ticket id, ... } }

local now = now_ms(ARGV[1])
local c = load_cfg()
if not c then
  return { 'no_event' }
end
local state = draw_state(c, now)
if state == 'pending' then
  return 'draw_pending'
end
if state == 'open' then
  return { 'page', false, false, 0, 0, 0, {} }
end
local st = redis.call('HMGET', K.st, 'cmt', 'dseed')
local from = 0
if ARGV[2] ~= '' then
  local place = redis.call('ZSCORE', K.dord, ARGV[2])
  if not place then
    return { 'unknown_cursor' }
  end
  from = tonumber(place)
end
local entrants = redis.call('ZRANGEBYSCORE', K.dord, '(' .. from, '+inf', 'LIMIT', 0,
  tonumber(ARGV[3]))
return { 'page', st[1], st[2], 1, redis.call('ZCARD', K.dord), from, entrants }
