-- ticket: identities' tickets with their exact positions; optionally marks shoppers as seen.
-- One call carries the reads an instance collected while its previous call was on the wire
-- (group commit): each read gets exactly what a call of its own would get, in the order given,
-- at the same `now`.
-- KEYS the event's fixed keys (settling's and q), then the ticket bucket of each identity, in the
--   order of the identities
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2k], ARGV[2k+1] (k >= 1) an identity, and '1' to mark it as seen while waiting, '0' not to
-- Reply: one reply per read, in order: a ticket as in lib.lua's ticket_reply, or nil when there
-- is no such event or ticket; or 'draw_pending' for the whole call (nothing changed: the store
-- finishes the draw and calls again).

local now = now_ms(ARGV[1])
local c = load_cfg()
local replies = {}
if not c then
  for i = 2, #ARGV, 2 do
    replies[#replies + 1] = false
  end
  return replies
end
local state = draw_state(c, now)
if state == 'pending' then
  return 'draw_pending'
end
local drawn = state == 'drawn'
settle(now)

local function ticket_one(identity, touch, bucket)
  local t = get_ticket(identity, bucket)
  if not t then
    return false
  end
  if touch == '1' and t.tag == 'w' then
    t.seen = presence_once(now)
    put_ticket(t)
  end
  return ticket_reply(t, now, drawn)
end

for i = 2, #ARGV, 2 do
  replies[#replies + 1] = ticket_one(ARGV[i], ARGV[i + 1], bucket_at(i / 2))
end
return replies
