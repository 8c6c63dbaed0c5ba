-- leave: leaves the queue, or gives up an admission.
-- KEYS the event's fixed keys (settling's and q), then the identity's ticket bucket
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2] identity
-- ARGV[3] the ticket id (16 raw bytes): it must be the identity's current ticket
-- Reply: the ticket as it now stands (lib.lua's ticket_reply), or nil when there is no such
-- event or ticket. A ticket already left or expired is returned unchanged. 'draw_pending':
-- nothing changed (the entrant set stays as the draw closed it); the store finishes the draw
-- and calls again.

local now = now_ms(ARGV[1])
local c = load_cfg()
if not c then
  return false
end
if draw_state(c, now) == 'pending' then
  return 'draw_pending'
end
settle(now)
local identity = ARGV[2]
local t = get_ticket(identity)
if not t or t.tid ~= ARGV[3] then
  return false
end
local status = ticket_status(t, now)
if status == 'w' then
  redis.call('ZREM', K.q, identity)
elseif status == 'a' then
  redis.call('ZREM', K.adm, identity)
end
if status == 'w' or status == 'a' then
  t.tag = 'l'
  put_ticket(t)
  redis.call('HINCRBY', K.st, 'left', 1)
end
return ticket_reply(t, now, false)
