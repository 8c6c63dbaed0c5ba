-- draw: closes the pre-queue if the start has come and it has not been drawn.
-- KEYS cf, st
-- ARGV[1] now in ms, or '' for the Redis server's time
-- Reply: 'draw_pending' (the store gives the places: draw_entrants.lua, draw_place.lua) |
--        { 'already_drawn' } | { 'too_early' } | { 'no_event' }

local now = now_ms(ARGV[1])
local c = load_cfg()
if not c then
  return { 'no_event' }
end
local state = draw_state(c, now)
if state == 'open' then
  return { 'too_early' }
end
if state == 'drawn' then
  return { 'already_drawn' }
end
return 'draw_pending'
