-- draw_tickets: the ticket ids of pre-queue entrants, for the store to draw them.
-- KEYS cfg, then the ticket buckets of the identities
-- ARGV[1] now in ms, or '' for the Redis server's time (unused)
-- ARGV[2..] identities (the store sends DRAW_BATCH, 250, or fewer)
-- Reply: { 'no_event' } | { 'tickets', { ticket id (16 raw bytes), or '' for an identity with
--        no waiting ticket, ... } } in the order of the identities

if redis.call('EXISTS', K.cfg) == 0 then
  return { 'no_event' }
end
local tickets = {}
for i = 2, #ARGV do
  local t = get_ticket(ARGV[i])
  if t and t.tag == 'w' then
    tickets[#tickets + 1] = t.tid
  else
    tickets[#tickets + 1] = ''
  end
end
return { 'tickets', tickets }
