-- draw: draws the pre-queue if the start has come and it has not been drawn.
-- KEYS[1] event prefix `wr:{<event>}:`
-- ARGV[1] now in ms, or '' for the Redis server's time
-- Reply: { 'drawn', entrants } | { 'already_drawn' } | { 'too_early' } | { 'no_event' }

local now = now_ms(ARGV[1])
local c = load_cfg()
if not c then
  return { 'no_event' }
end
local drawn, entrants = draw_if_due(c, now)
if not drawn then
  return { 'too_early' }
end
if entrants == nil then
  return { 'already_drawn' }
end
return { 'drawn', entrants }
