-- ticket: an identity's ticket with its exact position; optionally marks the shopper as seen.
-- KEYS[1] event prefix `wr:{<event>}:`
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2] identity
-- ARGV[3] '1' to mark a waiting shopper as seen, '0' not to
-- Reply: a ticket as in lib.lua's ticket_reply, or nil when there is no such event or ticket, or
-- 'draw_pending' (nothing changed: the store finishes the draw and calls again).

local now = now_ms(ARGV[1])
local c = load_cfg()
if not c then
  return false
end
local state = draw_state(c, now)
if state == 'pending' then
  return 'draw_pending'
end
local drawn = state == 'drawn'
settle(now)
local t = get_ticket(ARGV[2])
if not t then
  return false
end
if ARGV[3] == '1' and t.tag == 'w' then
  t.seen = presence_now(now)
  put_ticket(t)
end
return ticket_reply(t, now, drawn)
