-- window_page: one page of an arrival window's entrants in window order (mirrors
-- WindowRanges::page, src/store/memory/windows.rs). Runs alone, without lib.lua.
-- KEYS[1] the window's entrants, `wr:{<event>}:wz:<window>` (ticket ids, 16 bytes, by slot)
-- ARGV[1] the cursor: the last ticket id (16 bytes) of the previous page, or ''
-- ARGV[2] the most entrants to answer
-- Reply: { 'unknown_cursor' } | { 'page', entrants in the window, rank of the page's first,
--        { ticket id (16 bytes), ... } }

local from = 0
if ARGV[1] ~= '' then
  local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
  if not rank then
    return { 'unknown_cursor' }
  end
  from = rank + 1
end
local entrants = redis.call('ZRANGE', KEYS[1], from, from + tonumber(ARGV[2]) - 1)
return { 'page', redis.call('ZCARD', KEYS[1]), from, entrants }
